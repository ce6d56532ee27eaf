"""Unix-domain servers: a socket that is a file, for clients on this machine.

A Unix-domain socket (AF_UNIX) is named by a path instead of a host and
port, and never leaves the machine: the kernel copies bytes from one
process to the other, with no TCP, no IP, no checksums.  socketserver
offers ``UnixStreamServer`` and ``UnixDatagramServer``; classicnet's add
the classroom settings, and the rules for the socket *file*::

    at PATH before binding          what happens
    -----------------------------   ----------------------------------------
    nothing                         the socket is made there
    a socket nobody listens on      a dead server's stale socket: replaced
    a socket a server listens on    refused: "address already in use"
    anything else (a file, a dir)   refused, and left untouched

The socket file is made owner-only (mode 0600, ``socket_mode``): on Unix,
whoever may write to the file may connect.  Linux takes the mode from the
socket before ``bind()`` (``fchmod``), so there is no moment when it is
open to others; ``chmod`` after binding sets it exactly, whatever the
umask.  A clean stop removes the file.

A stream client usually binds no path, so ``accept()`` names it ``''``.
Where the platform says who is at the other end (Linux's SO_PEERCRED),
the client's address becomes ``pid 4121 uid 1000``, which is what the log
and ``who`` show.  A datagram client must bind a path (or Linux's
abstract name) to be answered at all: that name is its address.
"""

import errno
import os
import socket
import socketserver
import stat
import struct

from .classroom import ClassroomServer
from .streams import TCPServer

__all__ = ["DEFAULT_SOCKET_MODE", "UnixDatagramServer", "UnixStreamServer",
           "peer_name"]

DEFAULT_SOCKET_MODE = 0o600

# struct ucred: the pid, uid and gid of the process at the other end.
UCRED = struct.Struct("3i")


class SocketFile:
    """Mixed into both Unix servers: the rules for the file at the path.

    Class variables that may be overridden: ``socket_mode``.
    """

    socket_mode = DEFAULT_SOCKET_MODE
    own_file = None

    def server_bind(self):
        path = self.server_address
        clear_stale_socket(path, self.socket_type)
        if hasattr(os, "fchmod"):
            os.fchmod(self.socket.fileno(), self.socket_mode)
        super().server_bind()
        os.chmod(path, self.socket_mode)
        self.own_file = os.stat(path).st_ino

    def set_socket_mode(self, mode):
        """Give the bound socket file another mode (``--unix-mode 660``)."""
        self.socket_mode = mode
        os.chmod(self.server_address, mode)

    def server_close(self):
        """Close the socket, and remove its file, if it is still ours."""
        super().server_close()
        path, inode, self.own_file = self.server_address, self.own_file, None
        try:
            if inode is not None and os.stat(path).st_ino == inode:
                os.unlink(path)
        except FileNotFoundError:
            pass  # removed by someone else already


def clear_stale_socket(path, socket_type):
    """Make room at *path* for a new socket, or raise OSError saying why not.

    A socket that refuses a connection is a dead server's, and is removed;
    a live one, or anything that is not a socket, stays.
    """
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(errno.EEXIST, "something that is not a socket is there "
                      "(it was left untouched; give another path)", path)
    with socket.socket(socket.AF_UNIX, socket_type) as probe:
        try:
            probe.connect(path)
        except (ConnectionRefusedError, FileNotFoundError):
            os.unlink(path)
            return
        except OSError as error:
            if error.errno != errno.EPROTOTYPE:
                raise
    raise OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE), path)


def peer_name(connection, client_address):
    """What to call a Unix stream client: its path, or its pid and uid from
    SO_PEERCRED where the platform has it, or socketserver's ``''``."""
    if client_address or not hasattr(socket, "SO_PEERCRED"):
        return client_address
    try:
        pid, uid, _ = UCRED.unpack(connection.getsockopt(
            socket.SOL_SOCKET, socket.SO_PEERCRED, UCRED.size))
    except OSError:
        return client_address
    return f"pid {pid} uid {uid}"


class UnixStreamServer(SocketFile, TCPServer):
    """A classroom stream server on a Unix-domain socket (the limits of
    ``TCPServer``, none of its port rules)."""

    transport = "unix"
    address_family = socket.AF_UNIX
    allow_reuse_address = False

    def get_request(self):
        connection, client_address = super().get_request()
        return connection, peer_name(connection, client_address)


class UnixDatagramServer(SocketFile, ClassroomServer, socketserver.UnixDatagramServer):
    """A classroom datagram server on a Unix-domain socket.

    Only processes on this machine can send to it, and the kernel names
    each sender truly, so the reflection rules of UDP (``datagrams``) have
    nothing to guard against; datagrams no one could be answered at (an
    empty one, one from a socket with no name) are dropped.
    """

    transport = "unix-dgram"
    arrival = "datagram from"
    address_family = socket.AF_UNIX
    max_packet_size = 65535

    def get_request(self):
        data, client_address = self.socket.recvfrom(self.max_packet_size)
        return (data, self.socket), client_address

    def verify_request(self, request, client_address):
        if request[0] and client_address:
            return True
        reason = "empty datagram" if not request[0] else "the sender has no name"
        self.events.emit("dropped", client_address, reason=reason)
        return False

    def shutdown_request(self, request):
        """Nothing to shut down or close: a datagram has no connection."""
