"""Checks about clients, not bytes: the same three for every protocol.

Whatever a server speaks, three questions about its clients have one
shape, and only the greeting differs (``b"ping"`` and its echo, a CNFP/1
list, a chat line).  A protocol module describes one round trip as an
``Exchange`` and builds the three checks from it::

    next client         one client leaves, the next is served
                        (a server needs an accept loop)
    two clients         a second client connects while the first stays:
                        answered at once (concurrent), or only once the
                        first leaves (plain, one client at a time)
    vanished client     a client sends half a message and resets the
                        connection; the next client is still served

The second one is how ``check`` tells the models apart from outside: it
waits the timeout for the second client's answer, then lets the first
go.  A plain server passes it, unless the run asks for a concurrent one
(``--concurrent``, for the homework "a server for several clients").
"""

from collections import namedtuple

from .conversation import Failed, NoAnswer
from .report import Check

__all__ = ["Exchange", "client_checks"]

Exchange = namedtuple("Exchange", "ask hear describe")
Exchange.__doc__ = """One round trip: ``ask(conversation)`` sends a request,
``hear(conversation)`` reads and checks its answer; *describe* says it in words."""

SOCKETSERVER = "course notes: 并发socketserver模块; README.md, \"Models\""


def client_checks(exchange, partial):
    """The three client checks for a protocol whose round trip is *exchange*;
    *partial* is half a message, what the vanishing client sends."""
    def next_client(probe):
        first = probe.connect()
        _round_trip(exchange, first)
        first.close()
        _round_trip(exchange, probe.connect())

    def two_clients(probe):
        first = probe.connect()
        _round_trip(exchange, first)
        second = probe.connect()
        exchange.ask(second)
        try:
            exchange.hear(second)
        except NoAnswer:
            first.close()
            exchange.hear(second)
            probe.model_seen = "plain"
            if probe.needs_concurrency:
                raise Failed("the second client was answered only after the first "
                             "left: this server serves one client at a time") from None
            return "the second client was answered once the first left (plain)"
        probe.model_seen = "concurrent"
        return "the second client was answered while the first was connected (concurrent)"

    def vanished_client(probe):
        gone = probe.connect()
        gone.send(partial)
        gone.vanish()
        _round_trip(exchange, probe.connect())

    return (
        Check("next client", sends=f"{exchange.describe}, close, then the same "
              "from a new client", expects="both clients answered",
              lesson="a server serves client after client only inside a loop: "
                     "accept(), serve that client until it closes, accept() again",
              see="course notes: 最基本服务端程序, 每日练习 2", run=next_client),
        Check("two clients at once", sends=f"{exchange.describe} from a second "
              "client while the first stays connected",
              expects="an answer at once (concurrent), or once the first leaves (plain)",
              lesson="a loop around accept() serves one client at a time; a thread "
                     "or process per client (socketserver.ThreadingTCPServer) "
                     "serves them all at once", see=SOCKETSERVER, run=two_clients),
        Check("vanished client", sends="half a message, then a reset (the client "
              f"crashes); then {exchange.describe} from a new client",
              expects="the new client answered: the server survived",
              lesson="recv() and send() raise ConnectionResetError when a client "
                     "vanishes; catch it for that client alone (try/except around "
                     "the conversation), or let socketserver do it, so the server "
                     "goes on", see="course notes: 持续性数据的交互 (except "
                     "ConnectionResetError); docs/security.md", run=vanished_client),
    )


def _round_trip(exchange, conversation):
    exchange.ask(conversation)
    exchange.hear(conversation)
