"""Watching a lab run as it goes: the progress line and the live lesson page.

A lab run of several workloads takes minutes.  ``run_lab`` tells each of
its *observers* when a run starts (``measuring``) and ends (``measured``);
the two here turn that into

* ``ProgressLine``, one line on a terminal, redrawn in place::

      [4/15] work: threading with 10 client(s), about 0:42 left

  and nothing at all when the output is a pipe or a file
  (``ProgressLine.on(stream)`` gives None), so what a script reads is
  the report alone;
* ``LivePage``, the lesson page (``page``) rewritten after every run, in
  every place it is asked for (the ``--html`` file, the folder ``--serve``
  serves), which reloads itself until the last run is done.
"""

import time

from .page import Lesson, lesson_page, write_page

__all__ = ["LivePage", "ProgressLine"]


class ProgressLine:
    """Which run is measuring, and about how long the lab has left."""

    def __init__(self, stream, total_runs, seconds_per_run):
        self.stream, self.total = stream, total_runs
        self.guess = seconds_per_run        # until a run has been timed
        self.done, self.started, self.spent = 0, None, 0.0

    @classmethod
    def on(cls, stream, total_runs, seconds_per_run):
        """A progress line on *stream* if it is a terminal; otherwise None."""
        isatty = getattr(stream, "isatty", None)
        return cls(stream, total_runs, seconds_per_run) if isatty and isatty() else None

    def measuring(self, settings, model, clients):
        self.started = time.monotonic()
        self._draw(f"[{self.done + 1}/{self.total}] {settings.workload.name}: {model} "
                   f"with {clients} client(s), about {self.left()} left")

    def measured(self, settings, measurements):
        """Clear the line: the report may print next, on the same terminal."""
        self.spent += time.monotonic() - self.started
        self.done += 1
        self._draw("")

    def left(self):
        """The runs still to go, at the average time of those done: m:ss."""
        each = self.spent / self.done if self.done else self.guess
        seconds = int(round(each * (self.total - self.done)))
        return f"{seconds // 60}:{seconds % 60:02d}"

    def _draw(self, text):
        # "\r" goes back to the start of the line, "\x1b[K" clears what is left of it.
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()


class LivePage:
    """The lesson page, rewritten to *paths* as the lab goes."""

    def __init__(self, paths, all_settings, lang, machine, timeline_clients):
        self.paths, self.lang, self.machine = list(paths), lang, machine
        self.lessons = {id(settings): Lesson(settings, [], timeline_clients(
            settings.client_counts)) for settings in all_settings}
        self.order = [id(settings) for settings in all_settings]
        self.now = None                 # what is being measured
        self.write()

    def measuring(self, settings, model, clients):
        self.now = f"{settings.workload.name}: {model} with {clients} client(s)"
        self.write()

    def measured(self, settings, measurements):
        self.lessons[id(settings)].measurements = list(measurements)
        self.write()

    def write(self, finished=False):
        text = lesson_page([self.lessons[key] for key in self.order], self.lang,
                           self.machine, self.now, finished)
        for path in self.paths:
            write_page(path, text)

    def finish(self):
        self.write(finished=True)
