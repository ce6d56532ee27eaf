"""The timeline: every client connection as a bar, one row per client (a Gantt chart).

    plain, 4 clients          0 s                                 2.0 s
    client   0  ####.....................###......................|
    client   1  ...+####..................+###....................|
    ...

Each character is a slice of time, a *cell*, and shows what share of the
cell the client spent being served (``intervals.served_intervals``)::

    '#'  served for more than half of the cell
    '+'  served for part of it, half or less
    '.'  connected and waiting its turn (a waiting room, a queue or the
         listen backlog), not served
    ' '  not connected

Two clients can never both be ``#`` in one cell unless they were served at
the same moment for a while, so a server that serves one connection at a
time can never look as if it served two.  A plain server draws a
staircase, one client after another; a threading server draws every row
solid at the same time.

A cell is a slice of about a second divided by the width: a connection
shorter than that (one request, as under ``churn``) is at most a ``+``,
and several ``+`` in one column were served one after another *inside*
the cell, or together: the picture cannot tell which.  ``at once`` in the
table can (``intervals.most_overlap``).
"""

from .intervals import served_intervals, waiting_intervals
from .sentences import Sentence

__all__ = ["IDLE", "LEGEND", "PART", "SERVED", "WAITING", "draw_timeline",
           "resolution_note", "shade",
           "timeline_fractions", "timeline_rows"]

WAITING, PART, SERVED, IDLE = ".", "+", "#", " "
LEGEND = ("'#' served for most of the cell, '+' for part of it, "
          "'.' connected and waiting")


def timeline_fractions(measurement, width=60, rows=20):
    """The chart as numbers: ``({client: (served, waiting)}, span)``.

    *served* and *waiting* are lists of *width* fractions (0 to 1) of each
    cell; the time axis runs from the opening of the measured window to the
    last close.  Only the first *rows* clients are kept.
    """
    start = measurement.start
    closes = [closed for _, _, _, closed in measurement.connections]
    span = max(closes + [start + measurement.duration]) - start
    step = span / width
    clients = range(min(rows, measurement.clients))
    grid = {client: ([0.0] * width, [0.0] * width) for client in clients}
    for kind, intervals in ((0, served_intervals(measurement.connections)),
                            (1, waiting_intervals(measurement.connections))):
        for client, begin, end in intervals:
            if client in grid:
                _add(grid[client][kind], begin - start, end - start, step)
    return grid, span


def _add(cells, begin, end, step):
    """Add the interval [begin, end) to the cells it covers, as fractions."""
    first = max(0, int(begin / step))
    last = min(len(cells) - 1, int(end / step))
    for column in range(first, last + 1):
        covered = min(end, (column + 1) * step) - max(begin, column * step)
        if covered > 0:
            cells[column] = min(1.0, cells[column] + covered / step)


def shade(served, waiting):
    """The character for one cell, from its two fractions."""
    if served > 0.5:
        return SERVED
    if served > 0:
        return PART
    return WAITING if waiting > 0 else IDLE


def timeline_rows(measurement, width=60, rows=20):
    """The chart as ``(client, cells)`` pairs of text, and its span in seconds."""
    grid, span = timeline_fractions(measurement, width, rows)
    return [(client, "".join(map(shade, *grid[client]))) for client in sorted(grid)], span


def resolution_note(measurements, width=60):
    """A sentence for when connections are shorter than a cell (``churn``):
    what the picture cannot show at its resolution.  None when they are not."""
    lengths = [end - begin for m in measurements
               for _, begin, end in served_intervals(m.connections)]
    spans = [timeline_fractions(m, 1, rows=0)[1] for m in measurements]
    if not lengths or not spans:
        return None
    cell = max(spans) / width
    typical = sorted(lengths)[len(lengths) // 2]
    if typical >= cell:
        return None
    if typical < 0.001:
        short = Sentence("short in microseconds", length=typical * 1e6, cell=cell * 1000)
    else:
        short = Sentence("short in ms", length=typical * 1000, cell=cell * 1000)
    return short + Sentence("cannot tell")


def draw_timeline(measurement, width=60, rows=20):
    """The chart as lines of text, with a title and a time axis."""
    chart, span = timeline_rows(measurement, width, rows)
    shown = len(chart)
    title = f"{measurement.model}, {measurement.clients} client(s)"
    if shown < measurement.clients:
        title += f" (the first {shown} shown)"
    right = f"{span:.1f} s"
    lines = [title,
             f"{'':12}0 s{right:>{width - 3}}",
             *(f"client {client:>3}  {cells}|" for client, cells in chart)]
    return lines
