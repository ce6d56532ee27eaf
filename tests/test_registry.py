"""The handler registry: registering, looking up, refusing."""

import socketserver

import pytest

from classicnet import Option, UsageError, build_server
from classicnet.launcher import resolve_handler
from classicnet.endpoints import format_address
from classicnet.registry import Entry, kind_of, lookup, register
from classicnet.text import printable


@pytest.fixture
def registry():
    return {}


def test_a_decorated_class_is_registered_unchanged_with_its_docstring_as_help(registry):
    @register("reverse", "tcp", registry=registry)
    class Reverse(socketserver.BaseRequestHandler):
        """Sends every chunk back reversed.

        More text that is not the help line.
        """

    entry = lookup("reverse", registry)
    assert entry.handlers == {"tcp": Reverse}
    assert entry.help == "Sends every chunk back reversed."
    assert entry.kinds == ("tcp",)
    assert entry.default_kind == "tcp"


def test_one_name_two_transports(registry):
    @register("both", "udp", registry=registry)
    class Datagram(socketserver.BaseRequestHandler):
        options = (Option("--size", "bytes", int, 3),)

    @register("both", "tcp", registry=registry, help="explicit help")
    class Stream(socketserver.BaseRequestHandler):
        options = (Option("--size", "bytes", int, 3), Option("--loud", "", bool))

    entry = registry["both"]
    assert entry.kinds == ("tcp", "udp")
    assert entry.default_kind == "tcp"
    assert entry.handler_for("udp") is Datagram
    assert [option.flag for option in entry.options] == ["--size", "--loud"]


def test_a_name_cannot_get_a_second_class_for_the_same_transport(registry):
    @register("one", "tcp", registry=registry)
    class First(socketserver.BaseRequestHandler):
        pass

    with pytest.raises(ValueError, match="already has a tcp class"):
        @register("one", "tcp", registry=registry)
        class Second(socketserver.BaseRequestHandler):
            pass


@pytest.mark.parametrize("word", ["list", "client", "lab", "new", "help"])
def test_command_words_cannot_name_a_handler(registry, word):
    with pytest.raises(ValueError, match="is a classicnet command word"):
        register(word, "tcp", registry=registry)


@pytest.mark.parametrize("bad", ["", "a b", "x:y", "../x"])
def test_a_name_is_letters_digits_dash_and_underscore(registry, bad):
    with pytest.raises(ValueError, match="handler names are"):
        register(bad, "tcp", registry=registry)


def test_only_tcp_and_udp(registry):
    with pytest.raises(ValueError, match="kind must be one of"):
        register("x", "sctp", registry=registry)


def test_only_request_handler_classes(registry):
    with pytest.raises(TypeError, match="is not a socketserver request handler"):
        register("x", "tcp", registry=registry)(object)


def test_a_failed_lookup_names_the_choices_and_a_close_match():
    with pytest.raises(UsageError) as caught:
        lookup("uper")
    message = str(caught.value)
    assert message.startswith("unknown handler 'uper'; choose from: ")
    assert ", echo, " in message
    assert message.endswith("(did you mean 'upper'?)")


def test_a_missing_transport_names_the_ones_there_are():
    with pytest.raises(UsageError, match="'hello' does not speak udp; it speaks tcp"):
        Entry("hello", {"tcp": object}).handler_for("udp")


def test_kind_of_a_class():
    assert kind_of(socketserver.StreamRequestHandler) == "tcp"
    assert kind_of(socketserver.DatagramRequestHandler) == "udp"
    assert kind_of(socketserver.BaseRequestHandler) is None


def test_resolving_a_class_checks_its_transport():
    assert resolve_handler(socketserver.BaseRequestHandler, "udp")[2] == "udp"
    assert resolve_handler(socketserver.StreamRequestHandler)[2] == "tcp"
    with pytest.raises(UsageError, match="is a tcp handler and cannot serve udp"):
        resolve_handler(socketserver.StreamRequestHandler, "udp")
    with pytest.raises(UsageError, match="is not a socketserver request handler"):
        resolve_handler(42)


def test_settings_reach_the_server_and_unknown_ones_are_refused():
    class Slowish(socketserver.BaseRequestHandler):
        options = (Option("--delay", "ms", float, 5.0), Option("--name", "who"))
        prepared = []

        @classmethod
        def prepare_server(cls, server):
            cls.prepared.append(server.options.delay)

    server = build_server(Slowish, port=0, delay=7.5)
    try:
        assert (server.options.delay, server.options.name) == (7.5, None)
        assert Slowish.prepared == [7.5]
    finally:
        server.server_close()
    with pytest.raises(UsageError, match="has no setting 'colour' .it takes delay, name."):
        build_server(Slowish, port=0, colour="red")


def test_a_failing_prepare_server_closes_the_socket():
    class Picky(socketserver.BaseRequestHandler):
        @classmethod
        def prepare_server(cls, server):
            cls.server = server
            raise UsageError("no root")

    with pytest.raises(UsageError, match="no root"):
        build_server(Picky, port=0)
    assert Picky.server.socket.fileno() == -1


def test_printable_escapes_control_characters_and_keeps_text():
    assert printable(b"hi\x1b[2J\xff") == "hi\\x1b[2J\\xff"
    assert printable("你好\n".encode()) == "你好\\x0a"
    assert printable("a\nb\tc", keep_newlines=True) == "a\nb\tc"
    assert printable("\u202e") == "\\u202e"
    assert printable(b"x" * 100, limit=5) == "xxxxx..."


def test_format_address():
    assert format_address(("127.0.0.1", 9000)) == "127.0.0.1:9000"
    assert format_address(("::1", 9000, 0, 0)) == "[::1]:9000"


# --- the handler contract: options live apart from the server's own ---------

def test_an_option_named_like_a_server_attribute_cannot_touch_the_server():
    class Sneaky(socketserver.BaseRequestHandler):
        options = (Option("--socket", "a name", str, "s"),
                   Option("--server-address", "an address", str, "a"))

    server = build_server(Sneaky, port=0, socket="mine", server_address="here")
    try:
        assert server.options.socket == "mine"
        assert server.options.server_address == "here"
        assert server.server_address[0] == "127.0.0.1"
        assert server.socket.fileno() >= 0
    finally:
        server.server_close()


@pytest.mark.parametrize("flag, server_flag", [
    ("--port", "--port"), ("--max-connections", "--max-connections"),
    ("--timeout", "--timeout"), ("--tcp", "--tcp"),
    ("--max_connections", "--max-connections"), ("--idle-timeout", "--timeout"),
    ("--pool-size", "--pool"),
])
def test_an_option_spelled_like_a_server_flag_is_refused_at_registration(
        registry, flag, server_flag):
    with pytest.raises(UsageError, match=f"declares {flag}, which clashes with the "
                                         f"server's own flag {server_flag}"):
        @register("clash", "tcp", registry=registry)
        class Clash(socketserver.BaseRequestHandler):
            options = (Option(flag, "oops"),)


def test_two_options_for_one_setting_are_refused(registry):
    with pytest.raises(UsageError, match="--max_size, which clashes with its option --max-size"):
        @register("twice", "tcp", registry=registry)
        class Twice(socketserver.BaseRequestHandler):
            options = (Option("--max-size", "a"), Option("--max_size", "b"))


def test_the_tcp_and_udp_classes_of_one_name_must_agree(registry):
    @register("pair", "tcp", registry=registry)
    class Stream(socketserver.BaseRequestHandler):
        options = (Option("--delay", "ms", float, 1.0),)

    with pytest.raises(UsageError, match="clashes with its option --delay"):
        @register("pair", "udp", registry=registry)
        class Datagram(socketserver.BaseRequestHandler):
            options = (Option("--delay", "seconds", int, 2),)


@pytest.mark.parametrize("flag", ["-d", "delay", "--", "--2fast"])
def test_an_option_flag_is_two_dashes_and_a_name(registry, flag):
    with pytest.raises(UsageError, match="an option's flag is two dashes and a name"):
        @register("odd", "tcp", registry=registry)
        class Odd(socketserver.BaseRequestHandler):
            options = (Option(flag, "?"),)


def test_a_built_in_name_is_not_for_a_student(registry):
    with pytest.raises(ValueError, match="'echo' is the name of a built-in handler"):
        @register("echo", "tcp")
        class MyEcho(socketserver.BaseRequestHandler):
            pass
