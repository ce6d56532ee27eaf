"""The built-in handlers, one module each.

Every handler here is a plain ``socketserver`` request handler class, so
what a student reads in these files works with bare ``socketserver`` too.
Stream (TCP) handlers work on whatever chunk ``recv()`` returns and never
wait for a newline; datagram (UDP) handlers answer each datagram whole.

Importing this package registers nothing: ``classicnet.registry`` imports
a handler's module the first time its name is asked for (its table
``BUILTINS`` says which module holds which name).
"""
