"""The files server (CNFP/1): round trips, names, links, cut uploads, garbage."""

import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import types

import pytest

from classicnet import fileclient, framing, hashing
from classicnet.errors import UsageError
from classicnet.handlers import files
from classicnet.launcher import build_server
from classicnet.testing import running_server

from conftest import MODELS, TIMEOUT


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "root"
    path.mkdir()
    return path


def connect(address):
    return socket.create_connection(address, timeout=TIMEOUT)


def ask(sock, header, body=b""):
    """Send one request and return the server's answer header."""
    sock.sendall(framing.encode_message(header, body))
    return framing.MessageReader(sock).read_header()


def answer_or_close(sock):
    """The server's next answer, or None if it closed the connection instead."""
    try:
        return framing.MessageReader(sock).read_header()
    except (framing.ConnectionClosed, ConnectionResetError):
        return None


def tree(path):
    """Every file and directory under *path*, relative to it."""
    found = set()
    for folder, dirs, names in os.walk(path):
        for name in dirs + names:
            found.add(os.path.relpath(os.path.join(folder, name), path))
    return found


def sha256(data):
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("size", [0, 1, 3 * 1024 * 1024 + 7])
def test_round_trip(root, tmp_path, model, size):
    data = os.urandom(size)
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    with running_server("files", model=model, root=str(root)) as address:
        answer = fileclient.put(address, source, "copy.bin")
        assert answer == {"ok": True, "name": "copy.bin", "size": size,
                          "sha256": sha256(data)}
        assert (root / "copy.bin").read_bytes() == data
        result = fileclient.get(address, "copy.bin", tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == data
    assert result["sha256"] == sha256(data)
    assert sorted(os.listdir(tmp_path)) == ["back.bin", "root", "source.bin"]


def test_list_shows_regular_files_only(root, tmp_path):
    (root / "b.txt").write_bytes(b"12345")
    (root / "a.txt").write_bytes(b"")
    (root / "folder").mkdir()
    (root / "link").symlink_to(root / "a.txt")
    (root / ".cnfp-upload-1-ab.part").write_bytes(b"in progress")
    os.mkfifo(root / "fifo")
    with running_server("files", root=str(root)) as address:
        with connect(address) as sock:
            assert ask(sock, {"op": "list"}) == {"ok": True, "files": [
                {"name": "a.txt", "size": 0}, {"name": "b.txt", "size": 5}]}
            assert ask(sock, {"op": "quit"}) == {"ok": True}
            assert answer_or_close(sock) is None


def test_a_long_listing_is_cut_to_fit_one_header():
    entries = [{"name": f"{n:0>200}", "size": n} for n in range(400)]
    answer = files.fit_listing(entries)
    assert 0 < len(answer["files"]) < 400
    assert answer["more"] == 400 - len(answer["files"])
    assert len(framing.encode_header(answer)) <= framing.MAX_HEADER_SIZE


@pytest.mark.parametrize("name", ["../x", "/abs", "a/b", "..", ".", "", "x\0y", "a" * 300,
                                  "a\\b", "..\\x", ".cnfp-upload-1-ab.part"])
def test_hostile_names_are_refused_and_nothing_is_created(root, tmp_path, name):
    if name == "/abs":
        name = str(tmp_path / "abs")
    before = tree(tmp_path)
    with running_server("files", root=str(root)) as address:
        with connect(address) as sock:
            put = ask(sock, {"op": "put", "name": name, "size": 3}, b"abc")
            assert put["ok"] is False and put["error"]
            get = ask(sock, {"op": "get", "name": name})
            assert get["ok"] is False
            # the same connection goes on serving
            assert ask(sock, {"op": "list"}) == {"ok": True, "files": []}
    assert tree(tmp_path) == before


def test_symbolic_links_are_neither_read_nor_written_through(root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_bytes(b"secret")
    (root / "link").symlink_to(secret)
    (root / "dirlink").symlink_to(outside)
    with running_server("files", root=str(root)) as address:
        with connect(address) as sock:
            answer = ask(sock, {"op": "get", "name": "link"})
            assert answer["ok"] is False and "symbolic link" in answer["error"]
            for overwrite in (False, True):
                answer = ask(sock, {"op": "put", "name": "link", "size": 4,
                                    "overwrite": overwrite}, b"evil")
                assert answer["ok"] is False
            assert ask(sock, {"op": "get", "name": "dirlink"})["ok"] is False
    assert secret.read_bytes() == b"secret"
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    assert os.path.islink(root / "link")


def test_a_directory_or_fifo_is_not_sent(root):
    (root / "folder").mkdir()
    os.mkfifo(root / "fifo")
    with running_server("files", root=str(root)) as address:
        with connect(address) as sock:
            for name in ("folder", "fifo"):
                answer = ask(sock, {"op": "get", "name": name})
                assert answer == {"ok": False,
                                  "error": f"{name!r} is not a regular file"}
            answer = ask(sock, {"op": "put", "name": "folder", "size": 1,
                                "overwrite": True}, b"x")
            assert "not a regular file" in answer["error"]
    assert (root / "folder").is_dir()


def test_a_checksum_mismatch_keeps_nothing(root):
    with running_server("files", root=str(root)) as address:
        with connect(address) as sock:
            answer = ask(sock, {"op": "put", "name": "x", "size": 5,
                                "sha256": sha256(b"other")}, b"hello")
            assert answer["ok"] is False and "sha256 mismatch" in answer["error"]
            answer = ask(sock, {"op": "put", "name": "x", "size": 5,
                                "sha256": sha256(b"hello").upper()}, b"hello")
            assert answer["ok"] is True
            answer = ask(sock, {"op": "put", "name": "y", "size": 1, "sha256": "abc"}, b"y")
            assert "64 hexadecimal digits" in answer["error"]
    assert os.listdir(root) == ["x"]


def test_an_existing_file_is_replaced_only_on_overwrite(root):
    (root / "x").write_bytes(b"old")
    with running_server("files", root=str(root)) as address:
        with connect(address) as sock:
            answer = ask(sock, {"op": "put", "name": "x", "size": 3}, b"new")
            assert answer["ok"] is False and "already exists" in answer["error"]
            assert (root / "x").read_bytes() == b"old"
            answer = ask(sock, {"op": "put", "name": "x", "size": 3,
                                "overwrite": True}, b"new")
            assert answer["ok"] is True
            assert ask(sock, {"op": "get", "name": "x"})["sha256"] == sha256(b"new")
    assert (root / "x").read_bytes() == b"new"


def cut_with_reset(sock):
    """Close *sock* with a TCP reset (RST) instead of a normal FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@pytest.mark.parametrize("cut", [cut_with_reset, socket.socket.close])
def test_a_cut_upload_leaves_nothing(root, cut):
    # The plain model serves one client at a time, so the next client is
    # answered only after the cut one has been cleaned up.
    with running_server("files", model="plain", root=str(root)) as address:
        sock = connect(address)
        sock.sendall(framing.encode_message(
            {"op": "put", "name": "big", "size": 1_000_000}, b"x" * 500_000))
        cut(sock)
        assert fileclient.list_files(address) == []
    assert os.listdir(root) == []


GARBAGE = [
    b"\xff\xff\xff\xff" + b"x" * 100,                      # a 4 GiB header length
    b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    framing.PREFIX.pack(8) + b"not json",
    framing.PREFIX.pack(4) + b"\xff\xfe\xfd\xfc",
    framing.PREFIX.pack(5) + b"[1,2]",
    framing.PREFIX.pack(0),
    framing.encode_message({"op": "put", "name": "x", "size": True}),
    framing.encode_message({"op": "put", "name": "x", "size": -5}),
    framing.encode_message({"op": "put", "name": "x", "size": "5"}),
    framing.encode_message({"op": "put", "name": 5, "size": 1}, b"x"),
    framing.encode_message({"op": "put", "name": "x", "size": 1, "overwrite": "yes"}, b"x"),
    framing.encode_message({"op": "get", "name": "x", "offset": True}),
    framing.encode_message({"op": "get", "name": "x", "offset": -1}),
    framing.encode_message({"op": "dance"}),
    framing.encode_message({"op": 7}),
    framing.encode_message({"hello": "world"}),
]


@pytest.mark.parametrize("garbage", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_gets_an_error_or_a_close_and_the_next_client_is_served(root, garbage):
    (root / "x").write_bytes(b"x")
    with running_server("files", root=str(root)) as address:
        with connect(address) as sock:
            sock.sendall(garbage)
            answer = answer_or_close(sock)
            assert answer is None or (answer["ok"] is False and answer["error"])
        assert fileclient.list_files(address) == [{"name": "x", "size": 1}]
    assert os.listdir(root) == ["x"]


def test_after_a_bad_header_the_connection_goes_on(root):
    with running_server("files", root=str(root)) as address:
        with connect(address) as sock:
            sock.sendall(framing.PREFIX.pack(3) + b"{{{")
            assert "not valid JSON" in answer_or_close(sock)["error"]
            answer = ask(sock, {"op": "dance", "size": 4}, b"body")
            assert answer["error"] == ("unknown op 'dance'; choose from: "
                                       "list, get, put, quit")
            assert ask(sock, {"op": "list"})["ok"] is True


def test_an_upload_over_the_limit_is_refused_and_closed(root):
    with running_server("files", root=str(root), max_size=10) as address:
        with connect(address) as sock:
            sock.sendall(framing.encode_message({"op": "put", "name": "x", "size": 11}))
            answer = answer_or_close(sock)
            assert "over this server's limit of 10 bytes" in answer["error"]
            assert answer_or_close(sock) is None
        with connect(address) as sock:
            assert ask(sock, {"op": "put", "name": "x", "size": 10}, b"0123456789")["ok"]


def test_a_refused_upload_body_is_skipped(root):
    (root / "x").write_bytes(b"old")
    with running_server("files", root=str(root)) as address:
        with connect(address) as sock:
            body = framing.encode_message({"op": "list"})   # must not be obeyed
            answer = ask(sock, {"op": "put", "name": "x", "size": len(body)}, body)
            assert "already exists" in answer["error"]
            assert ask(sock, {"op": "get", "name": "x"})["size"] == 3


def test_get_with_an_offset_sends_the_rest(root):
    (root / "x").write_bytes(b"0123456789")
    with running_server("files", root=str(root)) as address:
        with connect(address) as sock:
            reader = framing.MessageReader(sock)
            framing.send_message(sock, {"op": "get", "name": "x", "offset": 4})
            answer = reader.read_header()
            assert answer == {"ok": True, "name": "x", "size": 6, "offset": 4,
                              "sha256": sha256(b"0123456789")}
            reader.start_body(6)
            assert b"".join(bytes(c) for c in reader.body_chunks()) == b"456789"
            answer = ask(sock, {"op": "get", "name": "x", "offset": 11})
            assert answer["error"] == "offset 11 is past the end of 'x' (10 bytes)"
            assert ask(sock, {"op": "get", "name": "nothing"})["error"] == (
                "no file named 'nothing' here")


def test_two_uploads_at_once_under_threading(root):
    first, second = os.urandom(200_000), os.urandom(300_000)
    with running_server("files", model="threading", root=str(root)) as address:
        with connect(address) as slow:
            slow.sendall(framing.encode_message(
                {"op": "put", "name": "first", "size": len(first)}, first[:100_000]))
            with connect(address) as fast:
                assert ask(fast, {"op": "put", "name": "second", "size": len(second)},
                           second)["ok"]
            slow.sendall(first[100_000:])
            assert framing.MessageReader(slow).read_header()["sha256"] == sha256(first)
    assert (root / "first").read_bytes() == first
    assert (root / "second").read_bytes() == second


def test_the_course_notes_upload_runs_unchanged(root):
    """Seed 002, "进阶解决方法": struct.pack('i', ...), a {filename, filesize} header."""
    data = os.urandom(501024)
    with running_server("files", model="plain", root=str(root)) as (host, port):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.connect((host, port))
        # --- the course notes' code, but for the port ---
        dic = {'filename': 'vc.mp4', 'filesize': 501024}
        dic = json.dumps(dic).encode('utf-8')
        bao = struct.pack('i', len(dic))
        sock.send(bao)
        sock.send(dic)
        sock.sendall(data)
        sock.close()
        # --- end of the course notes' code ---
        assert fileclient.list_files((host, port)) == [{"name": "vc.mp4", "size": 501024}]
    assert (root / "vc.mp4").read_bytes() == data


def test_the_course_upload_is_answered_like_put(root):
    with running_server("files", root=str(root)) as address:
        with connect(address) as sock:
            header = json.dumps({"filename": "a.txt", "filesize": 2}).encode()
            sock.sendall(struct.pack("i", len(header)) + header + b"hi")
            assert framing.MessageReader(sock).read_header() == {
                "ok": True, "name": "a.txt", "size": 2, "sha256": sha256(b"hi")}


def test_temporary_files_of_a_stopped_server_are_cleared_at_start(root):
    finished = subprocess.run([sys.executable, "-c", "pass"], check=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = os.getppid()
    (root / f".cnfp-upload-{dead.pid}-aa.part").write_bytes(b"left over")
    (root / f".cnfp-upload-{alive}-bb.part").write_bytes(b"still being written")
    (root / ".cnfp-upload-x-cc.part").write_bytes(b"not ours to judge")
    (root / "keep.part").write_bytes(b"a user's file")
    assert finished.returncode == 0
    server = build_server("files", port=0, root=str(root))
    server.server_close()
    assert sorted(os.listdir(root)) == [f".cnfp-upload-{alive}-bb.part", "keep.part"]


@pytest.mark.parametrize("settings, message", [
    ({"root": "/no/such/dir"}, "does not exist"),
    ({"root": __file__}, "is not a directory"),
    ({"max_size": -1}, "--max-size must be a number of bytes"),
])
def test_bad_settings_are_usage_errors(settings, message):
    with pytest.raises(UsageError, match=message):
        build_server("files", port=0, **settings)


def test_the_root_is_made_absolute(root, monkeypatch):
    monkeypatch.chdir(root)
    server = build_server("files", port=0)
    server.server_close()
    assert server.options.root == str(root.resolve())


@pytest.mark.parametrize("text, count", [("1024", 1024), ("2k", 2048), ("10M", 10 << 20),
                                         ("1G", 1 << 30)])
def test_byte_counts(text, count):
    assert files.byte_count(text) == count


def test_a_bad_byte_count_is_refused():
    with pytest.raises(ValueError, match="512K"):
        files.byte_count("lots")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs resource limits of POSIX")
def test_a_full_disk_keeps_nothing_and_the_connection_goes_on(cli, root):
    """RLIMIT_FSIZE makes write() fail with EFBIG, as a full disk fails with ENOSPC."""
    # The limit is lifted again before the process exits, so that coverage
    # can still write its data file.
    limit = ("import resource, signal, runpy, sys\n"
             "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
             "unlimited = resource.getrlimit(resource.RLIMIT_FSIZE)\n"
             "resource.setrlimit(resource.RLIMIT_FSIZE, (100000, unlimited[1]))\n"
             "sys.argv = ['classicnet'] + sys.argv[1:]\n"
             "try:\n"
             "    runpy.run_module('classicnet', run_name='__main__')\n"
             "finally:\n"
             "    resource.setrlimit(resource.RLIMIT_FSIZE, unlimited)\n")
    server = cli("files", "--root", str(root), command=[sys.executable, "-c", limit])
    with connect(server.address) as sock:
        answer = ask(sock, {"op": "put", "name": "big", "size": 300_000},
                     b"x" * 300_000)
        assert answer["ok"] is False and "nothing was kept" in answer["error"]
        assert ask(sock, {"op": "list"}) == {"ok": True, "files": []}
    server.stop()
    assert os.listdir(root) == []


def test_the_command_line_prints_the_absolute_root(cli, root):
    server = cli("files", "--root", ".", "--max-size", "10M", cwd=root)
    lines = [server.ready_line, server.readline(), server.readline()]
    # Once it has answered, the server is serving and handles SIGTERM.
    assert fileclient.list_files(server.address) == []
    assert server.stop() == 0
    assert lines[0].startswith("classicnet: serving files (plain, tcp) on 127.0.0.1:")
    assert lines[1:] == [f"  root: {root.resolve()}\n", f"  max-size: {10 << 20}\n"]


def test_names_that_are_not_utf8_are_not_listed(root):
    with open(os.path.join(os.fsencode(root), b"\xff.txt"), "wb") as file:
        file.write(b"x")
    (root / "ok.txt").write_bytes(b"ok")
    with running_server("files", root=str(root)) as address:
        assert fileclient.list_files(address) == [{"name": "ok.txt", "size": 2}]


def test_the_digest_cache_forgets_the_oldest(root):
    (root / "a").write_bytes(b"a")
    (root / "b").write_bytes(b"b")
    cache = hashing.DigestCache(limit=1)
    first, second = os.stat(root / "a"), os.stat(root / "b")
    cache.remember(first, "1")
    cache.remember(second, "2")
    assert (cache.get(first), cache.get(second)) == (None, "2")


def test_the_background_hash_hands_out_a_buffer_that_is_not_being_hashed():
    chunks = [b"abcd", b"efgh", b"ij"]
    with hashing.BackgroundSha256(chunk_size=4) as digest:
        used = []
        for chunk in chunks:
            buffer = digest.free_buffer()
            assert not any(buffer.obj is other.obj for other in used[-1:])
            buffer[:len(chunk)] = chunk
            digest.update(buffer[:len(chunk)])
            used.append(buffer)
        assert digest.hexdigest() == sha256(b"".join(chunks))


class BrokenDigest:
    """A sha256 whose second update fails, as a bug in the hashing thread would."""

    def __init__(self):
        self.updates = 0

    def update(self, data):
        self.updates += 1
        if self.updates == 2:
            raise ValueError("broken on purpose")

    def hexdigest(self):
        return "0" * 64


def test_a_failure_in_the_hashing_thread_keeps_nothing_and_the_connection_goes_on(
        root, monkeypatch):
    monkeypatch.setattr(hashing, "hashlib", types.SimpleNamespace(sha256=BrokenDigest))
    body = os.urandom(3 * framing.CHUNK_SIZE + 1)
    with running_server("files", root=str(root)) as address:
        with connect(address) as sock:
            answer = ask(sock, {"op": "put", "name": "x", "size": len(body)}, body)
            assert answer["ok"] is False
            assert "hashing failed (broken on purpose)" in answer["error"]
            assert ask(sock, {"op": "list"}) == {"ok": True, "files": []}
    assert os.listdir(root) == []
