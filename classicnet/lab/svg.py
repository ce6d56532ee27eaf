"""The same pictures as an SVG file, written with the standard library only.

SVG is text: a list of shapes (``<rect>``, ``<text>``) with coordinates,
which any browser draws.  The file holds two bar charts (requests per
second, and p50/p99 latency, per model and number of clients) and the
timeline of every model for one number of clients.
"""

from xml.sax.saxutils import escape

from .report import ceilings, is_idle, limited, model_label, servers_only
from .timeline import timeline_fractions
from .words import word

__all__ = ["lab_svg", "model_color", "write_svg"]

WIDTH = 900
COLORS = {"plain": "#d62728", "threading": "#1f77b4", "forking": "#2ca02c",
          "pool": "#9467bd", "prefork": "#ff7f0e", "asyncio": "#7f7f7f"}
# Colours for a model not named above (a new one appears by itself).
MORE_COLORS = ("#8c564b", "#e377c2", "#17becf", "#bcbd22")
WAITING_COLOR = "#dddddd"
BAR_HEIGHT = 14
ROW_HEIGHT = 9
TIMELINE_CELLS = 300


def model_color(model):
    """The colour of *model* in every chart: its own, or one picked from its name."""
    if model in COLORS:
        return COLORS[model]
    return MORE_COLORS[sum(model.encode()) % len(MORE_COLORS)]


def _text(x, y, words, size=12, anchor="start", weight="normal"):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" '
            f'text-anchor="{anchor}" font-weight="{weight}">{escape(words)}</text>')


def _rect(x, y, width, height, color, title=None, opacity=1.0):
    tip = f"<title>{escape(title)}</title>" if title else ""
    faded = f' fill-opacity="{opacity:.1f}"' if opacity < 1 else ""
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width, 0.5):.1f}" '
            f'height="{height:.1f}" fill="{color}"{faded}>{tip}</rect>')


def _bar_chart(shapes, top, title, measurements, value, unit, rates=None, lang="en"):
    """Horizontal bars, one per measurement, scaled to the largest; a bar
    within 20% of the instrument's ceiling in *rates* is marked ``*``.
    Returns the y below the chart."""
    shapes.append(_text(10, top, title, 15, weight="bold"))
    y = top + 12
    values = [max(0, value(m) or 0) for m in measurements]
    largest = max(values + [1e-9])
    for m, amount in zip(measurements, values):
        label = word(lang, "svg bar", model=model_label(m), clients=m.clients)
        shapes.append(_text(290, y + BAR_HEIGHT - 3, label, 11, "end"))
        length = (WIDTH - 420) * amount / largest
        shapes.append(_rect(300, y, length, BAR_HEIGHT,
                            model_color(m.model), f"{amount:,.2f} {unit}"))
        mark = " *" if rates and limited(m, rates) else ""
        shapes.append(_text(305 + length, y + BAR_HEIGHT - 3,
                            (f"{amount:,.1f} {unit}" if unit else f"{amount:,.0f}")
                            + mark, 11))
        y += BAR_HEIGHT + 4
    return y + 20


def _runs(fractions):
    """``(first column, columns, fraction)`` runs of cells of one shade, the
    fractions rounded to tenths so that a bar is a few shapes, not hundreds."""
    runs = []
    for column, fraction in enumerate(fractions):
        tenth = round(fraction, 1)
        if runs and runs[-1][2] == tenth and runs[-1][0] + runs[-1][1] == column:
            runs[-1][1] += 1
        elif tenth > 0:
            runs.append([column, 1, tenth])
    return runs


def _timeline(shapes, top, measurement, lang="en"):
    """Each cell is shaded by the fraction of it the client was served (the
    colour) or waited (grey): the same fractions as the text timeline."""
    grid, span = timeline_fractions(measurement, TIMELINE_CELLS, rows=40)
    title = word(lang, "svg timeline", model=model_label(measurement),
                 clients=measurement.clients, span=span)
    shapes.append(_text(10, top, title, 13, weight="bold"))
    y = top + 8
    cell = (WIDTH - 120) / TIMELINE_CELLS
    color = model_color(measurement.model)
    for client in sorted(grid):
        served, waiting = grid[client]
        shapes.append(_text(105, y + ROW_HEIGHT - 1, word(lang, "svg client",
                                                          client=client), 8, "end"))
        waiting_only = [w if s == 0 else 0.0 for s, w in zip(served, waiting)]
        for fractions, fill in ((waiting_only, WAITING_COLOR), (served, color)):
            for column, columns, fraction in _runs(fractions):
                shapes.append(_rect(110 + column * cell, y, columns * cell,
                                    ROW_HEIGHT - 2, fill, opacity=fraction))
        y += ROW_HEIGHT
    return y + 24


def lab_svg(measurements, timeline_clients, workload_name, lang="en"):
    """The charts and the timelines for *timeline_clients*, as SVG text.

    The instrument's ceiling is named under the title but never drawn as a
    bar: it would set the scale, and the servers' bars are the lesson.
    """
    servers = servers_only(measurements)
    rates = ceilings(measurements)
    shapes = [_text(10, 24, word(lang, "svg title", name=workload_name), 18,
                    weight="bold")]
    if rates:
        figures = ", ".join(word(lang, "svg ceiling figure", rate=rate, clients=clients)
                            for clients, rate in rates.items())
        shapes.append(_text(10, 42, word(lang, "svg ceiling", figures=figures), 11))
    y = 66
    if is_idle(servers):
        charts = [("svg pss", lambda m: m.per_connection_kib("pss_kib"), "KiB"),
                  ("svg rss", lambda m: m.per_connection_kib("rss_kib"), "KiB"),
                  ("svg threads", lambda m: m.memory[1] and m.memory[1].threads, "")]
    else:
        y = _bar_chart(shapes, y, word(lang, "svg rate"), servers, lambda m: m.rate,
                       "req/s", rates, lang)
        charts = [("svg p50", lambda m: m.latency_ms(0.50), "ms"),
                  ("svg p99", lambda m: m.latency_ms(0.99), "ms")]
    for title, value, unit in charts:
        y = _bar_chart(shapes, y, word(lang, title), servers, value, unit, lang=lang)
    for m in servers:
        if m.clients == timeline_clients:
            y = _timeline(shapes, y, m, lang)
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y:.0f}" '
        f'viewBox="0 0 {WIDTH} {y:.0f}" font-family="sans-serif">',
        f'<rect width="{WIDTH}" height="{y:.0f}" fill="white"/>',
        *shapes, "</svg>"])


def write_svg(path, measurements, timeline_clients, workload_name):
    """Write ``lab_svg()`` to *path*."""
    with open(path, "w", encoding="utf-8") as file:
        file.write(lab_svg(measurements, timeline_clients, workload_name) + "\n")
