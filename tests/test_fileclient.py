"""The file client: its functions, its command line, resuming, the progress bar."""

import hashlib
import io
import os
import re
import select
import socket
import socketserver
import types

import pytest

from classicnet import cli, fileclient, framing, hashing, progress
from classicnet.testing import running_server

from conftest import TIMEOUT

DATA = os.urandom(300_000)


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "root"
    path.mkdir()
    (path / "data.bin").write_bytes(DATA)
    return path


@pytest.fixture
def server(root):
    with running_server("files", root=str(root)) as address:
        yield address


def client(address, *words):
    host, port = address
    return cli.main(["client", "files", "--host", host, "--port", str(port), *words])


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class HalfDownload(socketserver.BaseRequestHandler):
    """Answers any get for DATA, sends a part of it, then hangs up."""

    part = 100_000

    def handle(self):
        framing.MessageReader(self.request).read_header()
        framing.send_message(self.request, {"ok": True, "name": "data.bin",
                                            "size": len(DATA), "sha256": sha256(DATA)})
        self.request.sendall(DATA[:self.part])


class WrongDigest(socketserver.BaseRequestHandler):
    """Answers any get with the right bytes and a wrong sha256."""

    def handle(self):
        framing.MessageReader(self.request).read_header()
        framing.send_message(self.request, {"ok": True, "name": "data.bin",
                                            "size": 3, "sha256": sha256(b"xyz")}, b"abc")


# --- the functions --------------------------------------------------------

def test_one_connection_for_many_requests(server, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"hello")
    with fileclient.FileClient(server) as files:
        assert files.put(tmp_path / "a.txt")["sha256"] == sha256(b"hello")
        assert [f["name"] for f in files.list()] == ["a.txt", "data.bin"]
        files.get("data.bin", tmp_path)
        with pytest.raises(fileclient.ServerRefused, match="already exists"):
            files.put(tmp_path / "a.txt")
        assert files.put(tmp_path / "a.txt", overwrite=True)["ok"] is True
    assert (tmp_path / "data.bin").read_bytes() == DATA


def test_an_interrupted_download_keeps_a_part_and_resumes(root, tmp_path):
    target = tmp_path / "copy.bin"
    with running_server(HalfDownload) as half:
        with pytest.raises(framing.IncompleteMessage):
            fileclient.get(half, "data.bin", target)
    assert not target.exists()
    assert (tmp_path / "copy.bin.part").read_bytes() == DATA[:HalfDownload.part]
    with running_server("files", root=str(root)) as address:
        seen = []
        answer = fileclient.get(address, "data.bin", target, resume=True,
                                progress=lambda done, total: seen.append((done, total)))
    assert target.read_bytes() == DATA
    assert not (tmp_path / "copy.bin.part").exists()
    assert answer["size"] == len(DATA) and answer["offset"] == HalfDownload.part
    assert seen[-1] == (len(DATA), len(DATA))


def test_a_resumed_download_is_checked_as_a_whole(server, tmp_path):
    target = tmp_path / "copy.bin"
    (tmp_path / "copy.bin.part").write_bytes(b"X" * 1000)    # not what the server has
    with pytest.raises(fileclient.ChecksumMismatch, match="did the file change"):
        fileclient.get(server, "data.bin", target, resume=True)
    assert os.listdir(tmp_path) == ["root"]


def test_resume_from_an_offset(server, tmp_path, monkeypatch):
    (tmp_path / "data.bin.part").write_bytes(DATA[:5000] + b"garbage")
    monkeypatch.chdir(tmp_path)
    fileclient.get(server, "data.bin", offset=5000)
    assert (tmp_path / "data.bin").read_bytes() == DATA
    with pytest.raises(fileclient.FileTransferError, match="holds 0 bytes"):
        fileclient.get(server, "data.bin", offset=10)


def test_a_wrong_digest_discards_the_download(tmp_path):
    with running_server(WrongDigest) as address:
        with pytest.raises(fileclient.ChecksumMismatch, match="was discarded"):
            fileclient.get(address, "data.bin", tmp_path / "x")
    assert os.listdir(tmp_path) == []


def test_an_upload_over_the_limit_is_refused(root, tmp_path):
    big = tmp_path / "big"
    big.write_bytes(os.urandom(16_000_000))
    with running_server("files", root=str(root), max_size=1000) as address:
        with pytest.raises((fileclient.ServerRefused, ConnectionError)):
            fileclient.put(address, big)
    assert os.listdir(root) == ["data.bin"]


# --- the command line -----------------------------------------------------

def test_command_line_ls_put_get(server, root, tmp_path, capsys):
    source = tmp_path / "notes.md"
    source.write_bytes(b"# notes\n")
    assert client(server, "put", str(source)) == 0
    assert client(server, "put", str(source), "--as", "other.md") == 0
    assert client(server, "ls") == 0
    assert capsys.readouterr() == (
        "      300000  data.bin\n           8  notes.md\n           8  other.md\n", "")
    out = tmp_path / "out"
    out.mkdir()
    assert client(server, "get", "data.bin", "-o", str(out)) == 0
    assert (out / "data.bin").read_bytes() == DATA
    assert capsys.readouterr() == ("", "")


def test_command_line_errors_are_one_line(server, root, tmp_path, capsys):
    source = tmp_path / "data.bin"
    source.write_bytes(b"new")
    cases = [
        (("put", str(source)), "already exists"),
        (("get", "missing"), "no file named 'missing' here"),
        (("get", "../x"), "contains a slash"),
        (("put", str(tmp_path / "nothing")), "nothing: No such file or directory"),
        (("get", "data.bin", "-o", str(tmp_path / "out"), "--offset", "9"),
         "holds 0 bytes"),
    ]
    for words, message in cases:
        assert client(server, *words) == 1
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and message in err, err
    assert (root / "data.bin").read_bytes() == DATA
    assert client(server, "put", str(source), "--force") == 0
    assert (root / "data.bin").read_bytes() == b"new"


def test_a_cut_download_says_how_to_resume(tmp_path, capsys):
    with running_server(HalfDownload) as half:
        assert client(half, "get", "data.bin", "-o", str(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "100000 bytes kept in" in err and "--resume" in err


def test_no_server_is_one_line(capsys):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        address = unused.getsockname()
    assert client(address, "ls") == 1
    assert "Connection refused" in capsys.readouterr().err


def test_client_with_an_unknown_word_names_the_handlers(capsys):
    # "client WORD" is the interactive client for handler WORD, unless WORD is files.
    assert cli.main(["client", "ftp"]) == 2
    assert "unknown handler 'ftp'; choose from: " in capsys.readouterr().err


def test_a_missing_word_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["client", "files"])
    assert exit.value.code == 2


@pytest.mark.parametrize("host, message", [
    ("a..b", "--host 'a..b' is not a valid host name"),
    ("no-such-host.invalid", "cannot resolve host 'no-such-host.invalid'"),
])
def test_a_bad_host_is_one_line_and_status_2(host, message, capsys):
    assert client((host, 9), "ls") == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error


# --- the progress bar -----------------------------------------------------

def test_no_progress_bar_when_not_a_terminal():
    assert fileclient.ProgressBar.on(io.StringIO(), "x") is None


def test_the_progress_bar_draws_on_a_terminal():
    controller, terminal = os.openpty()
    with open(terminal, "w") as stream:
        bar = fileclient.ProgressBar.on(stream, "data.bin")
        bar(0, 2 * 1024 * 1024)
        bar(1024, 2 * 1024 * 1024)          # too soon: not drawn again
        bar(2 * 1024 * 1024, 2 * 1024 * 1024)
        bar.close()
        shown = b""
        while select.select([controller], [], [], TIMEOUT)[0]:
            shown += os.read(controller, 4096)
            if shown.endswith(b"\r\n"):
                break
    os.close(controller)
    lines = shown.decode().split("\r")
    assert lines[1].startswith("data.bin [........................]   0% 0 B/2.0 MiB")
    assert "100% 2.0 MiB/2.0 MiB" in lines[2] and "0:00 left" in lines[2]
    assert len(lines) == 4


@pytest.mark.parametrize("count, shown", [
    (0, "0 B"), (1536, "1.5 KiB"), (5 * 2**20, "5.0 MiB"), (3 * 2**40, "3072.0 GiB")])
def test_human_bytes(count, shown):
    assert progress.human_bytes(count) == shown


# --- servers that break the protocol --------------------------------------

class Mute(socketserver.BaseRequestHandler):
    """Reads one request and hangs up without an answer."""

    def handle(self):
        framing.MessageReader(self.request).read_header()


class Liar(socketserver.BaseRequestHandler):
    """Answers every request with a header that does not fit it."""

    def handle(self):
        reader = framing.MessageReader(self.request)
        while True:
            try:
                header = reader.read_header()
            except framing.ConnectionClosed:
                return
            if header["op"] == "list":
                answer = {"ok": True, "files": ["not an object"]}
            elif header["op"] == "get":
                answer = {"ok": True, "name": "other", "size": 0, "sha256": sha256(b"")}
            else:
                answer = {"ok": False}
            framing.send_message(self.request, answer)


def test_a_server_that_hangs_up_without_answering(tmp_path):
    with running_server(Mute) as address:
        with pytest.raises(framing.IncompleteMessage, match="without answering"):
            fileclient.list_files(address)


def test_answers_that_do_not_fit_the_request_are_refused(tmp_path):
    with running_server(Liar) as address:
        with fileclient.FileClient(address) as files:
            with pytest.raises(framing.BadHeader, match="must be an object"):
                files.list()
            with pytest.raises(framing.BadHeader, match="another name"):
                files.get("data.bin", tmp_path)
            with pytest.raises(fileclient.ServerRefused, match="no reason given"):
                files.request({"op": "quit"})
    assert os.listdir(tmp_path) == []


# --- never clobber without --force (issue 14, point 7) ----------------------

def test_get_never_replaces_a_local_file_without_force(server, tmp_path, capsys):
    local = tmp_path / "data.bin"
    local.write_bytes(b"mine")
    assert client(server, "get", "data.bin", "-o", str(tmp_path)) == 1
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "already exists; add --force to replace it" in err
    assert local.read_bytes() == b"mine"
    assert not (tmp_path / "data.bin.part").exists()
    assert client(server, "get", "data.bin", "-o", str(tmp_path), "--force") == 0
    assert local.read_bytes() == DATA


def test_put_never_replaces_a_file_on_the_server_without_force(server, root, tmp_path,
                                                               capsys):
    source = tmp_path / "data.bin"
    source.write_bytes(b"new")
    assert client(server, "put", str(source)) == 1
    err = capsys.readouterr().err
    assert "'data.bin' already exists on the server; add --force to replace it" in err
    assert "overwrite" not in err
    assert (root / "data.bin").read_bytes() == DATA


def test_a_target_that_appears_during_the_download_is_not_replaced(server, tmp_path):
    target = tmp_path / "copy"

    def someone_else_writes(done, total):
        if not target.exists():
            target.write_bytes(b"theirs")

    with pytest.raises(fileclient.TargetExists, match="appeared during the download"):
        fileclient.get(server, "data.bin", target, progress=someone_else_writes,
                       overwrite=False)
    assert target.read_bytes() == b"theirs"
    assert (tmp_path / "copy.part").read_bytes() == DATA


@pytest.mark.parametrize("exists", [False, True])
def test_without_hard_links_a_download_still_never_replaces(server, tmp_path,
                                                            monkeypatch, exists):
    def no_links(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")
    target = tmp_path / "copy"

    def maybe_write(done, total):
        if exists and done == total:
            target.write_bytes(b"theirs")
    monkeypatch.setattr(os, "link", no_links)
    if exists:
        with pytest.raises(fileclient.TargetExists):
            fileclient.get(server, "data.bin", target, progress=maybe_write,
                           overwrite=False)
        assert target.read_bytes() == b"theirs"
    else:
        fileclient.get(server, "data.bin", target, overwrite=False)
        assert target.read_bytes() == DATA


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("word", ["get", "put"])
def test_a_transfer_ends_with_one_summary_line_on_a_terminal(server, tmp_path,
                                                              monkeypatch, word):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    source = tmp_path / "up.bin"
    source.write_bytes(DATA)
    words = ("get", "data.bin", "-o", str(tmp_path)) if word == "get" else ("put", str(source))
    assert client(server, *words) == 0
    last = terminal.getvalue().split("\n")[-2]
    assert re.fullmatch(r"293\.0 KiB in \d+\.\d s, sha256 ok", last), last


class FailingDigest:
    """A sha256 that fails, as a bug in the hashing thread would."""

    def update(self, data):
        raise ValueError("broken on purpose")


def test_a_failure_in_the_hashing_thread_is_one_error(tmp_path, monkeypatch):
    monkeypatch.setattr(hashing, "hashlib", types.SimpleNamespace(sha256=FailingDigest))
    with running_server(WrongDigest) as address:
        with pytest.raises(fileclient.FileTransferError,
                           match=r"hashing failed \(broken on purpose\); the download "
                                 "cannot be checked"):
            fileclient.get(address, "data.bin", tmp_path / "x")
    assert not (tmp_path / "x").exists()
