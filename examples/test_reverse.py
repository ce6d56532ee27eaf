from classicnet.testing import connect, running_server, socketpair_client

from reverse import ReverseHandler


def test_reverse_turns_each_line_around():
    with running_server(ReverseHandler) as address, connect(address) as client:
        client.send(b"hello\n")
        assert client.recv_until(b"\n") == b"olleh\n"


def test_reverse_keeps_chinese_characters_whole():
    with socketpair_client(ReverseHandler) as client:
        client.send("你好\n".encode("utf-8"))
        assert client.recv_until(b"\n") == "好你\n".encode("utf-8")


def test_reverse_waits_for_the_end_of_the_line():
    with socketpair_client(ReverseHandler) as client:
        client.send(b"hel")                       # half a message ...
        client.send(b"lo\nab")                    # ... its end, and more
        client.send(b"c\n")
        assert client.recv_until(b"\n") == b"olleh\n"
        assert client.recv_until(b"\n") == b"cba\n"
