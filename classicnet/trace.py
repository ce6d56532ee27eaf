"""``--trace``: watch socketserver serve each request, step by step.

socketserver hides the life of a request behind ``serve_forever()``.  This
module makes each step say its name as it happens, with the thread and the
process that runs it::

    verify_request     may this client be served?           server thread
    process_request    hand it to the model                 server thread
    finish_request     build the handler (runs the next 3)  the model's choice:
      setup              prepare (StreamRequestHandler        plain: server thread
      handle             makes rfile and wfile here)          threading: a new thread
      finish             flush and tidy up                    forking: a new process
    shutdown_request   close the client's socket
    handle_error       only when handle() raised

Run ``python -m classicnet echo --trace`` under ``--plain``,
``--threading`` and ``--forking`` and compare the thread names and
process ids: that *is* the difference between the models.

Nothing in the server classes knows about tracing.  ``trace_server()``
gives one running server a subclass of its own class (and of its handler
class) whose methods log, then call the real ones with ``super()``: the
same way socketserver's mix-ins add threads and processes.
"""

import logging
import os
import threading

from .text import format_address

__all__ = ["trace_server", "traced_handler_class", "traced_server_class"]

log = logging.getLogger("classicnet.trace")


def step(name, client=None):
    """Log one step with the thread and process that run it."""
    who = f"{threading.current_thread().name} pid {os.getpid()}"
    where = f"  {client}" if client else ""
    log.info("%-16s [%s]%s", name, who, where)


def describe_client(request, client_address=None):
    """The client's address for a trace line; TCP can ask the socket itself."""
    if client_address is not None:
        return format_address(client_address)
    try:
        return format_address(request.getpeername())
    except (AttributeError, OSError, IndexError, TypeError):
        return None


class TracingServerMixIn:
    """Logs the server's steps; comes first, so each call passes through it."""

    def verify_request(self, request, client_address):
        step("verify_request", describe_client(request, client_address))
        return super().verify_request(request, client_address)

    def process_request(self, request, client_address):
        step("process_request", describe_client(request, client_address))
        return super().process_request(request, client_address)

    def finish_request(self, request, client_address):
        step("finish_request", describe_client(request, client_address))
        return super().finish_request(request, client_address)

    def shutdown_request(self, request):
        step("shutdown_request", describe_client(request))
        return super().shutdown_request(request)

    def handle_error(self, request, client_address):
        step("handle_error", describe_client(request, client_address))
        return super().handle_error(request, client_address)


class TracingHandlerMixIn:
    """Logs the handler's three steps: setup, handle, finish."""

    def setup(self):
        step("setup", format_address(self.client_address))
        return super().setup()

    def handle(self):
        step("handle", format_address(self.client_address))
        return super().handle()

    def finish(self):
        step("finish", format_address(self.client_address))
        return super().finish()


def traced_server_class(server_class):
    """A subclass of *server_class* whose steps are logged."""
    return type(f"Traced{server_class.__name__}",
                (TracingServerMixIn, server_class), {})


def traced_handler_class(handler_class):
    """A subclass of *handler_class* whose setup, handle and finish are logged."""
    # The same name, so that error logs still name the student's class.
    return type(handler_class.__name__, (TracingHandlerMixIn, handler_class),
                {"__module__": handler_class.__module__,
                                "__doc__": handler_class.__doc__})


def trace_server(server):
    """Make a built server log every step of every request; return it.

    The server object stays the same; only its class, and the class of the
    handlers it builds, become the traced subclasses.
    """
    server.__class__ = traced_server_class(type(server))
    server.RequestHandlerClass = traced_handler_class(server.RequestHandlerClass)
    return server
