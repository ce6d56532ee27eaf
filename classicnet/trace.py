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
class) whose methods emit a ``step`` event, then call the real ones with
``super()``: the same way socketserver's mix-ins add threads and
processes.  The event says which thread and process ran the step; the log
(``classicnet.events.log_event``) prints it.
"""

__all__ = ["trace_server", "traced_handler_class", "traced_server_class"]


def peer_of(request):
    """A TCP client's address, asked of its socket (None for UDP, or if gone)."""
    try:
        return request.getpeername()
    except (AttributeError, OSError):
        return None


class TracingServerMixIn:
    """Emits a ``step`` event per server step; comes first, so each call
    passes through it."""

    def step(self, name, client):
        self.events.emit("step", client, step=name)

    def verify_request(self, request, client_address):
        self.step("verify_request", client_address)
        return super().verify_request(request, client_address)

    def process_request(self, request, client_address):
        self.step("process_request", client_address)
        return super().process_request(request, client_address)

    def finish_request(self, request, client_address):
        self.step("finish_request", client_address)
        return super().finish_request(request, client_address)

    def shutdown_request(self, request):
        self.step("shutdown_request", peer_of(request))
        return super().shutdown_request(request)

    def handle_error(self, request, client_address):
        self.step("handle_error", client_address)
        return super().handle_error(request, client_address)


class TracingHandlerMixIn:
    """Emits a ``step`` event for the handler's three steps: setup, handle, finish."""

    def setup(self):
        self.server.step("setup", self.client_address)
        return super().setup()

    def handle(self):
        self.server.step("handle", self.client_address)
        return super().handle()

    def finish(self):
        self.server.step("finish", self.client_address)
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
