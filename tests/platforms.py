"""Windows and macOS, simulated on Linux: what each lacks, removed before classicnet starts.

Nobody can run Windows or macOS here, so the tests run the real command
line in a Python whose start-up takes away what the other system does not
have.  ``simulated(system, directory)`` writes a ``sitecustomize.py`` into
*directory* and returns the environment changes that make every Python
started with them (the server, the lab's servers and load processes, a
client) load it first::

    env = simulated(WINDOWS, tmp_path)
    server = cli("echo", "--threading", env=env)

A simulation cannot change what the kernel does: the sockets, pipes and
signals underneath are still Linux's.  It checks that classicnet asks for
nothing the other system lacks, and that it takes the other road there.
"""

import os

from conftest import PYTHONPATH

# Attributes each system lacks (module -> names), and modules it has not.
WINDOWS = {
    "name": "windows",
    "attributes": {
        "os": ["fork", "forkpty", "O_DIRECTORY", "sendfile", "getloadavg"],
        "signal": ["sigwait", "pthread_sigmask", "sigtimedwait", "sigwaitinfo",
                   "pthread_kill"],
        "socket": ["AF_UNIX", "SO_PEERCRED"],
    },
    # Python on Windows has no C socketpair(): it pairs over loopback TCP.
    "loopback_socketpair": True,
    "modules": ["resource", "fcntl", "termios", "tty", "pty"],
    "proc": False,
}

MACOS = {
    "name": "macos",
    "attributes": {
        "signal": ["sigtimedwait", "sigwaitinfo"],
        "socket": ["SO_PEERCRED"],
        "select": ["epoll"],
    },
    "modules": [],
    "proc": False,
    "sendfile": "macos",
}

# The start-up itself: plain Python, run before anything else in each process.
SITECUSTOMIZE = '''\
"""A simulated {name}: what it lacks is taken away before any import."""
import builtins, io, os, sys

SPEC = {spec!r}
LOG = {log!r}

for module_name, names in SPEC["attributes"].items():
    module = __import__(module_name)
    for name in names:
        if hasattr(module, name):
            delattr(module, name)
for module_name in SPEC["modules"]:
    sys.modules[module_name] = None      # import fails with ImportError


def _note(what):
    caller = sys._getframe(2).f_code.co_filename
    with _open(LOG, "a") as log:
        log.write(f"{{what}} {{caller}}\\n")


_open = builtins.open

if SPEC.get("loopback_socketpair"):
    import socket

    def socketpair(family=socket.AF_INET, type=socket.SOCK_STREAM, proto=0):
        """Windows has no socketpair(): Python pairs two sockets over loopback TCP."""
        with socket.socket(family, type, proto) as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            one = socket.socket(family, type, proto)
            one.connect(listener.getsockname())
            other, _ = listener.accept()
        return one, other

    socket.socketpair = socketpair


def _without_proc(function):
    def replacement(path, *args, **kwargs):
        if isinstance(path, (str, bytes, os.PathLike)) and os.fsdecode(path).startswith("/proc"):
            _note(os.fsdecode(path))
            raise FileNotFoundError(2, "No such file or directory (simulated)", path)
        return function(path, *args, **kwargs)
    for supports in (os.supports_dir_fd, os.supports_fd, os.supports_follow_symlinks):
        if function in supports:
            supports.add(replacement)
    return replacement


if not SPEC["proc"]:
    builtins.open = io.open = _without_proc(builtins.open)
    for name in ("open", "stat", "lstat", "listdir", "scandir"):
        setattr(os, name, _without_proc(getattr(os, name)))

if SPEC.get("sendfile") == "macos" and hasattr(os, "sendfile"):
    _linux_sendfile = os.sendfile

    def sendfile(out_fd, in_fd, offset, count):
        """macOS: a count of 0 sends everything up to the end of the file."""
        _note(f"sendfile count={{count}}")
        if count == 0:
            count = max(1, os.fstat(in_fd).st_size - offset)
        return _linux_sendfile(out_fd, in_fd, offset, count)

    os.sendfile = sendfile
'''


def simulated(system, directory):
    """Write the start-up for *system* into *directory*; return the
    environment changes that apply it to every Python started with them.
    What the simulation noticed (a /proc read, a sendfile) goes to
    ``directory / "noticed.log"``, one line each, with the reading file."""
    log = os.path.join(directory, "noticed.log")
    open(log, "w").close()
    spec = {key: value for key, value in system.items() if key != "name"}
    with open(os.path.join(directory, "sitecustomize.py"), "w") as file:
        file.write(SITECUSTOMIZE.format(name=system["name"], spec=spec, log=log))
    return {"PYTHONPATH": os.pathsep.join([os.fspath(directory), PYTHONPATH])}


def noticed(directory):
    """The lines the simulation wrote: ``what caller``."""
    with open(os.path.join(directory, "noticed.log")) as log:
        return log.read().splitlines()
