"""The forking model: a new process for every client (Unix only).

socketserver's ``ForkingMixIn`` forks a child per request and reaps the
children now and then.  Two things more are needed to *stop* such a server
cleanly, and to keep Ctrl-C for the parent:

* A forked child starts as a copy of the serving thread, with the stop
  signals held (the launcher holds them in every thread but its own).
  The child ignores SIGINT, which the terminal sends to the whole process
  group on Ctrl-C: stopping is the parent's business.  SIGTERM, the
  parent's way of cutting a client off, becomes ``SystemExit`` in the
  child, so the handler's ``finally`` blocks run and a half-received
  upload is removed as it would be under threading.  This is set up in
  the child, at the start of ``finish_request()``, for this server's
  children only: nothing else forked in the process is touched.
* socketserver's ``collect_children()`` blocks for ever once
  ``max_children`` children are busy, so the graceful stop reaps without
  ever blocking (``reap_finished_children()``), looking again every
  ``CHILD_POLL_INTERVAL`` seconds since ``os.waitpid()`` cannot wait with a
  timeout.  A child still alive at ``server_close()`` has ignored SIGTERM
  (a bare ``except:`` swallows ``SystemExit``) and is killed.

That blocking ``collect_children()`` also stops socketserver's accepting
loop while every child is busy: newcomers pile up in the listen backlog,
where nobody can tell them anything, and ``max_connections`` is never
checked.  Here the loop goes on accepting.  A client that finds
``max_children`` children busy waits in ``waiting`` (already connected,
counted against ``max_connections`` and its host's ``max_per_client``),
and gets the next free child, in the order it came (``service_actions()``).
One client more than ``max_connections`` is refused with one line, as
under threading.
"""

import _signal
import os
import signal
import socketserver
import time

from .streams import host_of
from .waiting import WaitingRoomMixIn

__all__ = ["CHILD_POLL_INTERVAL", "ForkingMixIn"]

CHILD_POLL_INTERVAL = 0.05

STOP_SIGNALS = (int(signal.SIGINT), int(signal.SIGTERM))


class ForkingMixIn(WaitingRoomMixIn, socketserver.ForkingMixIn):
    """socketserver's ForkingMixIn, whose children can be waited for and ended.

    The mix-in comes first in each server class, as in socketserver, so
    that its ``process_request`` replaces the plain one.
    """

    model = "forking"

    def __init__(self, *args, **kwargs):
        self.child_hosts = {}                   # pid -> the host it serves
        super().__init__(*args, **kwargs)

    def served_at_once(self):
        """A child per client, max_children at most; the others wait."""
        return self.max_children

    def process_request(self, request, client_address):
        """Fork a child for the client, or let it wait while every child is busy."""
        if self.waiting or self.children_at_limit():
            self.waiting.append((request, client_address))
            return
        self.fork_for(request, client_address)

    def fork_for(self, request, client_address):
        """socketserver's fork; the parent notes the child's client host."""
        before = set(self.active_children or ())
        super().process_request(request, client_address)
        for pid in set(self.active_children or ()) - before:
            self.child_hosts[pid] = host_of(client_address)

    def service_actions(self):
        """Reap without blocking (not socketserver's collect_children()),
        then give the children free now to the clients waiting longest."""
        self.reap_finished_children()
        while self.waiting and not self.children_at_limit():
            self.fork_for(*self.waiting.popleft())

    def children_at_limit(self):
        return len(self.active_children or ()) >= self.max_children

    def finish_request(self, request, client_address):
        """In the child: take the child's signals (above), then serve.

        Every child runs this, so it calls the C functions of ``_signal``,
        the module that ``signal`` wraps.  The wrappers turn their results
        into enum members, and touching the enum machinery makes each child
        copy some 35 more pages of its parent's memory (copy-on-write):
        ``perf stat -e page-faults`` counted 404 faults per fork with the
        wrappers, 368 without.
        """
        _signal.signal(signal.SIGINT, _signal.SIG_IGN)
        _signal.signal(signal.SIGTERM, _raise_system_exit)
        _signal.pthread_sigmask(_signal.SIG_UNBLOCK, STOP_SIGNALS)
        for waiting, _ in self.waiting:     # the parent's to serve, not ours
            waiting.close()
        super().finish_request(request, client_address)

    def wait_for_clients(self, deadline):
        """Reap children until none is left or *deadline* passes."""
        while True:
            self.reap_finished_children()
            waiting = self.connections_in_service()
            if not waiting or time.monotonic() >= deadline:
                return waiting
            time.sleep(CHILD_POLL_INTERVAL)

    def reap_finished_children(self):
        """Collect every child that has exited; never wait for one."""
        for pid in list(self.active_children or ()):
            try:
                finished, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                finished = pid          # reaped by the serving thread
            if finished:
                self.active_children.discard(pid)
                self.child_hosts.pop(pid, None)

    def connections_in_service(self):
        """Children serving clients, and connections accepted but not
        handed to a child yet (the parent notes a child's pid only once
        fork() has returned, and the child may have served a while).

        Children that have finished count until they are reaped.
        """
        return len(self.active_children or ()) + super().connections_in_service()

    def connections_from(self, host):
        """Children serving *host*, and its connections in the parent."""
        children = sum(1 for pid, other in list(self.child_hosts.items())
                       if other == host and pid in (self.active_children or ()))
        return children + super().connections_from(host)

    def too_many_connections(self):
        """Reap finished children first, but only if the count says the
        client is one too many: ``service_actions()`` reaps after every
        request already, so a waitpid() per child for every new client
        would only repeat it."""
        if not super().too_many_connections():
            return False
        self.reap_finished_children()
        return super().too_many_connections()

    def too_many_from(self, host):
        """The same for one host's limit: reap first, only if over it."""
        if not super().too_many_from(host):
            return False
        self.reap_finished_children()
        return super().too_many_from(host)

    def cut_clients(self):
        """End every child still serving a client, and shut down the
        connections not handed to a child yet (those waiting too); return
        how many."""
        children = list(self.active_children or ())
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue  # it has just finished on its own
            self.events.emit("cut", child=pid)
        return len(children) + super().cut_clients()

    def server_close(self):
        """Close the listening socket and the connections still waiting;
        kill the children that outlived a cut, then reap every child."""
        for pid in list(self.active_children or ()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it has ended since the last look
        super().server_close()


def _raise_system_exit(signum, frame):
    raise SystemExit(128 + signum)
