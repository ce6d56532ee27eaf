"""who: answer every message with the thread and the process that served it.

The concurrency model, visible in the reply itself.  Connect twice and
compare the answers::

    --plain       thread classicnet-server in process 4711   (both times)
    --threading   thread Thread-1 (process_request_thread) in process 4711,
                  then Thread-2 ...: a new thread per client, one process
    --forking     thread classicnet-server in process 4712, then 4713:
                  a new process per client
    --pool 4      thread classicnet-pool-1 in process 4711: a few threads,
                  reused

On TCP every chunk received is one message; on UDP every datagram.
"""

import os
import socketserver
import threading

from ..registry import register

RECV_SIZE = 4096


def identity():
    """This thread's name and this process's id, as one line of bytes."""
    name = threading.current_thread().name
    return f"thread {name} in process {os.getpid()}\n".encode()


@register("who", "tcp")
class WhoHandler(socketserver.BaseRequestHandler):
    """Answers every message with the thread name and process id that served it."""

    def handle(self):
        while self.request.recv(RECV_SIZE):
            self.request.sendall(identity())


@register("who", "udp")
class WhoDatagramHandler(socketserver.BaseRequestHandler):
    """Answers every datagram with the thread name and process id that served it."""

    def handle(self):
        data, sock = self.request
        if data:
            sock.sendto(identity(), self.client_address)
