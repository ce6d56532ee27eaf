"""Uploads under stress: stopped mid-way, cut mid-way, many at once.
Whatever happens, a file is either all there or not there at all."""

import hashlib
import os
import signal
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from classicnet import framing
from classicnet.testing import running_server
from conftest import MODELS
from resources import connect, reset, settles_to, usage

BODY = bytes(range(256)) * 4096             # 1 MiB


def start_upload(address, name, body):
    """Send a put request and the first half of its body; return the client."""
    client = connect(address)
    header = {"op": "put", "name": name, "size": len(body),
              "sha256": hashlib.sha256(body).hexdigest()}
    client.sendall(framing.encode_message(header) + body[:len(body) // 2])
    return client


def finish_upload(client, body):
    client.sendall(body[len(body) // 2:])
    return framing.MessageReader(client).read_header()


def left_in(root):
    return sorted(os.listdir(root))


def uploading(root):
    """True once the server has begun to store an upload (its temporary file)."""
    return any(name.endswith(".part") for name in os.listdir(root))


@pytest.mark.parametrize("model", MODELS)
def test_an_upload_in_progress_at_shutdown_completes_within_the_grace(cli, model,
                                                                      tmp_path):
    server = cli("files", f"--{model}", "--root", str(tmp_path), "--grace", "60", "-v")
    with start_upload(server.address, "whole.bin", BODY) as client:
        assert settles_to(lambda: uploading(tmp_path), True)
        server.send_signal(signal.SIGTERM)
        assert "1 client(s) being served" in server.wait_for_log("stopping:")
        answer = finish_upload(client, BODY)
        assert answer["ok"] is True
        client.shutdown(socket.SHUT_WR)
        assert server.wait() == 0
    assert left_in(tmp_path) == ["whole.bin"]
    assert (tmp_path / "whole.bin").read_bytes() == BODY


@pytest.mark.parametrize("model", MODELS)
def test_an_upload_cut_at_shutdown_leaves_nothing(cli, model, tmp_path):
    server = cli("files", f"--{model}", "--root", str(tmp_path), "--grace", "0.2", "-v")
    with start_upload(server.address, "half.bin", BODY):
        assert settles_to(lambda: uploading(tmp_path), True)
        server.send_signal(signal.SIGTERM)
        assert server.wait() == 0
    assert "1 cut off" in server.wait_for_log("stopped:")
    assert left_in(tmp_path) == []


@pytest.mark.parametrize("model", [m for m in MODELS if m != "plain"])
def test_many_uploads_some_cut_leave_only_whole_files(model, tmp_path):
    before = usage(os.getpid())

    def upload(number):
        body = os.urandom(1000 + number * 37)
        name = f"file-{number}.bin"
        client = start_upload(address, name, body)
        if number % 3 == 0:
            reset(client)                           # vanishes mid-body
            return None
        with client:
            assert finish_upload(client, body)["ok"] is True
        return name, body

    with running_server("files", model=model, root=str(tmp_path)) as address:
        with ThreadPoolExecutor(8) as pool:
            stored = [result for result in pool.map(upload, range(60)) if result]
        with connect(address) as client:
            framing.send_message(client, {"op": "list"})
            listing = framing.MessageReader(client).read_header()
        assert sorted(f["name"] for f in listing["files"]) == \
            sorted(name for name, _ in stored)
        assert settles_to(lambda: left_in(tmp_path), sorted(n for n, _ in stored)) == \
            sorted(name for name, _ in stored)
    for name, body in stored:
        assert (tmp_path / name).read_bytes() == body
    assert settles_to(lambda: usage(os.getpid())[0] <= before[0], True)
