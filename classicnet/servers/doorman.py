"""The plain model's doorman: someone to answer the door while the one
client is served.

A plain server serves its client in the thread that accepts clients, as
socketserver's ``TCPServer`` does: while it serves, nobody accepts, and a
newcomer waits in the kernel's listen backlog, where nothing can tell it
anything.  One idle client holds such a server for the whole idle timeout,
and whoever comes meanwhile cannot tell a busy server from a dead one.

So while the plain server serves, a second thread, the *doorman*, watches
the listening socket.  Each newcomer is accepted and checked as usual
(``verify_request()``: ``max_connections``, ``max_per_client``): one too
many reads the same one-line refusal as under threading; the others wait
in the waiting room (``waiting.py``), and the serving thread takes them in
the order they came once its client is done (``service_actions()``).  The
handlers still run one at a time, in the serving thread: the doorman only
opens the door.  ::

    serving thread                        doorman
    --------------------------------      ------------------------------------
    accept A; serve A ......  busy  ..... accept B: wait; accept C: refuse
    serve B (from waiting)                ...
    idle: select() and accept as before   idle (the door is the server's)

Both threads may find the same newcomer ready, so accepting is done under
a lock, on a listening socket that does not block: whoever comes second
finds nobody there (``BlockingIOError``), which socketserver already
treats as a client that went away.
"""

import selectors
import signal
import threading
from contextlib import contextmanager

from .waiting import WaitingRoomMixIn

__all__ = ["DoormanMixIn"]

# How often the doorman looks whether it is still needed.
DOOR_POLL_INTERVAL = 0.05


class DoormanMixIn(WaitingRoomMixIn):
    """Mix-in for a stream server that serves one client at a time in its
    accepting thread: accept the others meanwhile, and make them wait or
    refuse them.  Only ``process_request()`` of the plain model runs here;
    the other models' mix-ins replace it.
    """

    def __init__(self, *args, **kwargs):
        self.accepting = threading.Lock()
        self.busy = threading.Event()
        self.door_closed = False
        self.doorman = None
        super().__init__(*args, **kwargs)

    def server_activate(self):
        """Listen, and post the doorman (who waits until the server is busy)."""
        super().server_activate()
        self.socket.setblocking(False)
        self.doorman = threading.Thread(target=self.answer_the_door,
                                        name="classicnet-doorman", daemon=True)
        with _no_signals():
            self.doorman.start()

    def process_request(self, request, client_address):
        """Serve the client here, the doorman at the door meanwhile."""
        self.busy.set()
        try:
            super().process_request(request, client_address)
        finally:
            self.busy.clear()

    def service_actions(self):
        """Serve the clients that waited, in the order they came."""
        super().service_actions()
        while self.waiting:
            request, client_address = self.waiting.popleft()
            try:
                self.process_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
                self.shutdown_request(request)

    def get_request(self):
        with self.accepting:
            return super().get_request()

    def answer_the_door(self):
        """The doorman's life: while the server is busy, accept newcomers."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            while not self.door_closed:
                if not self.busy.wait(DOOR_POLL_INTERVAL):
                    continue
                if selector.select(DOOR_POLL_INTERVAL) and self.busy.is_set():
                    self.let_in()

    def let_in(self):
        """Accept one newcomer: it waits its turn, or is refused."""
        try:
            request, client_address = self.get_request()
        except OSError:
            return          # the serving thread took it, or it went away
        if self.verify_request(request, client_address):
            self.waiting.append((request, client_address))
        else:
            self.shutdown_request(request)

    def server_close(self):
        self.door_closed = True
        if self.doorman is not None:
            self.doorman.join()
        super().server_close()


@contextmanager
def _no_signals():
    """Block every signal in the threads started in a ``with`` block.

    A thread inherits its creator's signal mask.  The doorman is started
    while the server is built, before the launcher holds the stop signals
    for ``sigwait()``; without this, a Ctrl-C could be delivered to the
    doorman, where the launcher would never collect it.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
