"""``classicnet new NAME``, and the homework tutorial followed word for word."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from classicnet.scaffold import class_name, write_starter
from classicnet.errors import UsageError
from classicnet.testing import connect
from conftest import ROOT, TIMEOUT, classicnet_env, run_cli

EXAMPLES = os.path.join(ROOT, "examples")
DOCS = [os.path.join(ROOT, "docs", name) for name in ("homework.md", "homework.zh-CN.md")]


def pytest_in(folder, *args):
    """Run ``python -m pytest ARGS`` in *folder*, as a student would."""
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           *args], cwd=folder, env=classicnet_env(),
                          capture_output=True, text=True, timeout=TIMEOUT * 3)


def shell(line):
    """The arguments of a ``$ python -m classicnet ...`` line of the tutorial."""
    assert line.startswith("python -m classicnet ")
    return line.split()[3:]


def doc_commands(path):
    """Every ``$ command`` line of a tutorial's console blocks."""
    with open(path, encoding="utf-8") as file:
        return re.findall(r"^\$ (.+)$", file.read(), flags=re.MULTILINE)


# --- classicnet new ---------------------------------------------------------

def test_new_writes_a_handler_and_a_test_that_passes(tmp_path):
    result = run_cli("new", "word_count", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == \
        "wrote word_count.py and test_word_count.py"
    assert "class WordCountHandler(" in (tmp_path / "word_count.py").read_text()
    assert pytest_in(tmp_path, "test_word_count.py").returncode == 0


def test_new_udp_writes_a_datagram_handler_whose_test_passes(tmp_path):
    assert run_cli("new", "ping", "--udp", cwd=tmp_path).returncode == 0
    assert 'register("ping", "udp")' in (tmp_path / "ping.py").read_text()
    assert pytest_in(tmp_path, "test_ping.py").returncode == 0


@pytest.mark.parametrize("name, message", [
    ("time", "'time' would hide Python's own module 'time'; pick another name, "
             "such as 'time_server'"),
    ("client", "'client' is a classicnet command word"),
    ("chargen", "'chargen' is already a classicnet handler"),
    ("my-handler", "'my-handler' cannot name a module"),
    ("class", "'class' cannot name a module"),
])
def test_new_refuses_names_that_would_break(tmp_path, name, message):
    result = run_cli("new", name, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert os.listdir(tmp_path) == []


def test_new_never_overwrites_a_file(tmp_path):
    (tmp_path / "test_reverse.py").write_text("mine")
    with pytest.raises(UsageError, match="test_reverse.py already exists"):
        write_starter("reverse", folder=str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["test_reverse.py"]
    assert (tmp_path / "test_reverse.py").read_text() == "mine"


def test_class_names_are_camel_case():
    assert class_name("reverse") == "ReverseHandler"
    assert class_name("word_count") == "WordCountHandler"


# --- the tutorial, word for word --------------------------------------------

REVERSE_STEPS = [
    "python -m classicnet new reverse",
    "python -m pytest test_reverse.py",
    "python -m classicnet reverse.py:ReverseHandler --threading",
    "python -m classicnet --load reverse.py reverse --threading",
    "python -m classicnet client --tcp",
    "printf 'hello\\n' | python -m classicnet client --tcp",
]
CHECK_STEPS = [
    "python -m classicnet reverse.py --threading",
    "python -m classicnet check echo",
]
TIME_STEPS = [
    "python -m classicnet new clock --udp",
    "python -m pytest test_clock.py",
    "python -m classicnet clock.py:TimeHandler --utc",
    "python -m classicnet client --udp",
    "printf 'what time is it?\\n' | python -m classicnet client --udp",
    "python -m pytest -p classicnet.pytest_plugin test_clock.py",
    "python -m classicnet reverse.py:ReverseHandler --threading --trace",
]


@pytest.mark.parametrize("doc", DOCS, ids=os.path.basename)
def test_the_tutorials_commands_are_the_tested_ones(doc):
    commands = set(doc_commands(doc))
    steps = set(REVERSE_STEPS + TIME_STEPS + CHECK_STEPS)
    tested = steps | {
        INSTALL, "mkdir homework", "cd homework",
        "nc 127.0.0.1 9000", "nc -u 127.0.0.1 9000"}
    assert commands - tested == set()
    assert steps - commands == set()


# Installing the test extra is what makes pytest there for a new student;
# tests/test_homework_venv.py runs this line in a clean virtual environment.
INSTALL = "python -m pip install -e '.[test]'"


def shown_check_lines(doc):
    """The first and last lines of the tutorial's example of check's report."""
    with open(doc, encoding="utf-8") as file:
        block = file.read().split("$ python -m classicnet check echo\n", 1)[1]
    lines = block.split("```", 1)[0].splitlines()
    return lines[0], lines[-1]


def replace_with_example(folder, name):
    """The tutorial's "replace the contents of NAME with this"."""
    shutil.copy(os.path.join(EXAMPLES, name), folder / name)


def test_the_tutorial_word_for_word(cli, tmp_path):
    folder = tmp_path / "homework"
    folder.mkdir()

    # 1. a starting handler and a test that passes
    new = run_cli(*shell(REVERSE_STEPS[0]), cwd=folder)
    assert new.stdout.splitlines() == [
        "wrote reverse.py and test_reverse.py",
        "run it:   python -m classicnet reverse.py:ReverseHandler",
        "test it:  python -m pytest test_reverse.py"]
    assert "1 passed" in pytest_in(folder, "test_reverse.py").stdout
    with cli(*shell(CHECK_STEPS[0]), cwd=folder) as server:
        assert server.ready_line.startswith(
            "classicnet: serving ReverseHandler (threading, tcp) on 127.0.0.1:")
        check = run_cli(*shell(CHECK_STEPS[1]), "--port", str(server.address[1]))
    assert check.returncode == 0, check.stdout
    lines = check.stdout.splitlines()
    for doc in DOCS:
        assert shown_check_lines(doc) == (lines[0], lines[-1])

    # 3.-5. the reverse handler: run it, talk to it, test it
    replace_with_example(folder, "reverse.py")
    starter_test = pytest_in(folder, "test_reverse.py")
    assert starter_test.returncode == 1
    assert "assert b'olleh\\n' == b'hello\\n'" in starter_test.stdout
    assert "Timeout" not in starter_test.stdout
    for step in REVERSE_STEPS[2:4]:
        with cli(*shell(step), cwd=folder) as server:
            piped = run_cli("client", "--tcp", "--port", str(server.address[1]),
                            input="hello\n你好\n".encode())
        assert piped.stdout == "olleh\n好你\n".encode()
    replace_with_example(folder, "test_reverse.py")
    assert "3 passed" in pytest_in(folder, "test_reverse.py").stdout

    # 6. the time handler over UDP
    assert run_cli(*shell(TIME_STEPS[0]), cwd=folder).returncode == 0
    assert "1 passed" in pytest_in(folder, "test_clock.py").stdout
    replace_with_example(folder, "clock.py")
    with cli(*shell(TIME_STEPS[2]), cwd=folder) as server:
        assert server.readline() == "  utc: True\n"
        piped = run_cli("client", "--udp", "--port", str(server.address[1]),
                        input=b"what time is it?\n")
    assert piped.stdout.endswith(b"+00:00\n")
    replace_with_example(folder, "test_clock.py")
    assert "1 passed" in pytest_in(folder, "-p", "classicnet.pytest_plugin",
                                   "test_clock.py").stdout

    # 7. --trace
    with cli(*shell(TIME_STEPS[-1]), cwd=folder) as server:
        with connect(server.address) as client:
            client.send(b"abc\n")
            assert client.recv_until(b"\n") == b"cba\n"
        assert "shutdown_request [Thread-" in server.stderr()
