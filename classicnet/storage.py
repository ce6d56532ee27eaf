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
  target (an ``Upload``) and gets its real name only at ``commit()``, once
  every byte has arrived and been checked.  Anything else (a cut
  connection, a refusal, a full disk) removes the temporary file, so a
  half-written file never appears under a real name.  Temporary files are
  never listed, and those a killed server left behind are removed when the
  next one starts (``clear_leftovers()``).
* A new name appears with ``os.link``, which fails if the name exists,
  atomically: no other upload can slip in between check and write.  An
  existing file is replaced with ``os.replace``, and only when asked to.

Every failure is a ``StorageError`` whose message is one line a person
can read: the server sends it to the client as it is.

POSIX only: Windows has no ``dir_fd`` and no ``O_NOFOLLOW``.
"""

import errno
import os
import stat

from .compat import process_exists

__all__ = ["Root", "StorageError", "Upload", "clear_leftovers", "is_temporary"]

TEMPORARY_PREFIX = ".cnfp-upload-"
TEMPORARY_SUFFIX = ".part"


class StorageError(Exception):
    """Something the root cannot do; the message says why, in one line."""


def is_temporary(name):
    """True for the name of an upload still in progress (or left by a crash)."""
    return name.startswith(TEMPORARY_PREFIX) and name.endswith(TEMPORARY_SUFFIX)


def clear_leftovers(root):
    """Remove the temporary files of servers that no longer run; return their names.

    The writer's process id is part of each temporary name, so a server
    started beside a running one leaves the other's uploads alone.
    """
    removed = []
    with os.scandir(root) as entries:
        for entry in entries:
            if is_temporary(entry.name) and not _writer_alive(entry.name):
                try:
                    os.unlink(entry.path)
                except FileNotFoundError:
                    continue
                removed.append(entry.name)
    return removed


def _writer_alive(name):
    pid = name[len(TEMPORARY_PREFIX):].split("-")[0]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    return process_exists(int(pid))


class Root:
    """The root directory, opened once: every name is looked up inside it.

    Methods for the caller: ``files()``, ``open_for_reading()``,
    ``check_target()``, ``upload()``, ``close()``.
    """

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)

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
            raise StorageError(f"no file named {name!r} here") from None
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.EMLINK):
                raise StorageError(f"{name!r} is a symbolic link, and links are "
                                   "never followed") from None
            raise StorageError(f"cannot read {name!r}: {error.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise StorageError(f"{name!r} is not a regular file")
        return open(fd, "rb", buffering=0)

    def check_target(self, name, overwrite):
        """Refuse, before any byte is stored, an upload that could not get *name*."""
        try:
            status = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if not stat.S_ISREG(status.st_mode):
            raise StorageError(f"{name!r} exists and is not a regular file; "
                               "only regular files are replaced")
        if not overwrite:
            raise StorageError(f"{name!r} already exists; send \"overwrite\": true "
                               "to replace it")

    def upload(self):
        """A new ``Upload`` into this root."""
        return Upload(self.fd)


class Upload:
    """One upload on its way in: a temporary file beside its target, until ``commit()``.

    ::

        with root.upload() as upload:
            for chunk in chunks:
                upload.write(chunk)
            upload.commit(name, overwrite)  # now, and only now, it has a name

    Leaving the ``with`` block without ``commit()``, for whatever reason (an
    exception, Ctrl-C, a server cutting its clients), removes the temporary
    file.
    """

    def __init__(self, root_fd):
        self.root = root_fd
        self.temporary = (f"{TEMPORARY_PREFIX}{os.getpid()}-{os.urandom(8).hex()}"
                          f"{TEMPORARY_SUFFIX}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        try:
            self.fd = os.open(self.temporary, flags, 0o666, dir_fd=root_fd)
        except OSError as error:
            raise StorageError(f"cannot store uploads here: {error.strerror}") from None
        self.committed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        if not self.committed:
            self.remove()

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def write(self, data):
        """Write all of *data* (one ``os.write`` may write only part of it)."""
        try:
            while data:
                data = data[os.write(self.fd, data):]
        except OSError as error:
            raise StorageError(f"cannot store the upload: {error.strerror}; "
                               "nothing was kept") from None

    def commit(self, name, overwrite=False):
        """Give the finished upload its name; return the file's new status."""
        self.close()
        root = self.root
        try:
            if overwrite:
                os.replace(self.temporary, name, src_dir_fd=root, dst_dir_fd=root)
            else:
                os.link(self.temporary, name, src_dir_fd=root, dst_dir_fd=root)
                self.remove()
        except FileExistsError:
            raise StorageError(f"{name!r} appeared during the upload; send "
                               "\"overwrite\": true to replace it") from None
        except OSError as error:
            raise StorageError(f"cannot store {name!r}: {error.strerror}") from None
        self.committed = True
        return os.stat(name, dir_fd=root, follow_symlinks=False)

    def remove(self):
        try:
            os.unlink(self.temporary, dir_fd=self.root)
        except FileNotFoundError:
            pass
