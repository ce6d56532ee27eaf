"""``classicnet lab --html`` and ``--serve``: the lesson page as the runs go.

The page is written by ``classicnet.lab.watching.LivePage`` each time a
model finishes; with ``--serve`` it is also served over HTTP on the
project's own ``http`` handler (``classicnet.lab.serving``), and the page
stays on after the runs until Ctrl-C.
"""

import os
import signal
import tempfile
import threading

from .. import compat, launcher
from ..endpoints import Endpoint
from .logs import events_fd_listener
from .messages import PROG, explain_os_error

__all__ = ["live_page", "start_page_server", "wait_until_stopped"]


def start_page_server(lab, folder, args, stack):
    """Serve *folder* as ``--host`` and ``--port`` say, until *stack* closes;
    returns the server.  LabError when the address cannot be bound."""
    from ..lab.serving import serve_folder
    listeners = []
    if args.events_fd is not None:
        listeners.append(events_fd_listener(args.events_fd,
                                            "the program that starts the lab"))
    try:
        server, thread = serve_folder(folder, args.host, args.port, listeners)
    except OSError as error:
        where = Endpoint("tcp", (args.host, args.port))
        raise lab.LabError(explain_os_error(error, where)) from None
    stack.callback(launcher.stop, server, thread)
    print(f"{PROG} lab: the lesson page is at http://{server.endpoint}/, "
          f"serving on {server.endpoint}", flush=True)
    return server


def live_page(lab, args, all_settings, stack):
    """The lesson page as the runs go (``--html``, ``--serve``), or None;
    with ``--serve``, the server that shows it too."""
    from ..lab.watching import LivePage
    pages, server = [args.html] if args.html else [], None
    if args.serve:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="classicnet-lab-"))
        pages.append(os.path.join(folder, "index.html"))
    if not pages:
        return None, None
    page = LivePage(pages, all_settings, args.lang, lab.machine_line(),
                    lab.timeline_clients)
    if args.serve:
        server = start_page_server(lab, folder, args, stack)
    return page, server


def wait_until_stopped(server):
    """Keep the finished page on until Ctrl-C or SIGTERM (or, on Windows,
    Ctrl-Break: ``compat.INTERRUPT_SIGNALS``)."""
    stopped = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stopped.set())
                for signum in compat.INTERRUPT_SIGNALS}
    print(f"the page stays on http://{server.endpoint}/ until Ctrl-C", flush=True)
    try:
        while not stopped.wait(0.5):
            pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
