"""Ten real ``nc`` clients in one chat room under --threading, one of them
not reading at all (stopped with SIGSTOP): everyone else still hears everyone."""

import os
import select
import shutil
import signal
import subprocess
import time

import pytest

from classicnet.testing import running_server

from conftest import TIMEOUT

NC = shutil.which("nc")
pytestmark = [
    pytest.mark.skipif(NC is None, reason="nc is not installed "
                       "(Debian: apt-get install netcat-openbsd)"),
    pytest.mark.skipif(not hasattr(signal, "SIGSTOP"),
                       reason="needs SIGSTOP to make a client stop reading"),
]

CLIENTS = 10


class NcClient:
    """One ``nc`` process talking to the room through its standard streams."""

    def __init__(self, address):
        host, port = address
        self.process = subprocess.Popen([NC, host, str(port)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL)
        self.pending = b""
        self.seen = set()

    def send(self, text):
        self.process.stdin.write(text.encode("utf-8"))
        self.process.stdin.flush()

    def read_line(self, deadline):
        output = self.process.stdout.fileno()
        while b"\n" not in self.pending:
            remaining = deadline - time.monotonic()
            ready = select.select([output], [], [], max(0.0, remaining))[0]
            assert ready, f"no line from nc within {TIMEOUT} s; have {self.pending!r}"
            chunk = os.read(output, 65536)
            assert chunk, f"nc ended; have {self.pending!r}"
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode("utf-8")

    def wait_for_all(self, expected):
        """Read lines until every line in *expected* has come, in any order."""
        deadline = time.monotonic() + TIMEOUT
        missing = set(expected) - self.seen
        while missing:
            line = self.read_line(deadline)
            self.seen.add(line)
            missing.discard(line)

    def stop(self):
        self.process.send_signal(signal.SIGCONT)
        self.process.stdin.close()
        self.process.terminate()
        self.process.wait(TIMEOUT)
        self.process.stdout.close()


def test_ten_nc_clients_hear_each_other_with_one_not_reading():
    clients = []
    with running_server("chat", model="threading") as address:
        try:
            for number in range(CLIENTS):
                client = NcClient(address)
                clients.append(client)
                client.send(f"/nick user{number}\n")
                client.wait_for_all([f"* you are now user{number}"])
            stopped, readers = clients[0], clients[1:]
            stopped.send("hello from user0\n")
            readers[0].wait_for_all(["user0: hello from user0"])
            stopped.process.send_signal(signal.SIGSTOP)     # reads nothing from now on

            for number, client in enumerate(readers, start=1):
                client.send(f"hello from user{number}\n")
            for number, client in enumerate(readers, start=1):
                client.wait_for_all(f"user{other}: hello from user{other}"
                                    for other in range(CLIENTS) if other != number)

            readers[0].send("/who\n")
            everyone = ", ".join(f"user{number}" for number in range(CLIENTS))
            readers[0].wait_for_all([f"* here: {everyone}"])
        finally:
            for client in clients:
                client.stop()
