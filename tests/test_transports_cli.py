"""TLS and Unix sockets from the command line, with real clients (openssl
s_client, socat) and classicnet's own (client, client files, check, cert)."""

import os
import select
import signal
import socket
import stat
import subprocess
import time

import pytest
from conftest import TIMEOUT, needs, run_cli

needs_unix = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"),
                                reason="no Unix-domain sockets here")


def converse(command, data, expected, timeout=TIMEOUT):
    """Run a client program, give it *data*, and return what it printed
    once *expected* is among it (or when it ends, or *timeout* passes)."""
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    received = b""
    try:
        process.stdin.write(data)
        process.stdin.flush()
        end = time.monotonic() + timeout
        while expected not in received:
            ready, _, _ = select.select([process.stdout], [], [],
                                        max(0.0, end - time.monotonic()))
            chunk = os.read(process.stdout.fileno(), 65536) if ready else b""
            if not chunk:
                break
            received += chunk
    finally:
        process.kill()
        process.wait(TIMEOUT)
        for pipe in (process.stdin, process.stdout, process.stderr):
            pipe.close()
    return received


@pytest.fixture
def tls_echo(cli, tls_files):
    """An echo server over TLS (threading), started from the command line."""
    return cli("echo", "--threading", *tls_files.server_flags())


def one_line_error(result, status, text):
    assert result.returncode == status, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert text in result.stderr


def test_the_readiness_line_says_tls(tls_echo):
    assert tls_echo.ready_line.startswith("classicnet: serving echo (threading, tls) on ")


def test_tls_without_a_pair_shows_the_openssl_command():
    result = run_cli("echo", "--tls")
    one_line_error(result, 2, "openssl req -x509 -newkey rsa:2048")
    assert "python -m classicnet cert" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--cert", "c.pem"], "--cert and --key are for --tls"),
    (["--unix-mode", "600"], "--unix-mode is for a Unix-domain socket"),
    (["--tls", "--udp", "--cert", "c", "--key", "k"], "cannot go with --udp"),
    (["--tls", "--unix", "/tmp/x.sock", "--cert", "c", "--key", "k"],
     "cannot go with --unix"),
    (["--tls", "--cert", "/no/such.pem", "--key", "/no/such.pem"], "no such file"),
    (["--unix-mode", "999", "--unix", "/tmp/x"], "must be permissions in octal"),
])
def test_transport_usage_mistakes(args, message):
    result = run_cli("echo", *args)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_tls_for_a_udp_only_handler():
    result = run_cli("reply", "--tls", "--cert", "c", "--key", "k")
    one_line_error(result, 2, "--tls is TLS over TCP, and reply serves only UDP")


def test_a_certificate_that_is_not_pem_is_one_line(tmp_path):
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    result = run_cli("echo", "--tls", "--cert", str(junk), "--key", str(junk))
    one_line_error(result, 2, "are not a PEM certificate and its key")


@needs("openssl")
def test_openssl_s_client_verifies_and_talks(tls_echo, tls_files):
    host, port = tls_echo.address
    answer = converse(["openssl", "s_client", "-connect", f"{host}:{port}",
                       "-CAfile", tls_files.ca, "-verify_return_error", "-quiet"],
                      b"hello over tls\n", b"hello over tls\n")
    assert b"hello over tls\n" in answer


@needs("socat")
def test_socat_openssl_talks(tls_echo, tls_files):
    host, port = tls_echo.address
    answer = converse(["socat", "-", f"OPENSSL:{host}:{port},cafile={tls_files.ca}"],
                      b"socat says hi\n", b"socat says hi\n")
    assert answer == b"socat says hi\n"


@needs("socat")
@needs_unix
def test_socat_unix_connect_talks(cli, short_tmp):
    path = os.path.join(short_tmp, "upper.sock")
    server = cli("upper", "--forking", "--unix", path)
    assert server.ready_line.strip() == f"classicnet: serving upper (forking, unix) on {path}"
    answer = converse(["socat", "-", f"UNIX-CONNECT:{path}"], b"quiet\n", b"QUIET\n")
    assert answer == b"QUIET\n"


def test_the_client_checks_the_certificate(tls_echo, tls_files):
    port = str(tls_echo.address[1])
    result = run_cli("client", "echo", "--tls", "--cafile", tls_files.ca, "--port", port,
                     input="hello\n")
    assert result.returncode == 0 and result.stdout == "hello\n", result.stderr
    result = run_cli("client", "echo", "--tls", "--port", port, input="hello\n")
    one_line_error(result, 1, "certificate verify failed")


def test_insecure_says_so_in_one_line(tls_echo):
    result = run_cli("client", "echo", "--tls", "--insecure",
                     "--port", str(tls_echo.address[1]), input="hi\n")
    assert result.returncode == 0 and result.stdout == "hi\n"
    assert result.stderr.count("\n") == 1 and "warning: --insecure" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--cafile", "ca.pem"], "--cafile and --insecure are for --tls"),
    (["--tls", "--cafile", "/no/such.pem"], "--cafile '/no/such.pem': no such file"),
    (["--tls", "--udp"], "cannot go with --udp"),
])
def test_client_transport_mistakes(args, message):
    result = run_cli("client", "echo", *args)
    assert result.returncode == 2 and message in result.stderr


def test_a_cafile_that_holds_no_certificate(tmp_path):
    junk = tmp_path / "ca.pem"
    junk.write_text("nothing\n")
    result = run_cli("client", "echo", "--tls", "--cafile", str(junk))
    assert result.returncode == 2 and "holds no PEM certificate" in result.stderr


@needs_unix
@pytest.mark.parametrize("kind", ["tcp", "udp"])
def test_the_client_talks_to_a_unix_socket(cli, short_tmp, kind):
    path = os.path.join(short_tmp, "echo.sock")
    cli("echo", f"--{kind}", "--unix", path)
    result = run_cli("client", "echo", f"--{kind}", "--unix", path, input="one\ntwo\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "one\ntwo\n"


@needs_unix
def test_the_file_client_and_check_over_tls_and_unix(cli, tls_files, short_tmp, tmp_path):
    (tmp_path / "root").mkdir()
    note = tmp_path / "note.txt"
    note.write_text("over tls\n")
    server = cli("files", "--threading", "--root", str(tmp_path / "root"),
                 *tls_files.server_flags())
    flags = ["--tls", "--cafile", tls_files.ca, "--port", str(server.address[1])]
    assert run_cli("client", "files", *flags, "put", str(note)).returncode == 0
    listing = run_cli("client", "files", *flags, "ls")
    assert listing.returncode == 0 and "note.txt" in listing.stdout
    check = run_cli("check", "files", *flags, timeout=60)
    assert check.returncode == 0, check.stdout
    path = os.path.join(short_tmp, "echo.sock")
    cli("echo", "--threading", "--unix", path)
    check = run_cli("check", "echo", "--unix", path, timeout=60)
    assert check.returncode == 0, check.stdout


def test_check_over_tls_leaves_out_the_half_close(tls_echo, tls_files):
    result = run_cli("check", "echo", "--tls", "--cafile", tls_files.ca,
                     "--port", str(tls_echo.address[1]), timeout=60)
    assert result.returncode == 0, result.stdout
    assert "half-close" not in result.stdout


@needs_unix
def test_a_unix_server_stops_cleanly_and_removes_its_socket(cli, short_tmp):
    path = os.path.join(short_tmp, "who.sock")
    server = cli("who", "--threading", "--unix", path, "--unix-mode", "660", "-v")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(TIMEOUT)
        sock.connect(path)
        sock.sendall(b"?")
        assert sock.recv(100).startswith(b"thread Thread-")
    server.send_signal(signal.SIGTERM)
    assert server.wait() == 0
    assert not os.path.exists(path)
    if hasattr(socket, "SO_PEERCRED"):
        assert f"connection from pid {os.getpid()} uid {os.getuid()}" in server.log_text()


@needs_unix
def test_a_file_at_the_path_is_refused_and_kept(tmp_path):
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    result = run_cli("echo", "--unix", str(precious))
    one_line_error(result, 1, "not a socket")
    assert precious.read_text() == "keep me"


@needs_unix
def test_a_second_server_on_a_live_socket_is_refused(cli, short_tmp):
    path = os.path.join(short_tmp, "echo.sock")
    cli("echo", "--unix", path)
    result = run_cli("echo", "--unix", path)
    one_line_error(result, 1, "a server is listening on that socket already")


@needs("openssl")
def test_cert_writes_a_pair_that_serves(tmp_path, cli):
    result = run_cli("cert", str(tmp_path))
    assert result.returncode == 0, result.stderr
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    server = cli("echo", "--tls", "--cert", str(cert), "--key", str(key))
    answer = run_cli("client", "echo", "--tls", "--cafile", str(cert),
                     "--port", str(server.address[1]), input="made here\n")
    assert answer.stdout == "made here\n", answer.stderr
    again = run_cli("cert", str(tmp_path))
    one_line_error(again, 2, "exists already")


def test_cert_without_openssl_says_so(tmp_path):
    result = run_cli("cert", str(tmp_path), env={"PATH": str(tmp_path)})
    one_line_error(result, 2, "the openssl command is not installed")
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("model", ["threading", "forking"] if hasattr(os, "fork")
                         else ["threading"])
def test_a_signal_stops_a_tls_server_with_a_client_connected(cli, tls_files, model):
    import ssl
    server = cli("echo", f"--{model}", *tls_files.server_flags(), "--grace", "0.2")
    context = ssl.create_default_context(cafile=tls_files.ca)
    with context.wrap_socket(socket.create_connection(server.address, timeout=TIMEOUT),
                             server_hostname="localhost") as client:
        client.sendall(b"still here")
        assert client.recv(100) == b"still here"
        server.send_signal(signal.SIGTERM)
        assert server.wait() == 0
    assert "Traceback" not in server.log_text()
