import socket

from classicnet.testing import running_server


def test_echo_round_trip():
    with running_server("echo") as address:
        with socket.create_connection(address, timeout=5) as client:
            client.sendall(b"hi")
            assert client.recv(10) == b"hi"
