"""The pool model: a fixed number of threads, started once, that take turns.

socketserver has no such mix-in.  ``ThreadingMixIn`` starts a thread per
client, without limit: a thousand clients, a thousand threads.  A pool
starts ``pool_size`` threads once and reuses them, as most real servers do.
Requests wait in a queue until a worker is free, so at most ``pool_size``
clients are served at once and the others wait their turn, already
connected: a limit on threads, memory and load, paid for in waiting.
"""

import queue
import threading

__all__ = ["ThreadPoolMixIn"]


class ThreadPoolMixIn:
    """Mix-in class to handle each request in one of ``pool_size`` worker threads.

    The mix-in comes first in a server class, as socketserver's do, so that
    its ``process_request`` replaces the plain one.

    Class variables that may be overridden: ``pool_size``,
    ``daemon_threads``, ``block_on_close``.
    """

    model = "pool"
    one_at_a_time = False

    # How many requests are served at once; the launcher may set it per
    # server (build_server(..., pool_size=8), or --pool 8).
    pool_size = 8
    # As in ThreadingMixIn: daemon workers never keep the program alive, and
    # server_close() waits for them only if block_on_close is true.
    daemon_threads = True
    block_on_close = False

    _workers = ()

    def served_at_once(self):
        """One client per worker; the others wait in the queue."""
        return self.pool_size

    def process_request(self, request, client_address):
        """Queue the request for the next free worker; start the workers first."""
        if not self._workers:
            self._start_workers()
        self._waiting_requests.put((request, client_address))

    def _start_workers(self):
        # Started with the first request rather than in __init__, so that
        # pool_size may still be changed after the server was built.
        self._waiting_requests = queue.SimpleQueue()
        self._workers = [
            threading.Thread(target=self._work, daemon=self.daemon_threads,
                             name=f"classicnet-pool-{number}")
            for number in range(1, self.pool_size + 1)]
        for worker in self._workers:
            worker.start()

    def _work(self):
        """A worker's life: serve queued requests until a None says stop."""
        while True:
            item = self._waiting_requests.get()
            if item is None:
                return
            self.process_request_thread(*item)

    def process_request_thread(self, request, client_address):
        """Serve one request in a worker thread; the same as in ThreadingMixIn."""
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self):
        """Close the socket, and let each worker end after the requests queued
        before it."""
        super().server_close()
        for _ in self._workers:
            self._waiting_requests.put(None)
        if self.block_on_close:
            for worker in self._workers:
                worker.join()
