"""``classicnet check`` against servers with the classic mistakes, and against
the course notes' own servers: the right check fails, with the right lesson.

The gallery (``tests/gallery/``) is a student's raw-socket echo server and
CNFP/1 file server, each with one mistake chosen on its command line.  The
course notes' servers (``tests/seed_servers/``) run unchanged but for their
address; for them the test asserts exactly which checks pass.
"""

import glob
import os
import re
import sys

import pytest

from classicnet.check import check_server
from classicnet.endpoints import Endpoint

from conftest import student_server

HERE = os.path.dirname(os.path.abspath(__file__))
GALLERY = os.path.join(HERE, "gallery")
SEED_SERVERS = os.path.join(HERE, "seed_servers")

# The course servers and some mistakes make a check wait its whole timeout.
CHECK_TIMEOUT = 5

# The harness's only addition to a course server: once it listens, it says
# where (the notes' servers print nothing useful, and some nothing at all).
ANNOUNCE_LISTENING = """\
import socket as _socket
_listen = _socket.socket.listen
def _announce(self, *args):
    _listen(self, *args)
    print("listening on %s:%d" % self.getsockname()[:2], flush=True)
_socket.socket.listen = _announce
"""


def failures(report):
    return {result.check.name: result for result in report.results if not result.passed}


def run_check(protocol, address, **options):
    return check_server(protocol, Endpoint("tcp", address), CHECK_TIMEOUT, **options)


# --- the gallery -----------------------------------------------------------

# mistake -> the check that must fail, words of its lesson, and the other
# checks that may fail with it (the same mistake, seen from another side)
STREAM_MISTAKES = {
    "one_recv": ("1 MiB at once", "recv(1024) returns at most 1024 bytes",
                 {"one message in three pieces"}),
    "ignores_empty": ("empty send", "an empty line is a message like any other", set()),
    "dies_on_reset": ("vanished client", "ConnectionResetError", set()),
}
FILES_MISTAKES = {
    "counts_1024": ("upload in pieces", "not the bytes asked for (recv_size += 1024)",
                    {"several MiB", "two uploads in one piece"}),
    "recv4": ("prefix in pieces", "recv(4) returns at most 4 bytes", set()),
    "reads_past_end": ("two uploads in one piece", "never recv() more than the body "
                       "has left", set()),
    "joins_name": ("../ refused", "never join a client's name onto a path",
                   {"absolute path refused", "name with / refused"}),
    "writes_in_place": ("cut upload", "write an upload under a temporary name", set()),
}


def assert_caught(report, check, lesson, may_fail_too):
    failed = failures(report)
    assert check in failed, report.summary()
    assert lesson in failed[check].lesson
    assert set(failed) - {check} <= may_fail_too, list(report.lines())


@pytest.mark.parametrize("mistake", ["none", *STREAM_MISTAKES])
def test_an_echo_server_with_a_classic_mistake(mistake):
    command = [sys.executable, "stream_server.py", mistake, "0"]
    with student_server(command, GALLERY) as address:
        report = run_check("echo", address)
    if mistake == "none":
        assert report.all_passed, list(report.lines())
    else:
        assert_caught(report, *STREAM_MISTAKES[mistake])


def test_a_server_for_one_client_at_a_time_passes_unless_concurrency_is_asked():
    command = [sys.executable, "stream_server.py", "one_at_a_time", "0"]
    with student_server(command, GALLERY) as address:
        plain = run_check("echo", address)
        asked = run_check("echo", address, needs_concurrency=True)
    assert plain.all_passed and plain.model == "plain"
    assert_caught(asked, "two clients at once", "a thread or process per client", set())


@pytest.mark.parametrize("mistake", ["none", *FILES_MISTAKES])
def test_a_file_server_with_a_classic_mistake(mistake, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    command = [sys.executable, "files_server.py", mistake, "0", str(root)]
    escaped = set(glob.glob("/tmp/check-*-escape"))
    try:
        with student_server(command, GALLERY) as address:
            report = run_check("files", address)
    finally:
        # an absolute name lands where it says: clear what this run put there
        for path in set(glob.glob("/tmp/check-*-escape")) - escaped:
            os.remove(path)
    if mistake == "none":
        assert report.all_passed, list(report.lines())
        assert os.listdir(tmp_path) == ["root"]
    else:
        assert_caught(report, *FILES_MISTAKES[mistake])


# --- the course notes' own servers ------------------------------------------

def seed_server(filename):
    """A course server's code with its address (only that) made 127.0.0.1:0."""
    with open(os.path.join(SEED_SERVERS, filename), encoding="utf-8") as source:
        code = source.read()
    code, replaced = re.subn(r"\(\s*'[\d.]+'\s*,\s*\d+\s*\)", "('127.0.0.1', 0)", code)
    assert replaced == 1, "exactly one address in the course server"
    return [sys.executable, "-c", ANNOUNCE_LISTENING + code]


def test_the_course_hello_server():
    # It answers Hello,NAME! (no space, taken leniently) after a second's
    # sleep, taking each recv() whole as the name: newlines included.
    with student_server(seed_server("seed003_hello_server.py"), HERE) as address:
        report = run_check("hello", address)
    assert sorted(failures(report)) == [
        "a name and its newline", "empty line", "half-close", "not UTF-8",
        "three names in one piece"]
    assert report.summary() == "6 of 11 checks passed; model seen: concurrent"
    newline = failures(report)["a name and its newline"]
    assert "received b'Welcome!Hello,Bob\\n!'" in newline.detail


@pytest.mark.parametrize("filename", ["seed004_upper_server.py",
                                      "seed004_upper_loop_server.py"])
def test_the_course_upper_servers_answer_once_then_stop(filename):
    # The first serves one message of one client and ends; the second closes
    # the connection inside its loop, and its next recv() kills it (EBADF).
    with student_server(seed_server(filename), HERE) as address:
        report = run_check("upper", address)
    passed = [result.check.name for result in report.results if result.passed]
    assert passed == ["one byte"]
    assert report.summary() == "1 of 11 checks passed; model seen: unknown"
