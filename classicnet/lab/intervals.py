"""When each connection waited and when it was served, as time intervals.

The table's ``at once`` and the timeline's picture are both made from the
intervals here, so the two can never disagree::

    connect()            first answer                close()
       |---- waiting -------|------- being served -------|

A connection is *waiting* from the moment its client starts to connect
until its first answer (it waits its turn: in a waiting room, a queue or
the listen backlog), and *being served* from its first answer until its
client closes it.  Both are
seen from the clients: the server's own view is not needed, and a server
that serves one connection at a time can never show two served at once
(the close is timed before the client closes, see ``load._close``).
"""

__all__ = ["most_overlap", "served_intervals", "waiting_intervals"]


def served_intervals(connections):
    """``(client, start, end)`` for every answered connection."""
    return [(client, first_answer, closed)
            for client, _, first_answer, closed in connections
            if first_answer is not None]


def waiting_intervals(connections):
    """``(client, start, end)``: from connecting to the first answer, or to the
    close for a connection never answered."""
    return [(client, opened, closed if first_answer is None else first_answer)
            for client, opened, first_answer, closed in connections]


def most_overlap(intervals):
    """The most intervals that cover one moment.  One that ends exactly when
    another starts does not overlap it."""
    changes = []
    for _, start, end in intervals:
        changes += [(start, 1), (end, -1)]
    most = current = 0
    for _, change in sorted(changes):       # at one moment, ends come first
        current += change
        most = max(most, current)
    return most
