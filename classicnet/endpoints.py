"""Endpoints: where a server listens, or where a client connects.

An endpoint is a *transport* and an *address*.  The transport says which
kind of socket to make; the address, where it is::

    transport    socket                             address         printed as
    ----------   --------------------------------   -------------   ---------------
    tcp          AF_INET or AF_INET6, SOCK_STREAM   (host, port)    127.0.0.1:9000
    udp          AF_INET or AF_INET6, SOCK_DGRAM    (host, port)    [::1]:9000
    tls          tcp, wrapped in TLS (ssl)          (host, port)    127.0.0.1:9443
    unix         AF_UNIX, SOCK_STREAM               a file path     /tmp/echo.sock
    unix-dgram   AF_UNIX, SOCK_DGRAM                a file path     /tmp/echo.sock

The address family follows from the address, as ``http.server`` chooses it:
``::1`` is IPv6, ``127.0.0.1`` and ``localhost`` are IPv4, and a path (a
string rather than a pair) is a Unix-domain socket.  Each transport
also says which kind of handler serves it (``registry.KINDS``): a stream
socket is served by a "tcp" handler, a datagram socket by a "udp" one.

This module is the only one that parses or formats an address.  Every
other module asks it: the readiness line, every log line, the clients, the
tests.  A new transport (TLS, a Unix-domain socket) is a new row of
``TRANSPORTS`` and of the server table, not an edit across the code.

A host is checked before anything is bound, so that a mistyped one is one
line of error, not a traceback from deep inside the ``idna`` codec::

    >>> check_host("a..b")
    Traceback (most recent call last):
    ...
    classicnet.errors.UsageError: --host 'a..b' is not a valid host name: it has an empty label
"""

import os
import socket
import sys
from collections import namedtuple

from .errors import UsageError

__all__ = [
    "Endpoint", "TRANSPORTS", "address_in_line", "check_host", "family_of",
    "format_address", "parse_address", "read_address", "server_endpoint",
    "unix_endpoint",
]

Transport = namedtuple("Transport", "socket_type kind")

TRANSPORTS = {
    "tcp": Transport(socket.SOCK_STREAM, "tcp"),
    "udp": Transport(socket.SOCK_DGRAM, "udp"),
    "tls": Transport(socket.SOCK_STREAM, "tcp"),
    "unix": Transport(socket.SOCK_STREAM, "tcp"),
    "unix-dgram": Transport(socket.SOCK_DGRAM, "udp"),
}

# The transport a Unix-domain socket takes, by the kind of handler it serves.
UNIX_TRANSPORTS = {"tcp": "unix", "udp": "unix-dgram"}

# How a Unix-domain peer that never bound a path of its own is named.
UNNAMED_PEER = "(unnamed)"

MAX_LABEL = 63          # bytes in one dot-separated part of a host name
MAX_NAME = 253          # bytes in a whole host name (RFC 1035)


class Endpoint(namedtuple("Endpoint", "transport address tls", defaults=(None,))):
    """A transport name (a key of ``TRANSPORTS``), an address, and for a
    client of a "tls" endpoint the ``ssl.SSLContext`` it connects with."""

    __slots__ = ()

    @property
    def socket_type(self):
        return TRANSPORTS[self.transport].socket_type

    @property
    def kind(self):
        """The kind of handler that serves this endpoint: "tcp" or "udp"."""
        return TRANSPORTS[self.transport].kind

    @property
    def family(self):
        return family_of(self.address)

    def __str__(self):
        return format_address(self.address)

    def connect(self, timeout=None):
        """A client socket for this endpoint, and the address to talk to.

        A stream socket comes connected; a datagram socket is not (UDP has
        no connection), so every ``sendto`` names the address.  A "tls"
        socket has finished its handshake, the server's certificate checked
        as ``self.tls`` says.
        """
        if isinstance(self.address, str):
            return self._connect_unix(timeout)
        check_host(self.address[0], "host")
        try:
            if self.socket_type == socket.SOCK_STREAM:
                sock = socket.create_connection(self.address, timeout=timeout)
                if self.transport == "tls":
                    sock = self._handshake(sock)
                return sock, sock.getpeername()
            family, kind, proto, _, address = socket.getaddrinfo(
                *self.address[:2], type=self.socket_type)[0]
        except socket.gaierror as error:
            raise UsageError(f"cannot resolve host {self.address[0]!r}: "
                             f"{error.strerror}") from None
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        return sock, address

    def _handshake(self, sock):
        if self.tls is None:
            raise UsageError("a tls endpoint needs an ssl.SSLContext to connect with")
        try:
            return self.tls.wrap_socket(sock, server_hostname=self.address[0])
        except BaseException:
            sock.close()
            raise

    def _connect_unix(self, timeout):
        """A Unix-domain socket for the path; a datagram one is bound to a
        name of its own, since a server can only answer a named sender."""
        sock = socket.socket(socket.AF_UNIX, self.socket_type)
        sock.settimeout(timeout)
        try:
            if self.socket_type == socket.SOCK_STREAM:
                sock.connect(self.address)
            else:
                sock.bind(_own_datagram_name())
        except BaseException:
            sock.close()
            raise
        return sock, self.address


def _own_datagram_name():
    """Linux names a socket bound to "" itself, in its abstract namespace
    (no file); elsewhere a fresh file in a private directory does it."""
    if sys.platform.startswith("linux"):
        return ""
    import tempfile
    return os.path.join(tempfile.mkdtemp(prefix="classicnet-"), "client.sock")


def unix_endpoint(path, kind="tcp"):
    """The endpoint of a Unix-domain socket at *path*, for a *kind* handler."""
    if not path:
        raise UsageError("--unix is empty; give the path of a socket file, "
                         "such as /tmp/echo.sock")
    return Endpoint(UNIX_TRANSPORTS[kind], os.path.abspath(path))


def server_endpoint(transport, host, port):
    """The endpoint a server asked for on the command line binds; host checked."""
    if transport not in TRANSPORTS:
        raise UsageError(f"unknown transport {transport!r}; choose from: "
                         f"{', '.join(TRANSPORTS)}")
    return Endpoint(transport, (check_host(host), port))


def check_host(host, what="--host"):
    """Return *host* if it can name an address, else raise UsageError;
    *what* names it in the message."""
    if not host:
        raise UsageError(f"{what} is empty; give an address such as 127.0.0.1, "
                         "or 0.0.0.0 for every network")
    if _is_address_literal(host):
        return host
    problem = _host_name_problem(host)
    if problem:
        raise UsageError(f"{what} {host!r} is not a valid host name: {problem}")
    return host


def _is_address_literal(host):
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host.split("%", 1)[0])   # fe80::1%eth0
            return True
        except (OSError, ValueError):
            pass
    return False


def _host_name_problem(host):
    """Why *host* cannot be a host name, or None."""
    name = host[:-1] if host.endswith(".") else host      # "example.com." is fine
    if any(char in name for char in ":/[]@ "):
        return "it is neither a name nor an IPv4 or IPv6 address"
    labels = name.split(".")
    if "" in labels:
        return "it has an empty label"
    length = len(labels) - 1
    for label in labels:
        try:
            encoded = label.encode("idna")
        except UnicodeError:
            encoded = None
        if len(label) > MAX_LABEL or (encoded and len(encoded) > MAX_LABEL):
            return f"a label is longer than {MAX_LABEL} characters"
        if encoded is None:
            return f"the label {label!r} cannot be encoded for DNS (IDNA)"
        length += len(encoded)
    if length > MAX_NAME:
        return f"it is longer than {MAX_NAME} characters"
    return None


def family_of(address):
    """The address family for *address*: AF_UNIX for a path, AF_INET6 for
    an IPv6 host, AF_INET for an IPv4 one, and whatever the resolver says
    for a name."""
    if isinstance(address, (str, bytes)):
        return socket.AF_UNIX
    host = address[0]
    if ":" in host:
        return socket.AF_INET6
    if _is_address_literal(host) or not host:
        return socket.AF_INET
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise UsageError(f"cannot resolve host {host!r}: {error.strerror}") from None
    return infos[0][0]


def format_address(address):
    """``("127.0.0.1", 9000)`` -> ``127.0.0.1:9000``; IPv6 hosts go in brackets;
    a Unix-domain path is itself, and a peer without one ``(unnamed)``."""
    if isinstance(address, bytes):      # Linux's abstract names: b"\0..."
        address = address.decode("utf-8", "replace").replace("\0", "@")
    if isinstance(address, str):
        return address or UNNAMED_PEER
    host, port = address[0], address[1]
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}"


def parse_address(text):
    """``127.0.0.1:9000`` or ``[::1]:9000`` -> ``(host, port)``, or ValueError."""
    host, colon, port = text.strip().rpartition(":")
    if not colon or not port.isdigit() or not host:
        raise ValueError(f"not an address of the form HOST:PORT: {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def address_in_line(line):
    """The address a readiness line names: ``... on 127.0.0.1:9000``, or
    the path in ``... on /tmp/echo.sock``."""
    before, on, address = line.rstrip("\n").rpartition(" on ")
    if not on:
        raise ValueError(f"not a readiness line: {line!r}")
    return read_address(address)


def read_address(text):
    """An address as ``str(endpoint)`` printed it: a Unix socket's absolute
    path stays a path; anything else is ``HOST:PORT`` (``parse_address``)."""
    if text.startswith("/"):
        return text
    return parse_address(text)
