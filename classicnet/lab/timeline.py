"""The timeline: every client connection as a bar, one row per client (a Gantt chart).

    plain, 4 clients          0 s                                 2.0 s
    client   0  ##....................##....................##...|
    client   1  .##.....................##....................##.|
    ...

Each character is a slice of time.  ``.`` means the client was connected
but not yet answered (it waits its turn in a waiting room or a queue);
``#`` means it was being served (from its first answer until it closed).
A plain server draws a staircase, one client after another; a threading
server draws every row solid at the same time.
"""

__all__ = ["WAITING", "SERVED", "timeline_rows", "draw_timeline"]

WAITING, SERVED, IDLE = ".", "#", " "


def timeline_rows(measurement, width=60, rows=20):
    """The chart as ``(client, cells)`` pairs for the first *rows* clients.

    The time axis runs from the opening of the measured window to the last
    close, cut into *width* equal cells.
    """
    start = measurement.start
    closes = [closed for _, _, _, closed in measurement.connections]
    end = max(closes + [start + measurement.duration])
    step = (end - start) / width
    grid = {client: [IDLE] * width for client in range(min(rows, measurement.clients))}

    def cell(moment):
        return min(width - 1, max(0, int((moment - start) / step)))

    for client, opened, first_answer, closed in measurement.connections:
        if client not in grid:
            continue
        row = grid[client]
        served_from = cell(first_answer if first_answer is not None else closed + step)
        for column in range(cell(opened), min(served_from, cell(closed) + 1)):
            if row[column] == IDLE:
                row[column] = WAITING
        if first_answer is not None:
            for column in range(served_from, cell(closed) + 1):
                row[column] = SERVED
    return [(client, "".join(grid[client])) for client in sorted(grid)], end - start


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
