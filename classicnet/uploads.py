"""Uploads: a file on its way in, which gets its name only once it is whole.

``classicnet.storage`` keeps the root safe; this module is the one way a
file gets into it.  An upload is written to a temporary file beside its
target and given its real name by ``commit()``, and what gets the name is
the file the upload wrote, reached through its open descriptor: a local
user who swaps the temporary name for a symbolic link to a file outside
the root must never get that file published.

POSIX only, as ``storage`` is.
"""

import errno
import os

from .fields import quoted
from .storage import StorageError, temporary_name

__all__ = ["PROC_FD", "Upload"]

# Where Linux names each open file descriptor of the process.
PROC_FD = "/proc/self/fd"


class Upload:
    """One upload on its way in: a temporary file beside its target, until ``commit()``.

    ::

        with Upload(root) as upload:
            for chunk in chunks:
                upload.write(chunk)
            upload.commit(name, overwrite)  # now, and only now, it has a name

    Leaving the ``with`` block without ``commit()``, for whatever reason (an
    exception, Ctrl-C, a server cutting its clients), removes the temporary
    file.
    """

    def __init__(self, root):
        self.root = root.fd
        self.temporary = temporary_name()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        try:
            self.fd = os.open(self.temporary, flags, 0o666, dir_fd=self.root)
        except OSError as error:
            raise StorageError(f"cannot store uploads here: {error.strerror}") from None
        self.committed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if not self.committed:
            self.remove()
        self.close()

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
        """Give the finished upload its name; return the file's new status.

        What gets the name is the file this upload wrote, through its open
        descriptor, never whatever the temporary name points to by now:
        anyone who can write in the root can swap that name for a symbolic
        link to a file outside it while the upload comes in.
        """
        try:
            if overwrite:
                staged = temporary_name()
                self.link_written_file(staged)
                try:
                    os.replace(staged, name, src_dir_fd=self.root, dst_dir_fd=self.root)
                except BaseException:
                    self.unlink(staged)
                    raise
            else:
                self.link_written_file(name)
            self.check_published(name)
        except FileExistsError:
            raise StorageError(f"{quoted(name)} appeared during the upload; send "
                               "\"overwrite\": true to replace it") from None
        except OSError as error:
            raise StorageError(f"cannot store {quoted(name)}: {error.strerror}") from None
        self.committed = True
        self.remove()
        status = os.fstat(self.fd)
        self.close()
        return status

    def link_written_file(self, name):
        """Make *name* a second name of the file this upload wrote.

        On Linux ``/proc/self/fd/N`` names the open file itself: linking it
        (and following it, which is what reaches the file) cannot link
        anything else (a file whose last name was removed cannot get a new
        one that way: the upload is refused).  Elsewhere the temporary name is checked to still be
        that file and linked without following a symbolic link; what was
        linked is checked again by ``check_published()``.
        """
        if os.fstat(self.fd).st_nlink == 0:
            raise self.swapped()        # its name was removed or renamed over
        if os.path.isdir(PROC_FD):
            try:
                os.link(f"{PROC_FD}/{self.fd}", name, dst_dir_fd=self.root)
                return
            except OSError as error:
                # PyPy 3.9's os.link() does not follow the /proc link: it tries
                # to link the link itself, across file systems.  Go the other way.
                if error.errno != errno.EXDEV:
                    raise
        if not self.is_written_file(self.temporary):
            raise self.swapped()
        try:
            os.link(self.temporary, name, src_dir_fd=self.root, dst_dir_fd=self.root,
                    follow_symlinks=False)
        except OSError as error:
            # PyPy 3.9 refuses follow_symlinks=False here (EINVAL), and its
            # default does not follow; check_published() checks what it linked.
            if error.errno != errno.EINVAL:
                raise
            os.link(self.temporary, name, src_dir_fd=self.root, dst_dir_fd=self.root)

    def check_published(self, name):
        """Refuse, and take back, a *name* that is not the file this upload wrote."""
        if not self.is_written_file(name):
            self.unlink(name)
            raise self.swapped()

    def is_written_file(self, name):
        try:
            named = os.stat(name, dir_fd=self.root, follow_symlinks=False)
        except FileNotFoundError:
            return False
        written = os.fstat(self.fd)
        return (named.st_dev, named.st_ino) == (written.st_dev, written.st_ino)

    @staticmethod
    def swapped():
        return StorageError("the upload's temporary file was replaced while it "
                            "was written; nothing was kept")

    def remove(self):
        """Remove the temporary name (a symbolic link put there is not followed)."""
        self.unlink(self.temporary)

    def unlink(self, name):
        try:
            os.unlink(name, dir_fd=self.root)
        except FileNotFoundError:
            pass
