"""The prefork model: N worker processes, forked once, all accepting on one socket.

``ForkingMixIn`` pays a ``fork()`` for every client.  Most servers of this
family (Apache's prefork MPM, gunicorn's sync workers, the "preforked
server" of Stevens' *UNIX Network Programming*) fork their workers once,
at start-up, and let each of them call ``accept()`` on the same listening
socket, which they all inherit::

                  parent: binds, listens, forks, then only supervises
                  |          |          |
              worker 1   worker 2   worker 3    each: accept(), serve the
                  \\          |          /        client, accept() again ...
                   +-- one listening socket --+

Forking's isolation and its use of every core, without its cost per client.
At most ``workers`` clients are served at once; the others wait, already
connected, in the listen backlog until a worker is free.

Theory of operation.

* **The thundering herd.**  N processes asleep in ``accept()`` on one
  socket are the textbook case: if a new connection woke them all, one
  would get it and the others would go back to sleep, for nothing.  Linux
  wakes only one of the processes blocked in ``accept()`` (they wait
  "exclusively"), so each worker here blocks in ``accept()`` itself.  (A
  worker that waited in ``select()``/``poll()`` first, as ``serve_forever()``
  does, would bring the herd back: those wake every waiter.)  The other
  answer is ``SO_REUSEPORT``: one listening socket *per worker*, bound to
  the same port, and the kernel spreads new connections between them by
  a hash of the client's address: no shared wait at all, but a worker
  busy with a slow client still gets its share of new ones.
* **Stopping.**  The listening socket gets a receive timeout (SO_RCVTIMEO,
  which Linux applies to ``accept()``), so a worker blocked in
  ``accept()`` looks up every ``poll_interval`` seconds, between clients,
  at the *scoreboard*: a few bytes of memory shared by the parent and all
  its workers (Apache's word for it).  The parent writes STOP there; each
  worker writes BUSY while it serves a client.  So a worker finishes its
  client before it stops, and the parent knows how many clients are being
  served without asking anyone.  A worker whose parent has died stops too.
  (Where ``accept()`` ignores the timeout, the BSDs and macOS, an idle
  worker stops when the grace period ends and the parent cuts it.)
* **Supervision.**  The parent reaps its workers every ``poll_interval``
  and forks a new one for each that died (a crash, a kill) or that has
  served ``max_requests`` clients (``--max-requests``, recycling against
  leaks as gunicorn does), with a ``worker`` event that the log shows.
* **Signals** are as under forking: a worker ignores SIGINT (Ctrl-C goes
  to the whole process group; stopping is the parent's business), and
  SIGTERM, the parent's way to cut a client off, becomes ``SystemExit``
  so the handler's ``finally`` blocks run.
"""

import _signal
import logging
import os
import signal
import threading
import time

from ..contract import idle_timeout_of
from .scoreboard import Scoreboard
from .streams import clear_idle_timeout, set_idle_timeout

__all__ = ["PreforkMixIn"]

log = logging.getLogger("classicnet.server")

# How often the parent looks whether its workers have ended, while stopping.
REAP_INTERVAL = 0.02

STOP_SIGNALS = (int(signal.SIGINT), int(signal.SIGTERM))


class PreforkMixIn:
    """Mix-in class: serve clients in ``workers`` processes forked once.

    It comes first in a server class, as socketserver's mix-ins do.

    Methods for the caller: ``serve_forever()`` and ``shutdown()``, as
    socketserver's (``shutdown()`` from another thread); the launcher's
    ``wait_for_clients()``, ``cut_clients()``.
    Class variables that may be overridden: ``workers``, ``max_requests``
    (0: a worker is never recycled).
    """

    model = "prefork"
    one_at_a_time = True        # each worker serves its clients one by one
    workers = 4
    max_requests = 0

    scoreboard = None

    def __init__(self, *args, **kwargs):
        self.worker_slots = {}          # pid -> slot, the workers alive
        self.vacancies = []             # (slot, pid, why, recycled): to fork again
        self.fork_failing = False
        self.stop_requested = threading.Event()
        self.supervision_ended = threading.Event()
        self.parent_pid = None
        super().__init__(*args, **kwargs)

    # --- the parent ---------------------------------------------------------

    def serve_forever(self, poll_interval=0.5):
        """Fork the workers, then supervise them until ``shutdown()``."""
        self.parent_pid = os.getpid()
        self.scoreboard = Scoreboard(self.workers)
        set_idle_timeout(self.socket, poll_interval)    # accept() waits this long
        try:
            for slot in range(self.workers):
                self.start_worker(slot, poll_interval)
            while not self.stop_requested.wait(poll_interval):
                self.replace_ended_workers(poll_interval)
        finally:
            self.scoreboard.say_stop()
            self.supervision_ended.set()

    def shutdown(self):
        """Tell the workers to stop after their clients; wait until
        ``serve_forever()`` has returned."""
        self.stop_requested.set()
        self.supervision_ended.wait()

    def start_worker(self, slot, poll_interval):
        """Fork a worker for *slot*; in the parent, return its pid."""
        pid = os.fork()
        if pid:
            self.worker_slots[pid] = slot
            return pid
        status = 1
        try:
            self.become_worker()
            self.serve_clients(slot, poll_interval)
            status = 0
        except SystemExit as stop:
            status = stop.code if isinstance(stop.code, int) else 1
        except BaseException:
            log.exception("prefork worker %d failed", os.getpid())
        finally:
            os._exit(status)

    def replace_ended_workers(self, poll_interval):
        """Reap the workers that have ended, and fork one for each.

        A fork that fails (too many processes, no memory) leaves the slot
        vacant, said once, and is tried again every poll_interval: the
        workers still alive go on serving meanwhile.
        """
        for pid, status in self.reap_workers():
            slot = self.worker_slots.pop(pid)
            self.scoreboard.mark(slot, Scoreboard.IDLE)
            self.vacancies.append((slot, pid, self.why_ended(status),
                                   os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0))
        while self.vacancies:
            slot, pid, reason, recycled = self.vacancies[0]
            try:
                new_pid = self.start_worker(slot, poll_interval)
            except OSError as error:
                if not self.fork_failing:
                    self.events.emit("worker", worker=None, replaced=pid, recycled=False,
                                     reason=f"{reason}, and fork() failed ({error})")
                self.fork_failing = True
                return
            self.fork_failing = False
            self.vacancies.pop(0)
            self.events.emit("worker", worker=new_pid, replaced=pid, recycled=recycled,
                             reason=reason)

    def why_ended(self, status):
        """Why a worker ended, from its exit status, in words for the log."""
        if os.WIFSIGNALED(status):
            return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
        code = os.WEXITSTATUS(status)
        if code == 0:
            return f"reached --max-requests ({self.max_requests} client(s) served)"
        return f"exited with status {code}"

    def reap_workers(self):
        """``(pid, exit status)`` of every worker that has ended; never waits."""
        ended = []
        for pid in list(self.worker_slots):
            try:
                finished, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                finished, status = pid, 0
            if finished:
                ended.append((pid, status))
        return ended

    def wait_for_clients(self, deadline):
        """Reap workers until all have ended or *deadline* passes; return how
        many clients are still being served."""
        while True:
            for pid, _ in self.reap_workers():
                self.worker_slots.pop(pid)
            busy = self.connections_in_service()
            if not self.worker_slots or time.monotonic() >= deadline:
                return busy
            time.sleep(REAP_INTERVAL)

    def connections_in_service(self):
        """In the parent: the workers marked BUSY.  In a worker: its own
        connection, as the stream server counts it."""
        if self.scoreboard is None:
            return 0
        if os.getpid() != self.parent_pid:
            return super().connections_in_service()
        return self.scoreboard.busy(self.worker_slots.values())

    def cut_clients(self):
        """SIGTERM every worker: one serving a client ends it (SystemExit),
        an idle one just ends.  Return how many clients were cut."""
        cut = 0
        for pid, slot in list(self.worker_slots.items()):
            busy = self.scoreboard.busy([slot])
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue            # it has just ended on its own
            if busy:
                cut += 1
                self.events.emit("cut", child=pid)
        return cut

    def server_close(self):
        """End the supervision if it still runs (no graceful stop came
        first); kill the workers that outlived the stop, reap every one, close."""
        if self.parent_pid is not None:         # serve_forever() has run
            self.stop_requested.set()
            self.supervision_ended.wait()
        for pid in self.worker_slots:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass                # it has ended since the last look
        for pid in self.worker_slots:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        self.worker_slots.clear()
        if self.scoreboard is not None:
            self.scoreboard.close()
        super().server_close()

    # --- a worker -----------------------------------------------------------

    def become_worker(self):
        """Take the worker's signals (see the module docstring).

        The C functions of ``_signal``, as in ``forking``: the ``signal``
        wrappers would touch the enum machinery and copy more pages.
        """
        _signal.signal(signal.SIGINT, _signal.SIG_IGN)
        _signal.signal(signal.SIGTERM, _raise_system_exit)
        _signal.pthread_sigmask(_signal.SIG_UNBLOCK, STOP_SIGNALS)

    def serve_clients(self, slot, poll_interval):
        """A worker's life: accept and serve clients until told to stop, the
        parent dies, or ``max_requests`` clients have been served."""
        self.slot, self.served = slot, 0
        while not self.scoreboard.stop_said() and os.getppid() == self.parent_pid:
            if self.max_requests and self.served >= self.max_requests:
                return
            # The body of socketserver's serve_forever() loop, without its
            # select(): accept() blocks, for poll_interval at most.
            self._handle_request_noblock()

    def get_request(self):
        """Accept a client.  Linux copies the listening socket's options to
        the connection, the accept timeout included: a connection the idle
        timeout does not cover gets no timeout at all."""
        connection, client_address = super().get_request()
        if not idle_timeout_of(self.RequestHandlerClass, self.idle_timeout):
            clear_idle_timeout(connection)
        return connection, client_address

    def process_request(self, request, client_address):
        """Serve the client in this worker, marked BUSY on the scoreboard."""
        self.scoreboard.mark(self.slot, Scoreboard.BUSY)
        try:
            super().process_request(request, client_address)
        finally:
            self.served += 1
            self.scoreboard.mark(self.slot, Scoreboard.IDLE)


def _raise_system_exit(signum, frame):
    raise SystemExit(128 + signum)
