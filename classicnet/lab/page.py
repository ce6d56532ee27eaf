"""The lesson as one HTML page, for a classroom projector.

    python -m classicnet lab --workload slow,work,idle --html lesson.html

The page holds everything the terminal shows, one section per workload:
the settings and the machine, the instrument's ceiling, the table, what its
columns mean, the sentences, and the charts and timelines as inline SVG.
It is self-contained: its style is inline CSS, its pictures inline SVG, and
it runs no script, so it opens offline, from a USB stick, in any browser.

While the lab runs, the page says what is being measured and asks the
browser to reload it every few seconds (``<meta http-equiv="refresh">``,
plain HTML, no JavaScript); the finished page does not.  It is always
replaced whole (written beside its final name, then renamed), so a browser
never reads half a page.
"""

import html
import os
import tempfile
from dataclasses import dataclass, field

from .conclusions import conclusions
from .report import ceilings, cpu_unmeasured, is_idle, servers_only, table
from .svg import TIMELINE_CELLS, lab_svg
from .timeline import resolution_note
from .words import word

__all__ = ["Lesson", "lesson_page", "write_page"]

# Seconds between two reloads while the lab runs.
REFRESH = 2

STYLE = """
body { font-family: sans-serif, "Noto Sans CJK SC", "WenQuanYi Zen Hei", "PingFang SC",
       "Microsoft YaHei"; margin: 1.5em auto; max-width: 960px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid #1f77b4; margin-top: 2em; }
p.status { background: #fff3cd; padding: .5em; } p.status.done { background: #d4edda; }
table { border-collapse: collapse; font-size: .95em; }
th, td { border: 1px solid #bbb; padding: .25em .6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead { background: #eef; }
ul.notes { color: #555; font-size: .9em; }
figure { margin: 1em 0; overflow-x: auto; }
"""


@dataclass
class Lesson:
    """One workload's part of the page: its settings and what is measured so far."""

    settings: object                    # experiment.Settings
    measurements: list = field(default_factory=list)
    timeline_clients: int = None


def lesson_page(lessons, lang="en", machine="", now=None, finished=False):
    """The page as text.  *now* says what is being measured (while running);
    *finished* drops the reload."""
    escape = html.escape
    head = [f'<meta charset="utf-8">',
            f'<meta name="viewport" content="width=device-width">',
            f"<title>{escape(word(lang, 'title'))}</title>",
            f"<style>{STYLE}</style>"]
    if not finished:
        head.insert(1, f'<meta http-equiv="refresh" content="{REFRESH}">')
    if finished:
        status = f'<p class="status done">{escape(word(lang, "status done"))}</p>'
    elif now:
        status = f'<p class="status">{escape(word(lang, "status running", now=now))}</p>'
    else:
        status = f'<p class="status">{escape(word(lang, "status starting"))}</p>'
    body = [f"<h1>{escape(word(lang, 'title'))}</h1>",
            f"<p>{escape(word(lang, 'machine'))}: "
            f"{escape(machine.replace('machine: ', '', 1))}</p>", status]
    for lesson in lessons:
        body += _section(lesson, lang)
    return ("<!DOCTYPE html>\n"
            f'<html lang="{"zh-CN" if lang == "zh" else "en"}">\n<head>\n'
            + "\n".join(head) + "\n</head>\n<body>\n" + "\n".join(body)
            + "\n</body>\n</html>\n")


def _section(lesson, lang):
    """One workload: settings, instrument, table, notes, sentences, pictures."""
    escape = html.escape
    settings, measurements = lesson.settings, lesson.measurements
    name = settings.workload.name
    parts = [f'<section id="workload-{escape(name)}">',
             f"<h2>{escape(word(lang, 'workload', name=name))}</h2>",
             f"<p>{escape(word(lang, 'workload ' + name))}</p>",
             "<p>" + escape(word(
                 lang, "settings", clients=", ".join(map(str, settings.client_counts)),
                 duration=settings.duration, requests=settings.per_connection,
                 models=", ".join(settings.models))) + "</p>"]
    if settings.skipped:
        parts.append("<p>" + escape(word(lang, "skipped",
                                         reasons="; ".join(settings.skipped))) + "</p>")
    if not servers_only(measurements):
        return parts + [f"<p>{escape(word(lang, 'not yet'))}</p>", "</section>"]
    rates = ceilings(measurements)
    if rates:
        figures = ", ".join(word(lang, "svg ceiling figure", rate=rate, clients=clients)
                            for clients, rate in rates.items())
        parts.append(f'<p class="instrument">'
                     f'{escape(word(lang, "instrument", figures=figures))}</p>')
    parts += _table(measurements, lang)
    parts += _sentences(conclusions(measurements, settings), lang)
    parts.append(f"<h3>{escape(word(lang, 'pictures'))}</h3>")
    parts.append("<figure>" + lab_svg(measurements, lesson.timeline_clients, name, lang)
                 + "</figure>")
    shown = [m for m in servers_only(measurements) if m.clients == lesson.timeline_clients]
    note = resolution_note(shown, TIMELINE_CELLS)
    if note:
        parts.append(f"<p>{escape(note.say(lang))}</p>")
    return parts + ["</section>"]


def _table(measurements, lang):
    """The table, a row per server tagged with its model, and what it means."""
    escape = html.escape
    columns, rows, _ = table(measurements)
    parts = ["<table><thead><tr>" + "".join(
        f"<th>{escape(column)}</th>" for column in columns) + "</tr></thead><tbody>"]
    for m, row in zip(servers_only(measurements), rows):
        parts.append(f'<tr data-model="{escape(m.model)}">' + "".join(
            f"<td>{escape(cell)}</td>" for cell in row) + "</tr>")
    notes = word(lang, "idle notes" if is_idle(measurements) else "notes")
    if cpu_unmeasured(measurements):
        notes = notes + [word(lang, "cpu not measured")]
    return parts + ["</tbody></table>",
                    f"<h3>{escape(word(lang, 'how to read'))}</h3>",
                    '<ul class="notes">' + "".join(
                        f"<li>{escape(note)}</li>" for note in notes) + "</ul>"]


def _sentences(sentences, lang):
    """What the numbers show, if they show anything."""
    if not sentences:
        return []
    escape = html.escape
    return [f"<h3>{escape(word(lang, 'what it shows'))}</h3>",
            "<ul>" + "".join(f"<li>{escape(s.say(lang))}</li>" for s in sentences)
            + "</ul>"]


def write_page(path, text):
    """Replace the file at *path* with *text* at once: never half a page."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".lesson-", suffix=".html")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
