"""The reference echo server, written with asyncio: NOT socketserver.

    python -m classicnet.lab.reference [--port PORT] [--events-fd N]

It is here for contrast and as a yardstick, not as a model to learn
socketserver from.  One thread runs an event loop that multiplexes every
connection with ``select``/``epoll``: no thread or process per client, so
it is about the cheapest echo server Python can run.  The lab drives it
with the same load as the socketserver models to measure the load
generator's own ceiling: a model that comes close to the reference is
limited by the load generator (or the machine), not by its own design.

The first line on standard output names the address, as classicnet's
readiness line does, and with ``--events-fd N`` it writes the same
``listening`` event as classicnet's servers, so that the lab starts it
like any of them.  SIGTERM ends it (exit status 0).
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import sys

from ..endpoints import format_address

class EchoProtocol(asyncio.Protocol):
    """asyncio calls these methods as events happen on one connection."""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def serve(host, port, events_fd=None):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(EchoProtocol, host, port,
                                      backlog=socket.SOMAXCONN, reuse_address=True)
    stopped = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopped.set)
    address = format_address(server.sockets[0].getsockname())
    print(f"reference: serving echo (asyncio, not socketserver) on {address}",
          flush=True)
    if events_fd is not None:
        event = {"event": "listening", "transport": "tcp", "address": address}
        os.write(events_fd, (json.dumps(event) + "\n").encode("ascii"))
    async with server:
        await stopped.wait()


def main(argv):
    parser = argparse.ArgumentParser(prog="classicnet.lab.reference")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--events-fd", type=int)
    args = parser.parse_args(argv)
    asyncio.run(serve("127.0.0.1", args.port, args.events_fd))


if __name__ == "__main__":
    main(sys.argv[1:])
