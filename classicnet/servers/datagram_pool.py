"""The pool model for datagrams: N threads, started once, each reading the socket.

socketserver's ``ThreadingUDPServer`` starts a new thread for every
datagram.  A datagram is usually answered in microseconds, and starting a
thread costs far more than that, so a "concurrent" UDP server made that
way answers several times fewer datagrams than a plain one.

A datagram pool starts ``pool_size`` threads once.  There is no queue
between them: each worker calls ``recvfrom()`` on the server's one
socket itself, which the kernel allows, and serves the datagram it got::

        +-------- one UDP socket --------+
        |               |                |
    worker 1        worker 2         worker 3     each: recvfrom(), verify,
    (a thread)      (a thread)       (a thread)   handle, sendto(), again

Linux wakes one of the threads blocked in ``recvfrom()`` per datagram, and
a blocked thread holds no GIL, so with one client a worker costs about
what the plain server's loop costs.  With a ``slow`` handler (``--delay``),
up to ``pool_size`` datagrams wait at once instead of one by one.

Every datagram passes the same guards as under any model
(``datagrams.UDPServer.verify_request``), one thread at a time: the count
of datagrams per host for ``--udp-rate`` is shared by all the workers.

Stopping: the socket gets a receive timeout of ``poll_interval`` seconds,
so a worker blocked in ``recvfrom()`` looks at the stop flag that often,
and ends after the datagram it is serving.
"""

import threading

from .streams import set_idle_timeout

__all__ = ["DatagramPoolMixIn"]


class DatagramPoolMixIn:
    """Mix-in class for a datagram server: serve with ``pool_size`` threads
    that each read the socket.

    It comes first in a server class, as socketserver's mix-ins do.

    Methods for the caller: ``serve_forever()`` and ``shutdown()``, as
    socketserver's (``shutdown()`` from another thread).
    Class variables that may be overridden: ``pool_size``.
    """

    model = "pool"
    one_at_a_time = False       # several handlers run at once: each datagram
    pool_size = 8               # gets a reply budget of its own

    _workers = ()

    def __init__(self, *args, **kwargs):
        self.stop_requested = threading.Event()
        self.serving_ended = threading.Event()
        self.guards = threading.Lock()
        super().__init__(*args, **kwargs)

    def serve_forever(self, poll_interval=0.5):
        """Start the workers; return once ``shutdown()`` has stopped them all."""
        self.stop_requested.clear()
        self.serving_ended.clear()
        set_idle_timeout(self.socket, poll_interval)
        self._workers = [
            threading.Thread(target=self.serve_datagrams, daemon=True,
                             name=f"classicnet-pool-{number}")
            for number in range(1, self.pool_size + 1)]
        try:
            for worker in self._workers:
                worker.start()
            for worker in self._workers:
                worker.join()
        finally:
            self.serving_ended.set()

    def shutdown(self):
        """Ask the workers to stop; wait until ``serve_forever()`` has returned."""
        self.stop_requested.set()
        self.serving_ended.wait()

    def serve_datagrams(self):
        """A worker's life: read and serve datagrams until told to stop."""
        while not self.stop_requested.is_set():
            # The body of socketserver's serve_forever() loop, without its
            # select(): recvfrom() blocks, for poll_interval at most, and a
            # timeout is an OSError that the method passes over.
            self._handle_request_noblock()

    def verify_request(self, request, client_address):
        """The datagram guards, one worker at a time (they count per host)."""
        with self.guards:
            return super().verify_request(request, client_address)

    def server_close(self):
        """Close the socket; workers still running see the stop flag."""
        self.stop_requested.set()
        super().server_close()
