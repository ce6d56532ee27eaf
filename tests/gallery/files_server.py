"""A student's CNFP/1 file server from raw sockets, with one of the classic mistakes.

    python files_server.py MISTAKE PORT ROOT

MISTAKE is one of the names in MISTAKES below ("none" is the server done
right: it passes every check of `classicnet check files`).  Each mistake
is one function beside the right one, as docs/protocol.md lists them
under "Classic mistakes".  It prints "listening on 127.0.0.1:PORT" once
it listens.
"""

import hashlib
import json
import os
import socket
import struct
import sys
import threading


def recv_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError("the client left")
        data += chunk
    return data


def prefix_right(conn):
    return recv_exactly(conn, 4)


def prefix_in_one_recv(conn):
    """The mistake: recv(4) may return fewer than 4 bytes."""
    prefix = conn.recv(4)
    if not prefix:
        raise EOFError("the client left")
    return prefix


def body_right(conn, size, out):
    received = 0
    while received < size:
        data = conn.recv(min(65536, size - received))
        if not data:
            raise EOFError("the client left mid-upload")
        out.write(data)
        received += len(data)


def body_counting_1024(conn, size, out):
    """The mistake: counts the bytes asked for, not the bytes received."""
    recv_size = 0
    while recv_size < size:
        data = conn.recv(1024)
        if not data:
            raise EOFError("the client left mid-upload")
        out.write(data)
        recv_size += 1024


def body_past_the_end(conn, size, out):
    """The mistake: recv(1024) near the end takes the next message's bytes too."""
    received = 0
    while received < size:
        data = conn.recv(1024)
        if not data:
            raise EOFError("the client left mid-upload")
        out.write(data)
        received += len(data)


def path_right(root, name):
    if (not name or name in (".", "..") or name.startswith(".")
            or any(bad in name for bad in "/\\\0")):
        raise ValueError("not a plain file name: %r" % name)
    return os.path.join(root, name)


def path_joined(root, name):
    """The mistake: the client's name is joined onto the folder unchecked."""
    return os.path.join(root, name)


def store_right(path, receive):
    """Write under a temporary name; rename only when all of it arrived."""
    temporary = os.path.join(os.path.dirname(path), ".part-" + os.path.basename(path))
    try:
        with open(temporary, "wb") as out:
            receive(out)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def store_in_place(path, receive):
    """The mistake: a cut upload leaves half a file under its real name."""
    with open(path, "wb") as out:
        receive(out)


# mistake -> the parts it changes, and whether each client gets a thread
MISTAKES = {
    "none": ({}, True),
    "recv4": ({"prefix": prefix_in_one_recv}, True),
    "counts_1024": ({"body": body_counting_1024}, True),
    "reads_past_end": ({"body": body_past_the_end}, True),
    "joins_name": ({"path": path_joined}, True),
    "writes_in_place": ({"store": store_in_place}, False),
}
PARTS = {"prefix": prefix_right, "body": body_right, "path": path_right,
         "store": store_right}


def send_header(conn, header):
    data = json.dumps(header).encode("utf-8")
    conn.sendall(struct.pack("!I", len(data)) + data)


def read_header(conn):
    prefix = PARTS["prefix"](conn)
    order = "!I" if prefix[:2] == b"\0\0" else "<I"
    (length,) = struct.unpack(order, prefix)
    return json.loads(recv_exactly(conn, length).decode("utf-8"))


def digest_of(path):
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()


def put(conn, root, name, size):
    try:
        path = PARTS["path"](root, name)
    except ValueError as error:
        recv_exactly(conn, size)       # read the body anyway, to stay in step
        send_header(conn, {"ok": False, "error": str(error)})
        return
    PARTS["store"](path, lambda out: PARTS["body"](conn, size, out))
    send_header(conn, {"ok": True, "name": name, "size": size, "sha256": digest_of(path)})


def answer(conn, root, header):
    op = header.get("op")
    if op is None and "filename" in header:
        put(conn, root, header["filename"], header["filesize"])
    elif op == "put":
        put(conn, root, header["name"], header["size"])
    elif op == "list":
        names = sorted(name for name in os.listdir(root) if not name.startswith(".")
                       and os.path.isfile(os.path.join(root, name)))
        send_header(conn, {"ok": True, "files": [
            {"name": name, "size": os.path.getsize(os.path.join(root, name))}
            for name in names]})
    elif op == "get":
        path = PARTS["path"](root, header["name"])
        with open(path, "rb") as file:
            data = file.read()
        send_header(conn, {"ok": True, "name": header["name"], "size": len(data),
                           "sha256": hashlib.sha256(data).hexdigest()})
        conn.sendall(data)
    else:
        send_header(conn, {"ok": False, "error": "unknown op %r" % op})


def serve(conn, root):
    with conn:
        while True:
            try:
                header = read_header(conn)
            except (EOFError, ConnectionResetError):
                return
            try:
                answer(conn, root, header)
            except (OSError, ValueError) as error:
                if "size" in header or "filesize" in header:
                    return          # the body's bytes are still coming: give up
                send_header(conn, {"ok": False, "error": str(error)})
            except EOFError:
                return


def main(mistake, port, root):
    changes, threaded = MISTAKES[mistake]
    PARTS.update(changes)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(5)
    print("listening on 127.0.0.1:%d" % server.getsockname()[1], flush=True)
    while True:
        conn, _ = server.accept()
        if threaded:
            threading.Thread(target=serve, args=(conn, root), daemon=True).start()
        else:
            serve(conn, root)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
