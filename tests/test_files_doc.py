"""docs/protocol.md is enough to write a client: run the one it shows."""

import hashlib
import os
import re
import socket

from classicnet import framing
from classicnet.testing import running_server

from conftest import ROOT, TIMEOUT

with open(os.path.join(ROOT, "docs", "protocol.md"), encoding="utf-8") as page:
    PROTOCOL = page.read()


def students_client():
    """The namespace of the client in the section "A complete client"."""
    section = PROTOCOL.split("## A complete client", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(compile(code, "docs/protocol.md", "exec"), namespace)
    return namespace


def test_the_client_in_the_docs_can_list_put_and_get(tmp_path):
    client = students_client()
    with running_server("files", root=str(tmp_path)) as address:
        with socket.create_connection(address, timeout=TIMEOUT) as sock:
            assert client["list_files"](sock) == []
            assert client["put"](sock, "b.txt", b"hello")["size"] == 5
            assert client["get"](sock, "b.txt") == b"hello"
            assert client["list_files"](sock) == [{"name": "b.txt", "size": 5}]
    assert (tmp_path / "b.txt").read_bytes() == b"hello"


def test_the_worked_example_is_what_the_code_sends():
    listing = framing.encode_message({"op": "list"})
    assert f"{listing[:4].hex(' ')}  {listing[4:].hex(' ')}" in PROTOCOL
    put = framing.encode_message({"op": "put", "name": "b.txt", "size": 5})
    assert f"{put[:4].hex(' ')}  {put[4:].decode()}  68 65 6c 6c 6f" in PROTOCOL
    answer = framing.encode_message({"ok": True, "name": "b.txt", "size": 5,
                                     "sha256": hashlib.sha256(b"hello").hexdigest()})
    assert f"{answer[:4].hex(' ')}  {answer[4:].decode()}" in PROTOCOL
