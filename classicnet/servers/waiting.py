"""The waiting room: clients accepted while every slot is taken.

The plain and the forking models serve only so many clients at once (one;
``max_children``).  socketserver leaves the others in the kernel's listen
backlog, where nothing can tell them anything, and ``max_connections`` is
never checked for them.  classicnet accepts them instead: a newcomer who
finds every slot taken waits here, already connected and counted against
``max_connections`` and its host's ``max_per_client``, and is served in the
order it came as soon as a slot is free.  One client too many is refused
with the same line as under threading.  (The pool model needs none of
this: its queue is its waiting room.)

On a stop, the clients still waiting were never served: they are cut with
the others (``cut_clients()``), and closed with the server.
"""

import collections

__all__ = ["WaitingRoomMixIn"]


class WaitingRoomMixIn:
    """Mix-in that keeps ``waiting``, the ``(request, client_address)``
    pairs accepted but not served yet, and dismisses them on a stop."""

    def __init__(self, *args, **kwargs):
        self.waiting = collections.deque()
        super().__init__(*args, **kwargs)

    def dismiss_waiting(self):
        """Shut down and close the connections still waiting; return how many."""
        dismissed = 0
        while self.waiting:
            request, _ = self.waiting.popleft()
            self.shutdown_request(request)
            dismissed += 1
        return dismissed

    def cut_clients(self):
        dismissed = self.dismiss_waiting()      # first: then they are not open
        return dismissed + super().cut_clients()

    def server_close(self):
        super().server_close()
        self.dismiss_waiting()
