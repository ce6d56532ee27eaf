"""Progress: a one-line bar on the terminal while a file travels.

    notes.md [############............]  50% 1.2 MiB/2.4 MiB 3.1 MiB/s 0:00 left

The file client calls its *progress* function as ``progress(done,
total)`` after every piece it sends or receives; a ``ProgressBar`` is
such a function.  It redraws its line in place (``\\r``, the carriage
return, goes back to the start of the line without a new one), at most
ten times a second however fast the calls come, and only on a terminal:
``ProgressBar.on(stream, label)`` gives None for a pipe or a file, so a
script that reads the command's output gets nothing extra.
"""

import time

from .text import printable

__all__ = ["ProgressBar", "human_bytes"]


class ProgressBar:
    """A one-line progress bar: bytes, percent, rate and time left.

    ``ProgressBar.on(stream)`` gives one only when *stream* is a terminal, so
    a piped or redirected command prints nothing extra.
    """

    WIDTH = 24

    def __init__(self, stream, label, interval=0.1):
        self.stream, self.label, self.interval = stream, label, interval
        self.started = time.monotonic()
        self.shown = 0.0
        self.drawn = False

    @classmethod
    def on(cls, stream, label):
        isatty = getattr(stream, "isatty", None)
        return cls(stream, label) if isatty and isatty() else None

    def __call__(self, done, total):
        now = time.monotonic()
        if done < total and now - self.shown < self.interval:
            return
        self.shown = now
        self.stream.write("\r" + self.line(done, total, now - self.started))
        self.stream.flush()
        self.drawn = True

    def line(self, done, total, elapsed):
        fraction = done / total if total else 1.0
        filled = int(fraction * self.WIDTH)
        rate = done / elapsed if elapsed > 0 else 0.0
        left = (total - done) / rate if rate else 0.0
        bar = "#" * filled + "." * (self.WIDTH - filled)
        return (f"{printable(self.label, 30)} [{bar}] "
                f"{fraction:4.0%} {human_bytes(done)}/{human_bytes(total)} "
                f"{human_bytes(rate)}/s {int(left) // 60}:{int(left) % 60:02d} left ")

    def close(self):
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def human_bytes(count):
    """``1536`` -> ``1.5 KiB``."""
    if count < 1024:
        return f"{count:.0f} B"
    for unit in ("KiB", "MiB", "GiB"):
        count /= 1024
        if count < 1024 or unit == "GiB":
            return f"{count:.1f} {unit}"
