"""Fields: the values in a CNFP/1 header, each read with its type checked.

``framing`` turns bytes into a header, a dict decoded strictly; this
module reads the values out of it.  Both ends of a connection need the
same checks (the server on every request, the client on every answer), so
they are written once, here::

    required_field(header, "op", str)                 must be there
    optional_field(header, "overwrite", bool, False)  or the default
    size_field(header)                                a whole number, 0 or more
    check_file_name(name)                             one plain file name

Theory of operation.  A JSON value has whatever type its sender chose,
and Python is lenient where a protocol must not be: ``True == 1``, and
``isinstance(True, int)`` holds, so a careless check takes
``{"size": true}`` for a body of one byte.  Each field is read with the
kind it must have (``bool`` is never an ``int``), and a wrong one is a
``framing.BadHeader`` that names the field, what it must be and what it
was: ``field 'size' must be a whole number, not true or false``.

A file name is the one string whose content CNFP/1 restricts: a single
path component, so that joined onto a directory it can only mean a file
directly inside it.
"""

from .framing import KINDS, BadHeader, json_kind
from .text import printable

__all__ = ["MAX_NAME_BYTES", "check_file_name", "optional_field", "quoted", "required_field",
           "size_field"]

MAX_NAME_BYTES = 255

# How much of a name a message quotes: a hostile name of 60,000 characters
# must not make an error answer too long for a header (65535 bytes).
QUOTED_CHARS = 60


def required_field(header, key, kind):
    """``header[key]``, which must be of type *kind* (``bool`` is not ``int``)."""
    if key not in header:
        raise BadHeader(f"the header needs the field {key!r}")
    return optional_field(header, key, kind)


def optional_field(header, key, kind, default=None):
    """``header.get(key, default)``, type-checked as in ``required_field``."""
    value = header.get(key, default)
    if key in header and not _is_kind(value, kind):
        raise BadHeader(f"field {key!r} must be {KINDS[kind]}, "
                        f"not {json_kind(value)}")
    return value


def _is_kind(value, kind):
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def size_field(header, key="size"):
    """A byte count: a whole number, zero or more."""
    size = required_field(header, key, int)
    if size < 0:
        raise BadHeader(f"field {key!r} must be 0 or more, not {size}")
    return size


def quoted(name):
    """*name* as an error message shows it: quoted, escaped, cut to 60 characters.

    >>> quoted("notes.md")
    "'notes.md'"
    """
    return f"'{printable(name, QUOTED_CHARS)}'"


def check_file_name(name):
    """Return *name* if it is one plain CNFP/1 file name, else raise BadHeader.

    A name is a single path component: no ``/``, ``\\`` or NUL, not empty,
    not ``.`` or ``..``, and at most 255 bytes in UTF-8.  Joined onto a
    directory, such a name can only mean a file directly inside it.
    """
    if not isinstance(name, str):
        raise BadHeader(f"a file name must be a string, not {json_kind(name)}")
    if name in ("", ".", ".."):
        raise BadHeader(f"{quoted(name)} is not a file name")
    for char, what in (("/", "a slash"), ("\\", "a backslash"), ("\0", "a NUL byte")):
        if char in name:
            raise BadHeader(f"file name {quoted(name)} contains {what}; "
                            "give one plain name, without a directory")
    try:
        length = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise BadHeader(f"file name {quoted(name)} is not valid Unicode") from None
    if length > MAX_NAME_BYTES:
        raise BadHeader(f"file name of {length} bytes is over {MAX_NAME_BYTES}")
    return name
