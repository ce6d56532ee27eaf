"""The command line as a user runs it: a real subprocess, real signals."""

import signal
import socket
import subprocess
import sys

import pytest
from conftest import MODELS, ROOT, TIMEOUT, classicnet_command, needs, run_cli

from classicnet import __version__
from classicnet.endpoints import address_in_line
from classicnet.registry import COMMAND_WORDS


def connect(address):
    return socket.create_connection(address, timeout=TIMEOUT)


def test_the_readiness_line_names_the_real_address(cli):
    server = cli("echo", "--threading")
    host, port = address_in_line(server.ready_line)
    assert host == "127.0.0.1" and port > 0
    assert server.ready_line == f"classicnet: serving echo (threading, tcp) on {host}:{port}\n"
    with connect(server.address) as client:
        client.sendall(b"hi\n")
        assert client.recv(10) == b"hi\n"


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_server_with_an_idle_client_connected(cli, model, stop_signal):
    server = cli("echo", f"--{model}", "--grace", "0.2")
    with connect(server.address) as client:
        client.sendall(b"x")
        assert client.recv(1) == b"x"
        server.send_signal(stop_signal)
        assert server.wait() == 0
        assert client.recv(10) == b""            # the server closed our connection
    assert "Traceback" not in server.stderr()


def test_a_second_signal_cuts_clients_at_once(cli):
    server = cli("echo", "--threading", "--grace", "60", "-v")
    with connect(server.address) as client:
        client.sendall(b"x")
        assert client.recv(1) == b"x"
        server.send_signal(signal.SIGINT)
        server.wait_for_log("SIGINT received")
        server.send_signal(signal.SIGINT)
        assert server.wait() == 0                # long before the 60 s grace
        assert client.recv(10) == b""
    assert "1 cut off" in server.stderr()


def test_the_same_port_can_be_used_again_at_once(cli):
    first = cli("echo", "--threading", "--grace", "0.1")
    port = str(first.address[1])
    client = connect(first.address)
    client.sendall(b"x")
    assert client.recv(1) == b"x"
    first.send_signal(signal.SIGINT)
    assert first.wait() == 0
    second = cli("echo", "--threading", "--port", port)
    assert second.address[1] == int(port)
    client.close()


def test_verbose_logs_name_the_client_thread_and_process(cli):
    server = cli("echo", "--threading", "-v")
    with connect(server.address) as client:
        client.sendall(b"x")
        assert client.recv(1) == b"x"
        local = client.getsockname()
    server.send_signal(signal.SIGTERM)
    server.wait()
    log = server.stderr()
    assert f"connection from 127.0.0.1:{local[1]} served by Thread-" in log
    assert f"in process {server.pid}" in log


def test_a_handler_setting_is_shown_and_client_bytes_in_logs_are_escaped(cli):
    server = cli("hello", "-vv")
    with connect(server.address) as client:
        assert client.recv(9) == b"Welcome!\n"
        client.sendall(b"\x1b[2Jevil\n")
        assert client.recv(100) == b"Hello, \x1b[2Jevil!\n"
    server.send_signal(signal.SIGTERM)
    server.wait()
    log = server.stderr()
    assert "\\x1b[2Jevil" in log
    assert "\x1b" not in log


@pytest.mark.parametrize("args, message", [
    (["ecko"], "unknown handler 'ecko'; choose from: "),
    (["hello", "--udp"], "handler 'hello' does not speak udp; it speaks tcp"),
    (["reply", "--tcp"], "handler 'reply' does not speak tcp; it speaks udp"),
    (["echo", "--port", "65536"], "must be a port number from 0 to 65535"),
    (["echo", "--port", "http"], "must be a port number from 0 to 65535"),
    (["echo", "--host", "a..b"], "--host 'a..b' is not a valid host name: it has an empty label"),
    (["echo", "--host", "x" * 64 + ".example"], "a label is longer than 63 characters"),
    (["echo", "--host", ""], "--host is empty"),
    (["echo", "--timeout", "nan"], "argument --timeout: must be 0 (no limit) or from 0.001"),
    # issue 12: numbers that once gave a traceback or a silent misbehaviour
    (["echo", "--timeout", "1e19"], "argument --timeout: must be 0 (no limit) or from 0.001"),
    (["echo", "--timeout", "0.0000001"], "argument --timeout: must be 0 (no limit) or from"),
    (["echo", "--grace", "1e10"], "argument --grace: must be from 0 to 86400 seconds"),
    (["files", "--max-size", ""], "argument --max-size: must be a number of bytes"),
    (["echo", "--pool", "1000000"], "argument --pool: must be a whole number from 1 to 1000"),
    (["echo", "--events-fd", "1" + "0" * 30], "argument --events-fd: must be a file descriptor"),
    (["slow", "--delay", "1e300"], "argument --delay: must be from 0 to 60000 milliseconds"),
    (["echo", "--threading", "--forking"], "not allowed with argument"),
    (["echo", "--bogus"], "unrecognized arguments: --bogus"),
    (["echo", "--host", "no.such.host.invalid"], "cannot resolve host"),
    ([], "name a handler"),
])
def test_usage_mistakes_exit_2_with_one_line(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("classicnet")


def test_forking_without_fork_is_a_usage_error():
    code = ("import os, sys; del os.fork; from classicnet.cli import main; "
            "sys.exit(main(['echo', '--forking', '--port', '0']))")
    result = subprocess.run([sys.executable, "-c", code],
                            capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr.strip() == ("classicnet: --forking needs os.fork(), which "
                                     "linux does not have; use --threading")


def test_a_port_in_use_exits_1_with_one_line(cli):
    server = cli("echo")
    result = run_cli("echo", "--port", str(server.address[1]))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"classicnet: cannot listen on 127.0.0.1:{server.address[1]}: the address "
        "is already in use (another server is running there; try another --port, "
        "or --port 0)"]


def test_an_address_not_on_this_machine_exits_1():
    result = run_cli("echo", "--host", "192.0.2.1", "--port", "0")
    assert result.returncode == 1
    assert "192.0.2.1 is not an address of this machine" in result.stderr


def test_help_version_and_list():
    help_text = run_cli("--help")
    assert help_text.returncode == 0
    for word in ("--plain", "--threading", "--forking", "--udp", "echo", "hello"):
        assert word in help_text.stdout
    version = run_cli("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"classicnet {__version__}")
    listing = run_cli("list")
    lines = listing.stdout.splitlines()
    assert listing.returncode == 0
    assert any(line.split()[:3] == ["echo", "tcp,", "udp"] for line in lines)
    assert any(line.split()[:2] == ["reply", "udp"] for line in lines)
    assert all(len(line.split()) >= 3 for line in lines)


def test_help_for_a_handler_and_the_help_word():
    result = run_cli("help", "echo")
    assert result.returncode == 0
    assert "--grace" in result.stdout


def test_no_handler_takes_a_command_word():
    names = {line.split()[0] for line in run_cli("list").stdout.splitlines()}
    assert "echo" in names
    assert not COMMAND_WORDS & names


@needs("nc")
@pytest.mark.parametrize("model", MODELS)
def test_nc_gets_its_line_back_from_echo(cli, model):
    server = cli("echo", f"--{model}")
    result = subprocess.run(["nc", "-q1", "127.0.0.1", str(server.address[1])],
                            input=b"hi\n", capture_output=True, timeout=TIMEOUT)
    assert result.stdout == b"hi\n"


@needs("nc")
@pytest.mark.parametrize("name, expected", [("echo", b"hi udp\n"), ("upper", b"HI UDP\n")])
def test_nc_over_udp(cli, name, expected):
    server = cli(name, "--udp")
    # nc -u never sees an end of the conversation: -W1 makes it leave after
    # one answer, and the test's timeout bounds the wait for that answer.
    result = subprocess.run(["nc", "-u", "-W1", "127.0.0.1", str(server.address[1])],
                            input=b"hi udp\n", capture_output=True, timeout=TIMEOUT)
    assert result.stdout == expected


@needs("socat")
def test_socat_talks_to_hello(cli):
    server = cli("hello", "--threading")
    result = subprocess.run(["socat", "-t2", "-", f"TCP:127.0.0.1:{server.address[1]}"],
                            input=b"Ann\nexit\n", capture_output=True, timeout=TIMEOUT)
    assert result.stdout == b"Welcome!\nHello, Ann!\n"


def test_threading_serves_five_hundred_clients_at_once(cli):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 700 <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (700, hard))
    elif soft < 700:
        pytest.skip(f"only {soft} file descriptors allowed")
    server = cli("echo", "--threading")
    clients = []
    try:
        for _ in range(500):
            clients.append(connect(server.address))
        for number, client in enumerate(clients):
            client.sendall(b"%d," % number)
        for number, client in enumerate(clients):     # all 500 still open
            assert client.recv(10) == b"%d," % number
    finally:
        for client in clients:
            client.close()


def test_forking_queues_clients_beyond_its_child_limit(cli):
    if "forking" not in MODELS:
        pytest.skip("needs os.fork")
    import select
    server = cli("echo", "--forking")
    limit = 40                                   # socketserver's max_children
    served = [connect(server.address) for _ in range(limit)]
    try:
        for client in served:
            client.sendall(b"s")
            assert client.recv(1) == b"s"
        with connect(server.address) as waiting:
            waiting.sendall(b"w")
            assert not select.select([waiting], [], [], 0.3)[0]   # queued, not lost
            served.pop().close()                                  # one child ends
            assert select.select([waiting], [], [], TIMEOUT)[0]
            assert waiting.recv(1) == b"w"
    finally:
        for client in served:
            client.close()


def test_ctrl_c_works_even_when_started_with_sigint_ignored(cli):
    # A non-interactive shell starts background jobs with SIGINT ignored
    # (`python -m classicnet echo & kill -INT $!`); so does this one.
    server = cli("echo", command=["sh", "-c", 'trap "" INT; exec "$0" "$@"',
                                  *classicnet_command()])
    server.send_signal(signal.SIGINT)
    assert server.wait() == 0


@pytest.mark.parametrize("model", MODELS)
def test_a_signal_right_after_the_readiness_line_is_a_clean_stop(cli, model):
    server = cli("echo", f"--{model}")
    server.send_signal(signal.SIGTERM)
    assert server.wait() == 0


# --- the architecture's promises, seen from the command line ---------------

def test_help_lists_every_command_and_every_handler():
    from classicnet.cli.commands import COMMANDS
    from classicnet.registry import BUILTINS
    result = run_cli("--help")
    assert result.returncode == 0
    commands = result.stdout.split("commands:\n", 1)[1].split("\nhandlers:", 1)[0]
    for word in COMMANDS:
        assert f"\n  {word} " in "\n" + commands
    for name in BUILTINS:
        assert f"\n  {name} " in result.stdout


def test_client_help_shows_the_file_client():
    result = run_cli("client", "--help")
    assert result.returncode == 0
    assert "files ls" in result.stdout and "files get NAME" in result.stdout
    assert "files put PATH" in result.stdout


def test_the_server_flags_are_the_ones_a_handler_may_not_take():
    from classicnet.cli.serve_flags import server_parser
    from classicnet.contract import SERVER_FLAGS
    parser = server_parser()
    flags = {flag: action.dest for action in parser._actions
             for flag in action.option_strings}
    assert flags == SERVER_FLAGS


def test_the_command_words_are_reserved():
    from classicnet.cli.commands import COMMANDS
    from classicnet.registry import COMMAND_WORDS
    assert set(COMMANDS) <= COMMAND_WORDS


def test_serving_echo_imports_no_other_handler():
    code = ("import sys; from classicnet import launcher; "
            "launcher.build_server('upper', port=0).server_close(); "
            "print(sorted(m for m in sys.modules if m.startswith('classicnet.handlers.')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=TIMEOUT, cwd=ROOT)
    assert result.stdout.strip() == "['classicnet.handlers.echo', 'classicnet.handlers.upper']"


def test_serving_files_imports_no_client_module(tmp_path):
    """The file server and the file client share hashing and fields, and
    nothing more: a forked files server copies no client code."""
    code = ("import sys; from classicnet import launcher; "
            f"launcher.build_server('files', port=0, root={str(tmp_path)!r}).server_close(); "
            "print(' '.join(m for m in sys.modules if m.startswith('classicnet.')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=TIMEOUT, cwd=ROOT)
    imported = set(result.stdout.split())
    assert "classicnet.handlers.files" in imported
    assert not imported & {"classicnet.fileclient", "classicnet.progress",
                           "classicnet.client", "classicnet.relay"}


def test_the_command_line_imports_only_what_serving_needs(cli):
    """The forking model copies the serving process for every client: it
    holds the handler it serves, and no tool (client, lab, files)."""
    server = cli("echo", "--forking", env={"PYTHONVERBOSE": "1"})
    server.send_signal(signal.SIGTERM)
    assert server.wait() == 0
    imported = {line.split("'")[1] for line in server.stderr().splitlines()
                if line.startswith("import '")}
    assert "classicnet.handlers.echo" in imported
    unwanted = {"classicnet.handlers.files", "classicnet.handlers.chat",
                "classicnet.client", "classicnet.relay", "classicnet.lab",
                "classicnet.fileclient", "classicnet.progress", "classicnet.framing",
                "classicnet.hashing", "classicnet.storage", "classicnet.cli.lab",
                "classicnet.trace"}
    assert not imported & unwanted
