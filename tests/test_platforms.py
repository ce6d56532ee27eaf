"""Windows and macOS, simulated: the command line where os.fork, signal masks,
AF_UNIX, resource, termios, SO_PEERCRED or /proc are missing (tests/platforms.py).

Every test runs the real program in a subprocess whose start-up removed
what the other system lacks, and checks what the README's platform table
promises for it.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from classicnet import compat

from conftest import ROOT, TIMEOUT, recv_exactly, run_cli
from platforms import MACOS, WINDOWS, noticed, simulated

# How long a stop may take once Ctrl-C is sent, with no client connected.
STOP_WITHIN = 2.0


@pytest.fixture(params=[WINDOWS, MACOS], ids=["windows", "macos"])
def system(request, tmp_path):
    """``(spec, environment, directory)`` of each simulated system in turn."""
    return request.param, simulated(request.param, tmp_path), tmp_path


@pytest.fixture
def windows(tmp_path):
    return simulated(WINDOWS, tmp_path)


def python_in(env, code):
    """Run ``python -c CODE`` with *env*'s start-up; return its standard output."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=TIMEOUT, cwd=ROOT, env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    return result.stdout


def echo_once(address, data=b"portable\n"):
    with socket.create_connection(address, timeout=TIMEOUT) as client:
        client.sendall(data)
        assert recv_exactly(client, len(data)) == data


def stopped_by_ctrl_c(server):
    """Send Ctrl-C; return the exit status, which must come within STOP_WITHIN
    seconds (a bounded wait on the process, not a sleep)."""
    started = time.monotonic()
    server.ctrl_c()
    status = server.wait(timeout=STOP_WITHIN)
    assert time.monotonic() - started < STOP_WITHIN
    return status


# --- the simulation itself ---------------------------------------------------

def test_the_windows_simulation_removes_what_windows_lacks(windows):
    code = ("import os, signal, socket, importlib\n"
            "gone = [not hasattr(os, 'fork'), not hasattr(signal, 'sigwait'),\n"
            "        not hasattr(signal, 'pthread_sigmask'), not hasattr(socket, 'AF_UNIX'),\n"
            "        not hasattr(socket, 'SO_PEERCRED')]\n"
            "for name in ('resource', 'fcntl', 'termios'):\n"
            "    try:\n"
            "        importlib.import_module(name)\n"
            "        gone.append(False)\n"
            "    except ImportError:\n"
            "        gone.append(True)\n"
            "from classicnet import compat\n"
            "print(all(gone), compat.CAN_FORK, compat.CAN_WAIT_FOR_SIGNALS,\n"
            "      compat.HAS_UNIX_SOCKETS, compat.children_cpu_seconds())")
    assert python_in(windows, code).split() == ["True", "False", "False", "False", "None"]


def test_the_macos_simulation_hides_proc_and_sigtimedwait(tmp_path):
    env = simulated(MACOS, tmp_path)
    code = ("import os, signal\n"
            "from classicnet import compat\n"
            "print(os.path.exists('/proc/self'), compat.CAN_FORK, compat.CAN_WAIT_FOR_SIGNALS)")
    assert python_in(env, code).split() == ["False", "True", "False"]
    assert [line.split()[0] for line in noticed(tmp_path)] == ["/proc/self"]


# --- serving, and stopping on Ctrl-C ------------------------------------------

@pytest.mark.parametrize("model", [["--threading"], ["--plain"], ["--pool", "2"]],
                         ids=["threading", "plain", "pool"])
def test_echo_serves_and_ctrl_c_stops_it_with_status_0(cli, system, model):
    _, env, directory = system
    server = cli("echo", *model, env=env)
    echo_once(server.address)
    echo_once(server.address)
    assert stopped_by_ctrl_c(server) == 0
    log = server.stderr()
    assert "Traceback" not in log
    assert noticed(directory) == []         # nothing read /proc


def test_a_second_ctrl_c_cuts_an_idle_client_at_once(cli, windows):
    server = cli("echo", "--threading", "--grace", "30", "-v", env=windows)
    with socket.create_connection(server.address, timeout=TIMEOUT) as idle:
        idle.sendall(b"x")
        assert idle.recv(1) == b"x"         # being served, then idle
        server.ctrl_c()
        server.wait_for_log("stopping: 1 client(s) being served")
        server.ctrl_c()
        assert server.wait(timeout=STOP_WITHIN) == 0
        assert idle.recv(1) == b""
    assert "1 cut off" in server.stderr()


def test_sigterm_stops_a_server_where_signals_cannot_be_waited_for(cli, system):
    _, env, _ = system
    server = cli("upper", "--threading", env=env)
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=STOP_WITHIN) == 0
    assert "Traceback" not in server.stderr()


def test_forking_is_refused_in_one_line_on_windows(windows):
    result = run_cli("echo", "--forking", "--port", "0", env=windows)
    assert result.returncode == 2
    assert result.stderr == ("classicnet: --forking needs os.fork(), which "
                             f"{sys.platform} does not have; use --threading\n")


def test_forking_serves_and_stops_on_macos(cli, tmp_path):
    env = simulated(MACOS, tmp_path)
    server = cli("echo", "--forking", env=env)
    echo_once(server.address)
    assert stopped_by_ctrl_c(server) == 0
    assert "Traceback" not in server.stderr()


def test_unix_sockets_are_refused_in_one_line_where_python_lacks_them(windows):
    code = ("from classicnet import compat\n"
            "print(compat.unix_refusal('tcp')); print(compat.unix_refusal('udp'))")
    lines = python_in(windows, code).splitlines()
    assert len(lines) == 2
    assert all(line.startswith("--unix needs Unix-domain sockets (socket.AF_UNIX)")
               for line in lines)


def test_the_files_server_is_refused_in_one_line_without_dir_fd(windows, tmp_path):
    result = run_cli("files", "--root", os.fspath(tmp_path), "--port", "0", env=windows)
    assert result.returncode == 2
    assert result.stderr == ("classicnet: the files handler needs a POSIX system "
                             "(os.open with dir_fd); it cannot run here\n")


def test_an_idle_client_is_timed_out(cli, system):
    _, env, _ = system
    server = cli("echo", "--threading", "--timeout", "0.3", env=env)
    with socket.create_connection(server.address, timeout=TIMEOUT) as idle:
        assert idle.recv(1) == b""          # the server ended it, not our timeout


# --- the client, without termios ------------------------------------------------

def test_the_client_works_in_a_pipe(cli, system):
    _, env, _ = system
    server = cli("upper", "--threading", env=env)
    result = run_cli("client", "upper", "--port", str(server.address[1]),
                     input="hi there\n", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "HI THERE\n"


def test_the_udp_client_works_in_a_pipe(cli, system):
    _, env, _ = system
    server = cli("upper", "--udp", "--threading", env=env)
    result = run_cli("client", "upper", "--udp", "--port", str(server.address[1]),
                     input="one\ntwo\n", env=env)
    assert result.returncode == 0, result.stderr
    # A thread per datagram: the two answers may come back in either order.
    assert sorted(result.stdout.splitlines(keepends=True)) == ["ONE\n", "TWO\n"]


# --- the file server and client, with macOS's sendfile ------------------------

def test_files_travel_both_ways_with_macos_sendfile(cli, tmp_path):
    env = simulated(MACOS, tmp_path)
    root, here = tmp_path / "root", tmp_path / "here"
    root.mkdir()
    here.mkdir()
    (root / "empty.txt").write_bytes(b"")
    (here / "up.bin").write_bytes(bytes(range(256)) * 1000)
    server = cli("files", "--root", os.fspath(root), "--threading", env=env)
    port = str(server.address[1])
    put = run_cli("client", "files", "--port", port, "put", "up.bin", cwd=here, env=env)
    assert put.returncode == 0, put.stderr
    assert (root / "up.bin").read_bytes() == (here / "up.bin").read_bytes()
    for name in ("up.bin", "empty.txt"):
        (here / name).unlink(missing_ok=True)
        got = run_cli("client", "files", "--port", port, "get", name, cwd=here, env=env)
        assert got.returncode == 0, got.stderr
        assert (here / name).read_bytes() == (root / name).read_bytes()
    counts = [line.split()[1] for line in noticed(tmp_path) if line.startswith("sendfile")]
    assert counts and "count=0" not in counts


# --- the lab, without resource, fork or /proc -----------------------------------

def measured(out, model, clients=2):
    """True when the lab's table has a row for *model* with *clients* clients
    (the progress line, on a terminal only, is not in a pipe); asyncio's row
    reads "asyncio (not socketserver)"."""
    return any(line.replace(" (not socketserver)", "").split()[:2] == [model, str(clients)]
               for line in out.splitlines())


@pytest.mark.slow
def test_the_lab_runs_what_windows_can_and_says_what_it_skipped(windows, tmp_path):
    result = run_cli("lab", "--workload", "echo", "--clients", "2", "--duration", "0.2",
                     "--no-ceiling", "--processes", "2", env=windows, timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for model in ("forking", "prefork"):
        assert f"skipped: the {model} model: {sys.platform} has no os.fork()" in out
        assert not measured(out, model)
    for model in ("plain", "threading", "pool", "asyncio"):
        assert measured(out, model)
    assert "cpu not measured" in out
    readers = {line.split()[1] for line in noticed(tmp_path)}
    assert readers <= {os.path.join(ROOT, "classicnet", "lab", "experiment.py")}


@pytest.mark.slow
def test_the_lab_reads_proc_only_for_its_optional_figure_on_macos(tmp_path):
    env = simulated(MACOS, tmp_path)
    result = run_cli("lab", "--workload", "echo", "--models", "threading",
                     "--clients", "2", "--duration", "0.2", "--no-ceiling",
                     env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert measured(result.stdout, "threading")
    assert "skipped" not in result.stdout
    readers = {line.split()[1] for line in noticed(tmp_path)}
    assert readers == {os.path.join(ROOT, "classicnet", "lab", "experiment.py")}


def test_asking_the_lab_for_forking_without_fork_is_a_usage_error(windows):
    result = run_cli("lab", "--models", "threading,forking", env=windows)
    assert result.returncode == 2
    assert result.stderr.strip().endswith("leave it out of --models")
    assert len(result.stderr.strip().splitlines()) == 1


# --- compat's own answers, here ---------------------------------------------------

@pytest.mark.parametrize("seconds, platform, expected", [
    (30, "linux", (30, 0)), (0.25, "darwin", (0, 250_000)), (1e-9, "linux", (0, 1)),
    (1.9999999, "linux", (2, 0)),
])
def test_the_idle_timeout_is_a_timeval_on_posix(seconds, platform, expected):
    import struct
    assert struct.unpack("@ll", compat.idle_timeout_option(seconds, platform)) == expected


@pytest.mark.parametrize("seconds, milliseconds", [(30, 30_000), (0.25, 250), (1e-6, 1)])
def test_the_idle_timeout_is_a_dword_of_milliseconds_on_windows(seconds, milliseconds):
    import struct
    value = compat.idle_timeout_option(seconds, "win32")
    assert len(value) == 4
    assert struct.unpack("@I", value) == (milliseconds,)


def test_the_idle_timeout_option_is_what_the_kernel_keeps():
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                        compat.idle_timeout_option(1.5))
        kept = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16)
    assert kept == compat.idle_timeout_option(1.5)


def test_compat_says_yes_to_what_linux_has():
    assert compat.CAN_FORK and compat.HAS_UNIX_SOCKETS and compat.HAS_DIR_FD
    assert compat.unix_refusal("tcp") is None and compat.unix_refusal("udp") is None
    assert compat.children_cpu_seconds() >= 0
    assert signal.SIGINT in compat.INTERRUPT_SIGNALS


@pytest.mark.parametrize("name, standard", [
    ("time", True), ("json", True), ("socketserver", True), ("asyncio", True),
    ("pytest", False), ("classicnet", False), ("no_such_module_here", False),
])
def test_a_standard_module_is_known_without_stdlib_module_names(monkeypatch, name, standard):
    """Python 3.9 has no sys.stdlib_module_names: compat finds the module instead."""
    monkeypatch.delattr(sys, "stdlib_module_names", raising=False)
    assert compat.is_standard_module(name) is standard


def test_the_lab_says_in_one_line_why_it_cannot_run_without_pass_fds(monkeypatch, capsys):
    from classicnet.cli import main
    monkeypatch.setattr(compat, "CAN_PASS_FDS", False)
    assert main(["lab", "--models", "threading", "--clients", "1"]) == 2
    error = capsys.readouterr().err
    assert error == (f"classicnet: the lab hands each server a pipe for its events "
                     f"(pass_fds), which {sys.platform} cannot do; run it on Linux "
                     "or macOS (on Windows: in WSL)\n")


def test_a_server_process_is_refused_at_once_without_pass_fds(monkeypatch):
    from classicnet import process
    monkeypatch.setattr(process, "CAN_PASS_FDS", False)
    with pytest.raises(process.ServerProcessError, match=r"pass_fds"):
        process.ServerProcess(["echo", "--port", "0"])


def test_stream_servers_reuse_the_address_except_on_windows():
    from classicnet.servers.streams import TCPServer
    assert TCPServer.allow_reuse_address is True
    assert compat.reuses_address("darwin") and not compat.reuses_address("win32")


def test_a_process_is_found_by_signal_0_and_never_signalled_on_windows(monkeypatch):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(TIMEOUT)
    assert compat.process_exists(os.getpid())
    assert not compat.process_exists(child.pid)         # ended and reaped
    monkeypatch.setattr(compat.os, "name", "nt")
    monkeypatch.setattr(compat.os, "kill", None)        # would end it on Windows
    assert compat.process_exists(child.pid)
