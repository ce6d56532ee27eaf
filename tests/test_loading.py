"""Running a student's own handler: from a file, from a module, by --load."""

import os
import socketserver
import textwrap

import pytest

from classicnet import loading
from classicnet.cli import main
from classicnet.errors import UsageError
from classicnet.registry import HANDLERS
from classicnet.testing import connect
from conftest import ROOT, run_cli

EXAMPLES = os.path.join(ROOT, "examples")

SHOUT = '''\
import socketserver

from classicnet import register


@register("shout", "tcp")
class ShoutHandler(socketserver.StreamRequestHandler):
    """Answers each line upper-cased, with an exclamation mark."""

    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.strip().upper() + b"!\\n")


class NotAHandler:
    pass
'''


def write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def shout_once(address):
    with connect(address) as client:
        client.send(b"hey\n")
        return client.recv_until(b"\n")


def test_serves_a_class_from_a_file(cli, tmp_path):
    write(tmp_path, "shout.py", SHOUT)
    server = cli("shout.py:ShoutHandler", "--threading", cwd=tmp_path)
    assert shout_once(server.address) == b"HEY!\n"


def test_serves_the_only_handler_class_in_a_file_without_naming_it(cli, tmp_path):
    write(tmp_path, "shout.py", SHOUT)
    server = cli("shout.py", "--threading", cwd=tmp_path)
    assert server.ready_line.startswith(
        "classicnet: serving ShoutHandler (threading, tcp)")
    assert shout_once(server.address) == b"HEY!\n"


def test_a_file_with_several_handler_classes_gets_a_line_that_lists_them(tmp_path):
    write(tmp_path, "both.py", SHOUT + """

class WhisperHandler(ShoutHandler):
    \"\"\"Answers each line lower-cased.\"\"\"
""")
    result = run_cli("both.py", "--port", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == ("classicnet: both.py defines 2 handler classes: "
                             "ShoutHandler, WhisperHandler; name one, as in "
                             "both.py:ShoutHandler\n")


def test_serves_a_class_from_a_module(cli, tmp_path):
    write(tmp_path, "homework/__init__.py", "")
    write(tmp_path, "homework/shout.py", SHOUT)
    server = cli("homework.shout:ShoutHandler", cwd=tmp_path)
    assert shout_once(server.address) == b"HEY!\n"


def test_serves_a_name_registered_in_a_loaded_file(cli, tmp_path):
    write(tmp_path, "shout.py", SHOUT)
    server = cli("--load", "shout.py", "shout", cwd=tmp_path)
    assert shout_once(server.address) == b"HEY!\n"


def test_serves_the_tutorials_udp_handler_with_its_option(cli):
    spec = os.path.join(EXAMPLES, "clock.py") + ":TimeHandler"
    server = cli(spec, "--utc")
    with connect(server.address, "udp") as client:
        assert client.request(b"now?").endswith(b"+00:00\n")


@pytest.mark.parametrize("spec, message", [
    ("missing.py:Handler", "no such file: 'missing.py'"),
    ("shout.py:Nope", "shout.py has no class 'Nope'; it has ShoutHandler"),
    ("shout.py:NotAHandler", "NotAHandler in shout.py is not a request handler class"),
    ("nosuchmodule:Handler", "no module named 'nosuchmodule'"),
    ("empty.py:Handler", "defines no request handler class"),
    ("empty.py", "empty.py defines no request handler class"),
    ("missing.py", "no such file: 'missing.py'"),
    ("notes.txt:Handler", "is not a Python file"),
])
def test_a_wrong_spec_is_one_line_and_status_2(tmp_path, spec, message):
    write(tmp_path, "shout.py", SHOUT)
    write(tmp_path, "empty.py", "")
    write(tmp_path, "notes.txt", "")
    result = run_cli(spec, "--port", "0", cwd=tmp_path)
    assert result.returncode == 2
    error = result.stderr
    assert error.startswith("classicnet: ") and message in error
    assert error.count("\n") == 1


def test_a_transport_the_class_cannot_serve_is_one_line(tmp_path):
    write(tmp_path, "shout.py", SHOUT)
    result = run_cli("shout.py:ShoutHandler", "--udp", "--port", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == \
        "classicnet: ShoutHandler is a tcp handler and cannot serve udp\n"


@pytest.mark.parametrize("source, last_line", [
    ("import socketserver\n\nclass Broken(:\n    pass\n", "SyntaxError"),
    ("import socketserver\n\nvalue = 1 / 0\n", "ZeroDivisionError: division by zero"),
    ("import no_such_helper_module\n", "ModuleNotFoundError"),
])
def test_an_error_in_the_students_file_shows_their_traceback_only(tmp_path, source,
                                                                  last_line):
    write(tmp_path, "mine.py", source)
    for spec in ("mine.py:Handler", "mine:Handler"):
        result = run_cli(spec, "--port", "0", cwd=tmp_path)
        report = result.stderr
        assert result.returncode == 1
        assert 'mine.py", line 3' in report or 'mine.py", line 1' in report
        assert report.strip().splitlines()[-1].startswith(last_line)
        assert "classicnet" not in report            # none of our frames
        assert "importlib" not in report


@pytest.fixture
def restored_registry():
    """The student's file registers into the real registry: undo that afterwards."""
    saved = dict(HANDLERS)
    yield
    HANDLERS.clear()
    HANDLERS.update(saved)


def test_a_students_handler_is_served_by_name_under_load_only_once(tmp_path,
                                                                 restored_registry):
    path = write(tmp_path, "counted.py", '''\
        import socketserver
        from classicnet import register

        @register("counted-loading-test", "tcp")
        class CountedHandler(socketserver.BaseRequestHandler):
            """Counts nothing."""
        ''')
    first = loading.load_file(str(path))
    assert loading.load_file(str(path)) is first     # not registered twice
    handler = loading.find_handler(f"{path}:CountedHandler")
    assert handler is first.CountedHandler
    assert loading.find_handler("echo") == "echo"
    entry = loading.entry_for(handler)
    assert (entry.name, entry.kinds, entry.help) == \
        ("CountedHandler", ("tcp",), "Counts nothing.")


@pytest.mark.parametrize("text, is_spec", [
    ("echo", False), ("file.py:Class", True), ("pkg.mod:Class", True),
    (r"C:\homework\mine.py:Class", True), ("file.py:", False), (":Class", False),
    ("file.py:not-a-name", False), ("rev2.py", True), ("dir/rev2.py", True),
])
def test_is_spec_tells_a_spec_from_a_name(text, is_spec):
    assert loading.is_spec(text) is is_spec


def test_a_module_whose_parent_package_raises_is_the_students_error(tmp_path,
                                                                     monkeypatch):
    write(tmp_path, "brokenpkg_for_loading/__init__.py", "raise RuntimeError('oops')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(loading.StudentCodeError) as raised:
        loading.load_spec("brokenpkg_for_loading.mod:Handler")
    assert raised.value.report.endswith("RuntimeError: oops\n")
    with pytest.raises(UsageError, match="no module named 'nosuch_for_loading.mod'"):
        loading.load_spec("nosuch_for_loading.mod:Handler")


def test_the_classes_a_module_defines_are_offered(tmp_path):
    path = write(tmp_path, "offers_for_loading.py", '''\
        import socketserver
        from socketserver import StreamRequestHandler   # imported, not defined

        class B(socketserver.BaseRequestHandler): pass
        class A(socketserver.StreamRequestHandler): pass
        ''')
    module = loading.load_file(str(path))
    assert loading.handler_classes_in(module) == ["A", "B"]
    assert socketserver.StreamRequestHandler is module.StreamRequestHandler


def test_an_unknown_name_is_still_argparses_error(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["reverze", "--port", "0"])
    assert exit.value.code == 2
    assert "unknown handler 'reverze'" in capsys.readouterr().err


def test_load_of_a_missing_file_is_one_line(capsys):
    assert main(["--load", "no_such_file.py", "echo", "--port", "0"]) == 2
    assert capsys.readouterr().err == "classicnet: no such file: 'no_such_file.py'\n"
