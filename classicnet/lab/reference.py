"""The reference echo server, written with asyncio: NOT socketserver.

    python -m classicnet.lab.reference PORT

It is here for contrast and as a yardstick, not as a model to learn
socketserver from.  One thread runs an event loop that multiplexes every
connection with ``select``/``epoll``: no thread or process per client, so
it is about the cheapest echo server Python can run.  The lab drives it
with the same load as the socketserver models to measure the load
generator's own ceiling: a model that comes close to the reference is
limited by the load generator (or the machine), not by its own design.

The first line on standard output names the address, as classicnet's
readiness line does.  SIGTERM ends it (exit status 0).
"""

import asyncio
import signal
import socket
import sys

from ..text import format_address

class EchoProtocol(asyncio.Protocol):
    """asyncio calls these methods as events happen on one connection."""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def serve(host, port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(EchoProtocol, host, port,
                                      backlog=socket.SOMAXCONN, reuse_address=True)
    stopped = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopped.set)
    address = format_address(server.sockets[0].getsockname())
    print(f"reference: serving echo (asyncio, not socketserver) on {address}",
          flush=True)
    async with server:
        await stopped.wait()


def main(argv):
    port = int(argv[0]) if argv else 0
    asyncio.run(serve("127.0.0.1", port))


if __name__ == "__main__":
    main(sys.argv[1:])
