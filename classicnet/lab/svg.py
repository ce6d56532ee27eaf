"""The same pictures as an SVG file, written with the standard library only.

SVG is text: a list of shapes (``<rect>``, ``<text>``) with coordinates,
which any browser draws.  The file holds two bar charts (requests per
second, and p50/p99 latency, per model and number of clients) and the
timeline of every model for one number of clients.
"""

from xml.sax.saxutils import escape

from .experiment import REFERENCE
from .report import model_label
from .timeline import SERVED, WAITING, timeline_rows

__all__ = ["write_svg"]

WIDTH = 900
COLORS = {"plain": "#d62728", "threading": "#1f77b4", "forking": "#2ca02c",
          "pool": "#9467bd", "prefork": "#ff7f0e", "asyncio": "#7f7f7f"}
WAITING_COLOR = "#dddddd"
BAR_HEIGHT = 14
ROW_HEIGHT = 9
TIMELINE_CELLS = 300


def _text(x, y, words, size=12, anchor="start", weight="normal"):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" '
            f'text-anchor="{anchor}" font-weight="{weight}">{escape(words)}</text>')


def _rect(x, y, width, height, color, title=None):
    tip = f"<title>{escape(title)}</title>" if title else ""
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width, 0.5):.1f}" '
            f'height="{height:.1f}" fill="{color}">{tip}</rect>')


def _bar_chart(shapes, top, title, measurements, value, unit):
    """Horizontal bars, one per measurement; returns the y below the chart."""
    shapes.append(_text(10, top, title, 15, weight="bold"))
    y = top + 12
    values = [value(m) or 0 for m in measurements]
    largest = max(values + [1e-9])
    for m, amount in zip(measurements, values):
        label = f"{model_label(m)}, {m.clients} client(s)"
        shapes.append(_text(290, y + BAR_HEIGHT - 3, label, 11, "end"))
        length = (WIDTH - 420) * amount / largest
        shapes.append(_rect(300, y, length, BAR_HEIGHT,
                            COLORS.get(m.model, "#000"), f"{amount:,.2f} {unit}"))
        shapes.append(_text(305 + length, y + BAR_HEIGHT - 3,
                            f"{amount:,.1f} {unit}", 11))
        y += BAR_HEIGHT + 4
    return y + 20


def _timeline(shapes, top, measurement):
    chart, span = timeline_rows(measurement, TIMELINE_CELLS, rows=40)
    title = f"timeline: {model_label(measurement)}, {measurement.clients} client(s), " \
            f"{span:.2f} s (grey: waiting, colour: being served)"
    shapes.append(_text(10, top, title, 13, weight="bold"))
    y = top + 8
    cell = (WIDTH - 120) / TIMELINE_CELLS
    color = COLORS.get(measurement.model, "#000")
    for client, cells in chart:
        shapes.append(_text(105, y + ROW_HEIGHT - 1, f"client {client}", 8, "end"))
        column = 0
        while column < len(cells):
            mark = cells[column]
            run = column
            while run < len(cells) and cells[run] == mark:
                run += 1
            if mark in (WAITING, SERVED):
                shapes.append(_rect(110 + column * cell, y, (run - column) * cell,
                                    ROW_HEIGHT - 2,
                                    color if mark == SERVED else WAITING_COLOR))
            column = run
        y += ROW_HEIGHT
    return y + 24


def write_svg(path, measurements, timeline_clients, workload_name):
    """Write the charts and the timelines for *timeline_clients* to *path*."""
    shapes = [_text(10, 24, f"classicnet lab: workload {workload_name}", 18,
                    weight="bold")]
    y = _bar_chart(shapes, 56, "requests per second (more is better)",
                   measurements, lambda m: m.rate, "req/s")
    y = _bar_chart(shapes, y, "p50 latency (less is better)",
                   measurements, lambda m: m.latency_ms(0.50), "ms")
    y = _bar_chart(shapes, y, "p99 latency (less is better)",
                   measurements, lambda m: m.latency_ms(0.99), "ms")
    for m in measurements:
        if m.clients == timeline_clients and m.model != REFERENCE:
            y = _timeline(shapes, y, m)
    document = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y:.0f}" '
        f'viewBox="0 0 {WIDTH} {y:.0f}" font-family="sans-serif">',
        f'<rect width="{WIDTH}" height="{y:.0f}" fill="white"/>',
        *shapes, "</svg>"]
    with open(path, "w", encoding="utf-8") as file:
        file.write("\n".join(document) + "\n")
