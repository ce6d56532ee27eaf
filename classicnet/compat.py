"""What differs between the systems classicnet runs on, written down in one place.

classicnet is built on Linux, and most students run Windows or macOS.  Every
place where the three differ is decided here, the way ``socketserver``
decides its own (``if hasattr(os, "fork"):``): by asking the running Python
what it has, and by the system's name only where Python cannot tell (the
form of a socket option, Windows' missing Unix datagrams).  The rest of
classicnet asks this module, so a reader finds each difference once::

    what                     Linux       macOS          Windows
    -----------------------  ----------  -------------  -----------------------
    --forking (os.fork)      yes         yes            refused in one line
    stop on Ctrl-C, SIGTERM  sigwait()   signal noted,  signal noted, polled
                                         polled (no     (no signal masks;
                                         sigtimedwait)  Ctrl-Break too)
    --unix stream sockets    yes         yes            refused: no AF_UNIX in Python
    --unix datagrams         yes         yes            refused in one line
    idle timeout option      timeval     timeval        DWORD of milliseconds
    SO_REUSEADDR (TCP)       set         set            not set: it would let a
                                                        second server share a port
    files server (dir_fd)    yes         yes            refused in one line
    is a process alive?      kill(pid,0) kill(pid,0)    presumed (kill would end it)
    lab: the server's CPU    /proc and   not measured   the lab cannot run: its
                             resource                   servers' events come
    lab: events (pass_fds)   yes         yes            through a passed pipe
    Python 3.9               sys.stdlib_module_names missing: is_standard_module()

(PyPy 3.9 lacks sigtimedwait() as macOS does, and takes the same road.)

Leaf module: it imports nothing of classicnet, and importing it changes
nothing.  Tests simulate a system by removing what it lacks before
classicnet is imported (``tests/platforms.py``).
"""

import os
import signal
import socket
import struct
import sys

try:
    import resource
except ImportError:             # Windows
    resource = None

__all__ = [
    "CAN_FORK", "CAN_PASS_FDS", "CAN_WAIT_FOR_SIGNALS", "HAS_DIR_FD",
    "INTERRUPT_SIGNALS",
    "HAS_UNIX_DATAGRAMS", "HAS_UNIX_SOCKETS", "children_cpu_seconds",
    "fork_refusal", "idle_timeout_option", "is_standard_module", "process_exists", "reuses_address",
    "unix_refusal",
]

# --- processes ----------------------------------------------------------------

# socketserver offers ForkingMixIn only where os.fork exists; so does classicnet.
CAN_FORK = hasattr(os, "fork")

# A child process can be handed an open pipe (subprocess's pass_fds): POSIX only.
CAN_PASS_FDS = os.name == "posix"

# --- signals --------------------------------------------------------------------

# The launcher holds SIGINT and SIGTERM back and collects them with sigwait(),
# then polls for a second one with sigtimedwait().  Windows has none of the
# three and macOS lacks sigtimedwait(); there, Ctrl-C raises KeyboardInterrupt
# in the main thread, as it does for socketserver's own serve_forever().
CAN_WAIT_FOR_SIGNALS = all(hasattr(signal, name) for name in
                           ("pthread_sigmask", "sigwait", "sigtimedwait"))

# The signals that stop a server there: Ctrl-C, SIGTERM, and on Windows
# Ctrl-Break, which a console sends to a program that ignores Ctrl-C.
INTERRUPT_SIGNALS = tuple(getattr(signal, name) for name in
                          ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, name))

# --- sockets --------------------------------------------------------------------

HAS_UNIX_SOCKETS = hasattr(socket, "AF_UNIX")

# Windows 10 has Unix-domain stream sockets but never datagram ones.
HAS_UNIX_DATAGRAMS = HAS_UNIX_SOCKETS and sys.platform != "win32"


def reuses_address(platform=sys.platform):
    """Whether a stream server sets SO_REUSEADDR, to bind again at once a
    port whose last connections are in TIME_WAIT.  Not on Windows: there
    the option lets a second server take a port that another one is
    listening on, and TIME_WAIT never blocked a bind in the first place."""
    return platform != "win32"


def fork_refusal(what="--forking"):
    """The one line that says *what* cannot run without os.fork()."""
    return (f"{what} needs os.fork(), which {sys.platform} does not have; "
            "use --threading")


def unix_refusal(kind):
    """Why a Unix-domain socket of *kind* ("tcp" for stream, "udp" for
    datagram) cannot be made here, in one line; None when it can."""
    if not HAS_UNIX_SOCKETS:
        return (f"--unix needs Unix-domain sockets (socket.AF_UNIX), which "
                f"Python on {sys.platform} does not have; use --host and --port")
    if kind == "udp" and not HAS_UNIX_DATAGRAMS:
        return (f"--unix with --udp needs Unix-domain datagram sockets, which "
                f"{sys.platform} does not have; use --unix without --udp")
    return None


def idle_timeout_option(seconds, platform=sys.platform):
    """The value of SO_RCVTIMEO and SO_SNDTIMEO for *seconds*, as *platform* takes it.

    POSIX systems take a ``struct timeval`` (seconds and microseconds, two
    C longs: on macOS the second is an int, which the same 16 bytes hold on
    its little-endian processors); Windows takes a DWORD of milliseconds.
    Either way 0 would mean "wait for ever", so the shortest timeout is one
    unit, never zero.
    """
    if platform == "win32":
        return struct.pack("@I", max(1, round(seconds * 1000)))
    whole, micro = divmod(max(1, round(seconds * 1_000_000)), 1_000_000)
    return struct.pack("@ll", whole, micro)


def no_timeout_option(platform=sys.platform):
    """The value of SO_RCVTIMEO and SO_SNDTIMEO that means "wait for ever"."""
    return struct.pack("@I", 0) if platform == "win32" else struct.pack("@ll", 0, 0)


# --- files ----------------------------------------------------------------------

# The files server opens every name relative to its root directory's file
# descriptor, so that no name or symbolic link can lead outside it.
HAS_DIR_FD = hasattr(os, "O_DIRECTORY") and os.open in os.supports_dir_fd

# --- Python versions ----------------------------------------------------------


def is_standard_module(name):
    """True when *name* is a module of Python's own library: a student's
    file of that name would hide it.  Python 3.10 keeps the list
    (``sys.stdlib_module_names``); on 3.9 the module is looked for, and
    counts when it is built in or lies in the library's folder."""
    names = getattr(sys, "stdlib_module_names", None)
    if names is not None:
        return name in names
    if name in sys.builtin_module_names:
        return True
    import importlib.util
    import sysconfig
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.origin:
        return False
    library = os.path.realpath(sysconfig.get_paths()["stdlib"])
    origin = os.path.realpath(spec.origin)
    return (origin.startswith(library + os.sep)
            and "site-packages" not in origin.split(os.sep))


def process_exists(pid):
    """Whether process *pid* is running: signal 0 asks, on POSIX.  Windows
    has no signal 0 (its ``os.kill`` would end the process), so there every
    process is taken to be running, and what it left is left alone."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True         # a process of another user
    return True


# --- the lab's figures -----------------------------------------------------------


def children_cpu_seconds():
    """CPU seconds used by this process's ended children, or None without
    ``resource`` (Windows)."""
    if resource is None:
        return None
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
