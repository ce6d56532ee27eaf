"""The idle workload: open N connections, have each answered once, then hold them.

    python -m classicnet lab --workload idle --clients 100

A server's cost is not only its speed: every connection it holds open
costs memory, in a thread's stack, a process, or a few objects in an event
loop.  So each client connects, sends one message, waits for its answer
(the proof that the server is serving it, not only keeping it waiting
its turn), and then stays connected and silent.  After *wait*
seconds the server's memory is sampled (``memory.sample``) while the
connections are still open, and they are closed.

Memory per connection is the growth over the server's memory before any
client came, divided by the connections it was serving: a plain server
serves one, the others wait their turn unanswered (accepted by its doorman;
prefork's, in the listen backlog), and costs almost nothing more.
"""

import selectors
import socket
import time

__all__ = ["hold_idle"]


def hold_idle(address, clients, message, wait, sample):
    """Hold *clients* connections to *address*; call *sample()* while they are
    open.  Returns ``(connections, what sample() returned)``, each connection
    recorded as ``(client, opened, answered or None, closed)``."""
    selector = selectors.DefaultSelector()
    sockets, opened, answered = {}, {}, {}
    for client in range(clients):
        sock = socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET)
        sock.setblocking(False)
        sockets[client], opened[client] = sock, time.monotonic()
        sock.connect_ex(address)            # completes in the background
        selector.register(sock, selectors.EVENT_WRITE, [client, bytearray()])
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for key, _ in selector.select(max(0.0, deadline - time.monotonic())):
            _step(key, selector, message, answered)
    memory = sample()
    selector.close()
    connections = []
    for client, sock in sockets.items():
        connections.append((client, opened[client], answered.get(client),
                            time.monotonic()))
        sock.close()
    return connections, memory


def _step(key, selector, message, answered):
    """Send the message once connected; note the time once it is answered.
    A connection answered, refused or cut is no longer watched (but stays
    open until the end, as an idle client would)."""
    sock, (client, answer) = key.fileobj, key.data
    try:
        if key.events == selectors.EVENT_WRITE:
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                sock.send(message)          # 64 bytes fit in any socket buffer
                selector.modify(sock, selectors.EVENT_READ, key.data)
                return
            chunk = b""
        else:
            chunk = sock.recv(65536)
    except OSError:
        chunk = b""
    answer += chunk
    if len(answer) >= len(message):
        answered[client] = time.monotonic()
    if not chunk or client in answered:
        selector.unregister(sock)
