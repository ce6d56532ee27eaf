"""The one exception that every layer of classicnet shares.

A ``UsageError`` means "you asked for something that cannot be": a handler
name nobody registered, a transport a handler does not speak, a model this
platform lacks.  The command line turns it into one line on standard error
and exit status 2; library callers get an ordinary exception whose message
is that same line.

Anything else that goes wrong at start-up (a port already in use, a port
below 1024 without permission) is an ``OSError`` from the operating system
and keeps its own type: the command line reports it with exit status 1.
"""

__all__ = ["UsageError"]


class UsageError(ValueError):
    """A mistake in how classicnet was asked to run; the message says which."""
