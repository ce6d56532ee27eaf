"""Every signal that ends a server ends it cleanly, under every model
(issue 12, point 8): SIGHUP and SIGQUIT as SIGINT and SIGTERM do, with the
status of ``foreground.exit_status``.  (test_shutdown.py has Ctrl-C and SIGTERM.)
"""

import signal
import socket
import sys

import pytest

from classicnet import foreground
from conftest import MODELS, TIMEOUT, classicnet_command
from resources import children, process_exists, settles_to
from test_uploads import BODY, left_in, start_upload, uploading

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGHUP"),
                                reason="no SIGHUP or SIGQUIT here")

ENDING = [("SIGHUP", 129), ("SIGQUIT", 131)]


@pytest.mark.parametrize("name, status", ENDING)
@pytest.mark.parametrize("model", MODELS)
def test_hangup_and_quit_stop_every_model_cleanly(cli, model, name, status, tmp_path):
    server = cli("files", f"--{model}", "--root", str(tmp_path), "--grace", "0.2", "-v")
    address = server.address
    with start_upload(address, "half.bin", BODY):
        assert settles_to(lambda: uploading(tmp_path), True)
        served_by = children(server.pid)
        server.send_signal(getattr(signal, name))
        assert server.wait() == status
    assert name in server.wait_for_log("received: stopping")
    assert left_in(tmp_path) == []                      # the .part file is gone
    for pid in served_by:                               # no child serves on
        assert settles_to(lambda: process_exists(pid), False) is False
    with pytest.raises(ConnectionRefusedError):         # the socket is closed
        socket.create_connection(address, timeout=2).close()


@pytest.mark.skipif(sys.implementation.name == "pypy", reason="PyPy 3.9's "
                    "signal.getsignal() says SIG_DFL for a signal ignored at start-up")
def test_a_server_started_with_hangups_ignored_keeps_serving_after_one(cli):
    # nohup python -m classicnet echo &   -- the terminal may close.
    server = cli("echo", "--threading", command=[
        "sh", "-c", 'trap "" HUP; exec "$0" "$@"', *classicnet_command()])
    server.send_signal(signal.SIGHUP)
    with socket.create_connection(server.address, timeout=TIMEOUT) as client:
        client.sendall(b"still here")
        assert client.recv(100) == b"still here"
    server.send_signal(signal.SIGTERM)
    assert server.wait() == 0


@pytest.mark.parametrize("signum, status", [
    (signal.SIGINT, 0), (signal.SIGTERM, 0), (signal.SIGHUP, 129), (signal.SIGQUIT, 131)])
def test_the_exit_status_says_which_signal_stopped_the_server(signum, status):
    assert foreground.exit_status(signum) == status
    assert signum in foreground.STOP_SIGNALS
