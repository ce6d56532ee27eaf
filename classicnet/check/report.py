"""The checks' table rows, running them, and the report a person or a script reads.

A protocol module (``classicnet.check.echo``, ...) is a table of ``Check``
rows, one small function each::

    Check("1 MiB at once",
          sends="1 MiB in one sendall",
          expects="the same 1 MiB back",
          lesson="recv(1024) returns at most 1024 bytes: ...",
          see='docs/protocol.md, "Classic mistakes", 1',
          run=one_mebibyte)

``run_checks()`` runs each function with a fresh ``Probe``; a check
passes when its function returns, and fails when it raises ``Failed``
(or the connection breaks).  Either way the next check runs.  The
report is one line per check, then the summary::

    PASS  one byte: sent b'a', received b'a'
    FAIL  1 MiB at once: sent 1048576 bytes ..., received 1024 bytes ...: the
          connection failed ...; lesson: recv(1024) returns ... (see ...)
    9 of 11 checks passed; model seen: concurrent

(each on one line), or with ``--json`` one object holding the same.
"""

import json
from collections import namedtuple

from .conversation import CannotConnect, Failed
from .probe import Probe

__all__ = ["Check", "Report", "Result", "run_checks"]

Check = namedtuple("Check", "name sends expects lesson see run")
Check.__doc__ = """One row of a protocol's table: what it sends, what it expects,
the lesson that explains a failure and where to read it, the function."""

Result = namedtuple("Result", "check passed detail lesson see")
Result.__doc__ = """How one check went; a failure carries its lesson and
where to read it."""

# The lesson when no connection could be made at all: the check's own
# lesson would explain a mistake nobody could see.
NOT_LISTENING = ("nothing accepted the connection: start the server first, on "
                 "this host and port; if it was running, it stopped during an "
                 "earlier check", "README.md, \"Quick start\"")


def run_checks(checks, endpoint, timeout, needs_concurrency=False):
    """Run every check against *endpoint*; return a ``Report``.

    *needs_concurrency* fails a server that serves one client at a time.
    """
    results = []
    models = []
    for check in checks:
        probe = Probe(endpoint, timeout, needs_concurrency)
        results.append(_run_one(check, probe))
        if probe.model_seen:
            models.append(probe.model_seen)
    return Report(endpoint, results, models[0] if models else "unknown")


def _run_one(check, probe):
    try:
        note = check.run(probe)
    except Failed as error:
        # No connection at all: the server is not there.  A later connection
        # of this check refused: the server died of this check's mistake.
        nobody_there = isinstance(error, CannotConnect) and not probe.conversations
        lesson, see = NOT_LISTENING if nobody_there else (check.lesson, check.see)
        return Result(check, False, f"{probe.transcript()}: {error}", lesson, see)
    except OSError as error:
        # What a Conversation did not turn into Failed: a half-close or a
        # reset on a connection the server had already dropped, say.
        return Result(check, False, f"{probe.transcript()}: the connection "
                      f"failed ({error.strerror or error})", check.lesson, check.see)
    finally:
        probe.close_all()
    detail = probe.transcript()
    return Result(check, True, f"{detail}; {note}" if note else detail, None, None)


class Report:
    """The results of one run: ``lines()`` for people, ``as_json()`` for scripts."""

    def __init__(self, endpoint, results, model):
        self.endpoint = endpoint
        self.results = results
        self.model = model

    @property
    def passed(self):
        return sum(result.passed for result in self.results)

    @property
    def all_passed(self):
        return self.passed == len(self.results)

    def summary(self):
        return (f"{self.passed} of {len(self.results)} checks passed; "
                f"model seen: {self.model}")

    def lines(self):
        """One line per check, then the summary."""
        for result in self.results:
            if result.passed:
                yield f"PASS  {result.check.name}: {result.detail}"
            else:
                yield (f"FAIL  {result.check.name}: {result.detail}; lesson: "
                       f"{result.lesson} (see {result.see})")
        yield self.summary()

    def as_json(self, protocol):
        """One JSON object: the address, the counts, the model and every check."""
        return json.dumps({
            "protocol": protocol,
            "address": str(self.endpoint),
            "passed": self.passed,
            "total": len(self.results),
            "model": self.model,
            "checks": [{
                "name": result.check.name,
                "passed": result.passed,
                "sends": result.check.sends,
                "expects": result.check.expects,
                "detail": result.detail,
                "lesson": result.lesson,
                "see": result.see,
            } for result in self.results],
        }, ensure_ascii=False)
