"""Storage: a directory that only ever holds whole files, and nothing outside it.

The files server (``classicnet.handlers.files``) keeps its files under one
root directory, and clients may be careless or hostile.  These are the
rules that keep the root safe, whatever a client sends and however a
connection ends (CNFP/1, ``docs/protocol.md``), one at a time:

* Every name is looked up *relative to a descriptor of the root*
  (``dir_fd``) and opened with ``O_NOFOLLOW``.  The server passes only one
  plain file name (``fields.check_file_name``) and never joins a client's
  text onto a path, so neither ``../x`` nor a symbolic link inside the
  root can reach anything outside it.
* An upload is written to ``.cnfp-upload-PID-RANDOM.part`` beside its
  target (an ``uploads.Upload``) and gets its real name only at ``commit()``, once
  every byte has arrived and been checked.  Anything else (a cut
  connection, a refusal, a full disk) removes the temporary file, so a
  half-written file never appears under a real name.  Temporary files are
  never listed, and those a killed server left behind are removed when the
  next one starts (``clear_leftovers()``).
* A new name appears with ``os.link``, which fails if the name exists,
  atomically: no other upload can slip in between check and write.  An
  existing file is replaced with ``os.replace``, and only when asked to.
* What gets a name is the file the upload wrote, reached through its open
  descriptor, not through the temporary name: a local user may swap that
  name for a symbolic link to a file outside the root, and the server must
  never publish that file (``uploads.Upload.commit()`` says how).

Every failure is a ``StorageError`` whose message is one line a person
can read: the server sends it to the client as it is.

POSIX only: Windows has no ``dir_fd`` and no ``O_NOFOLLOW``.
"""

import errno
import os
import stat

from .compat import process_exists
from .fields import quoted

__all__ = ["Root", "StorageError", "clear_leftovers", "identity_of", "is_temporary",
           "temporary_name"]

TEMPORARY_PREFIX = ".cnfp-upload-"
TEMPORARY_SUFFIX = ".part"



class StorageError(Exception):
    """Something the root cannot do; the message says why, in one line."""


def is_temporary(name):
    """True for the name of an upload still in progress (or left by a crash)."""
    return name.startswith(TEMPORARY_PREFIX) and name.endswith(TEMPORARY_SUFFIX)


def clear_leftovers(root):
    """Remove the temporary files of servers that no longer run; return their names.

    Only what a server like this one made is touched: a regular file (not a
    directory or a link that merely has such a name), owned by this user,
    whose writer is gone.  The writer's process id is part of each
    temporary name, so a server started beside a running one leaves the
    other's uploads alone.  An entry that cannot be removed is left.
    """
    removed = []
    with os.scandir(root) as entries:
        for entry in entries:
            if is_leftover(entry):
                try:
                    os.unlink(entry.path)
                except OSError:
                    continue        # gone already, or not ours to remove
                removed.append(entry.name)
    return removed


def is_leftover(entry):
    """True for a temporary file (an ``os.DirEntry``) that a stopped server left."""
    if not is_temporary(entry.name) or _writer_alive(entry.name):
        return False
    try:
        return (entry.is_file(follow_symlinks=False)
                and entry.stat(follow_symlinks=False).st_uid == os.getuid())
    except OSError:
        return False


def _writer_alive(name):
    pid = name[len(TEMPORARY_PREFIX):].split("-")[0]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    return process_exists(int(pid))


def identity_of(path):
    """What makes a directory the same directory, whatever its path: device and inode."""
    status = os.stat(path)
    return status.st_dev, status.st_ino


class Root:
    """The root directory, opened once: every name is looked up inside it.

    With *identity* (``identity_of()`` at start-up), the directory opened
    must be the one the server started with: whoever can write beside the
    root could otherwise rename it and put a link to another directory in
    its place, and the next connection would serve that one.

    Methods for the caller: ``files()``, ``open_for_reading()``,
    ``check_target()``, ``close()``; ``uploads.Upload(root)`` writes into it.
    """

    def __init__(self, path, identity=None):
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as error:
            raise StorageError(f"the root directory cannot be opened any more "
                               f"({error.strerror})") from None
        status = os.fstat(self.fd)
        if identity is not None and (status.st_dev, status.st_ino) != identity:
            os.close(self.fd)
            raise StorageError("the root directory was moved or replaced since the "
                               "server started; nothing is served")

    def close(self):
        os.close(self.fd)

    def files(self):
        """``(name, size)`` of every regular file but the temporary ones, by name."""
        found = []
        with os.scandir(self.fd) as entries:
            for entry in entries:
                if is_temporary(entry.name) or not entry.is_file(follow_symlinks=False):
                    continue
                try:
                    found.append((entry.name, entry.stat(follow_symlinks=False).st_size))
                except OSError:
                    continue        # removed while we looked
        return sorted(found)

    def open_for_reading(self, name):
        """The regular file *name*, opened without following links (unbuffered)."""
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK  # a FIFO must not block
        try:
            fd = os.open(name, flags, dir_fd=self.fd)
        except FileNotFoundError:
            raise StorageError(f"no file named {quoted(name)} here") from None
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.EMLINK):
                raise StorageError(f"{quoted(name)} is a symbolic link, and links are "
                                   "never followed") from None
            raise StorageError(f"cannot read {quoted(name)}: {error.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise StorageError(f"{quoted(name)} is not a regular file")
        return open(fd, "rb", buffering=0)

    def check_target(self, name, overwrite):
        """Refuse, before any byte is stored, an upload that could not get *name*."""
        try:
            status = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if not stat.S_ISREG(status.st_mode):
            raise StorageError(f"{quoted(name)} exists and is not a regular file; "
                               "only regular files are replaced")
        if not overwrite:
            raise StorageError(f"{quoted(name)} already exists; send \"overwrite\": true "
                               "to replace it")



def temporary_name():
    """A new temporary name; the writer's process id says whose it is."""
    return f"{TEMPORARY_PREFIX}{os.getpid()}-{os.urandom(8).hex()}{TEMPORARY_SUFFIX}"
