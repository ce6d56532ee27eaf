"""A student's echo server from raw sockets, with one of the classic mistakes.

    python stream_server.py MISTAKE PORT

MISTAKE is one of the names in SERVE below ("none" is the server done
right).  It prints "listening on 127.0.0.1:PORT" once it listens.  The
tests run `classicnet check echo` against each and assert which check
fails, with which lesson (tests/test_check_gallery.py).
"""

import socket
import sys
import threading


def serve_right(conn):
    """Answer every chunk until the client closes."""
    with conn:
        try:
            while True:
                data = conn.recv(1024)
                if not data:
                    return
                conn.sendall(data)
        except ConnectionError:        # reset, broken pipe: this client is gone
            return


def serve_one_recv(conn):
    """The mistake: one recv(1024) is taken for the whole message."""
    with conn:
        data = conn.recv(1024)
        conn.sendall(data)


def serve_ignoring_empty(conn):
    """The mistake: a message with nothing but whitespace is never answered."""
    with conn:
        while True:
            data = conn.recv(1024)
            if not data:
                return
            if not data.strip():
                continue
            conn.sendall(data)


def serve_dying_on_reset(conn):
    """The mistake: no except ConnectionResetError, and no thread to contain it."""
    while True:
        data = conn.recv(1024)
        if not data:
            break
        conn.sendall(data)
    conn.close()


# mistake -> how each client is served, and whether in a thread of its own
SERVE = {
    "none": (serve_right, True),
    "one_recv": (serve_one_recv, True),
    "ignores_empty": (serve_ignoring_empty, True),
    "dies_on_reset": (serve_dying_on_reset, False),
    "one_at_a_time": (serve_right, False),
}


def main(mistake, port):
    serve, threaded = SERVE[mistake]
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(5)
    print("listening on 127.0.0.1:%d" % server.getsockname()[1], flush=True)
    while True:
        conn, _ = server.accept()
        if threaded:
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
        else:
            serve(conn)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
