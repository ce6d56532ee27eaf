"""The reference server, written with asyncio: NOT socketserver.

    python -m classicnet.lab.reference [--port PORT] [--delay MS | --cost MS]
                                       [--events-fd N]

It is here for contrast, not as a model to learn socketserver from.  One
thread runs an event loop that multiplexes every connection with
``select``/``epoll``: no thread or process per client.  It does the same
work as the lab's handlers, with asyncio's own means:

* ``--delay MS`` waits before each answer with ``await asyncio.sleep()``:
  the loop serves the other connections meanwhile, so waits overlap in one
  thread, as they do in threading's many;
* ``--cost MS`` computes before each answer *in the event loop*
  (``classicnet.handlers.work.compute``): while it computes, no other
  connection is served, so an event loop fixes waiting, not computing;
* with neither, it is a plain echo, about the cheapest server Python can
  run: the lab uses that to measure its load generator's own ceiling.

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
from ..handlers.work import compute


async def echo(reader, writer, delay, cost):
    """One connection: answer each chunk with itself, after the work."""
    try:
        while data := await reader.read(65536):
            if delay:
                await asyncio.sleep(delay / 1000)   # the loop serves others meanwhile
            if cost:
                compute(cost)                       # the loop serves nobody meanwhile
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def serve(host, port, events_fd=None, delay=0.0, cost=0.0):
    server = await asyncio.start_server(
        lambda reader, writer: echo(reader, writer, delay, cost), host, port,
        backlog=socket.SOMAXCONN, reuse_address=True)
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    address = format_address(server.sockets[0].getsockname())
    work = f", --delay {delay:g}" if delay else f", --cost {cost:g}" if cost else ""
    print(f"reference: serving echo{work} (asyncio, not socketserver) on {address}",
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
    work = parser.add_mutually_exclusive_group()
    work.add_argument("--delay", type=float, default=0.0, metavar="MS",
                      help="milliseconds to wait before each answer")
    work.add_argument("--cost", type=float, default=0.0, metavar="MS",
                      help="milliseconds of CPU to spend on each answer")
    args = parser.parse_args(argv)
    asyncio.run(serve("127.0.0.1", args.port, args.events_fd, args.delay, args.cost))


if __name__ == "__main__":
    main(sys.argv[1:])
