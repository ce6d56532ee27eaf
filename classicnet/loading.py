"""Loading a student's own handler: from a file, from a module, or by name.

The command line takes a handler three ways::

    python -m classicnet echo                              # a registered name
    python -m classicnet my_handlers.py:ReverseHandler     # a class in a file
    python -m classicnet rev2.py                           # the one class in a file
    python -m classicnet homework.reverse:ReverseHandler   # a class in a module
    python -m classicnet --load my_handlers.py reverse     # a file whose
                                                           # @register names it

A file is imported the way ``python my_handlers.py`` would run it: its
folder goes first on ``sys.path``, so it can import the files beside it,
and it is in ``sys.modules`` under its own name while it runs (as
``dataclasses`` and ``typing`` expect).  Both are put back as they were
once the file is loaded: loading a student's file changes nothing else in
the process, so two students' ``reverse.py`` can be loaded one after the
other.

Theory of operation for errors.  Two kinds of thing can go wrong, and they
deserve different answers:

* The *spec* is wrong (no such file, no such class, a class that is not a
  request handler).  That is a usage mistake: one line, ``UsageError``.
* The student's *code* fails while it is imported (a ``SyntaxError``, a
  ``NameError`` at module level).  Then the student needs Python's own
  traceback, but only their part of it: the frames inside importlib and
  classicnet say nothing useful.  ``StudentCodeError`` carries that
  trimmed traceback as ``report``.  The same holds for a Ctrl-C while the
  file runs (a loop at module level, say): the student sees where their
  code was, and the exit status is 130, as for any program interrupted.
  The launcher uses ``students_error()`` for a handler's ``prepare_server``
  too.
"""

import importlib
import importlib.util
import os
import socketserver
import sys
from contextlib import contextmanager

from .contract import check_options, options_of
from .errors import UsageError
from .registry import Entry, first_line, kind_of

__all__ = ["StudentCodeError", "entry_for", "find_handler", "is_spec",
           "load_file", "load_spec", "only_handler_in", "students_error"]


class StudentCodeError(Exception):
    """The student's code raised while it was imported or prepared a server.

    ``report`` is the traceback to show them: their frames only.
    ``status`` is the exit status to end with: 130 after a Ctrl-C, else 1.
    """

    def __init__(self, report, status=1):
        super().__init__(report.rstrip().splitlines()[-1])
        self.report = report
        self.status = status


def students_error(error):
    """A ``StudentCodeError`` for *error*, raised by a student's code."""
    status = 130 if isinstance(error, KeyboardInterrupt) else 1
    return StudentCodeError(student_traceback(error), status)


def is_spec(text):
    """True for ``file.py:Class``, ``package.module:Class`` and ``file.py``;
    False for a registered name."""
    return _names_a_class(text) or text.endswith(".py")


def _names_a_class(text):
    where, colon, name = text.rpartition(":")
    return bool(colon and where and name.isidentifier())


def find_handler(text):
    """A registered name stays a name; a spec becomes the class it points to."""
    return load_spec(text) if is_spec(text) else text


def load_spec(spec):
    """The handler class that ``file.py:Class`` or ``package.module:Class``
    names, or the only one in ``file.py``."""
    if not _names_a_class(spec):
        return only_handler_in(spec)
    where, _, class_name = spec.rpartition(":")
    if _looks_like_a_file(where):
        module = load_file(where)
    else:
        module = _import_module(where)
    handler = getattr(module, class_name, None)
    if handler is None:
        found = handler_classes_in(module)
        offer = f"; it has {', '.join(found)}" if found else \
            "; it defines no request handler class"
        raise UsageError(f"{where} has no class {class_name!r}{offer}")
    if not (isinstance(handler, type)
            and issubclass(handler, socketserver.BaseRequestHandler)):
        raise UsageError(f"{class_name} in {where} is not a request handler class "
                         "(subclass socketserver.BaseRequestHandler)")
    return handler


def only_handler_in(path):
    """The one request handler class that the file at *path* defines."""
    module = load_file(path)
    found = handler_classes_in(module)
    if len(found) == 1:
        return getattr(module, found[0])
    if not found:
        raise UsageError(f"{path} defines no request handler class "
                         "(subclass socketserver.BaseRequestHandler)")
    raise UsageError(f"{path} defines {len(found)} handler classes: "
                     f"{', '.join(found)}; name one, as in {path}:{found[0]}")


# The files loaded so far, by absolute path: loading one twice gives the
# same module, so its classes are registered once.
_loaded = {}


def load_file(path):
    """Import the Python file at *path* and return it as a module."""
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path!r}")
    if not path.endswith(".py"):
        raise UsageError(f"{path!r} is not a Python file (expected a name ending in .py)")
    path = os.path.abspath(path)
    if path in _loaded:
        return _loaded[path]
    module_name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    with _first_on_path(os.path.dirname(path)), _in_modules(module):
        try:
            spec.loader.exec_module(module)
        except (SystemExit, UsageError):
            raise
        except BaseException as error:
            raise students_error(error) from None
    _loaded[path] = module
    return module


@contextmanager
def _first_on_path(folder):
    """*folder* first on ``sys.path`` for the length of a ``with`` block."""
    saved = list(sys.path)
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        sys.path[:] = saved


@contextmanager
def _in_modules(module):
    """*module* in ``sys.modules`` under its name, for a ``with`` block."""
    name = module.__name__
    saved = sys.modules.get(name)
    sys.modules[name] = module
    try:
        yield
    finally:
        if saved is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = saved


def entry_for(handler):
    """A registry ``Entry`` for a class that was loaded, not registered.

    The command line asks an entry for its options; a student's class may
    declare ``options`` just like a built-in handler.
    """
    check_options(options_of(handler), handler.__name__)
    kind = kind_of(handler) or "tcp"
    return Entry(handler.__name__, {kind: handler}, first_line(handler.__doc__))


def handler_classes_in(module):
    """The names of the request handler classes defined in *module*."""
    return sorted(
        name for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, socketserver.BaseRequestHandler)
        and value.__module__ == module.__name__)


def student_traceback(error):
    """Python's traceback for *error*, less the frames of importlib and classicnet."""
    import traceback        # here: only a student's failing file needs it
    ours = ("<frozen ", "<builtin>/frozen ",     # CPython's, PyPy's importlib
            os.path.dirname(os.path.abspath(__file__)),
            os.path.dirname(importlib.__file__))
    frames = traceback.extract_tb(error.__traceback__)
    theirs = [frame for frame in frames if not frame.filename.startswith(ours)]
    lines = traceback.format_exception_only(type(error), error)
    if theirs:
        lines = (["Traceback (most recent call last):\n"]
                 + traceback.format_list(theirs) + lines)
    return "".join(lines)


def _looks_like_a_file(where):
    return (where.endswith(".py") or "/" in where or os.sep in where
            or os.path.isfile(where))


def _import_module(name):
    """Import a module by its dotted name; a module that is missing is a usage
    mistake, an error inside it is the student's."""
    with _first_on_path(os.getcwd()):         # as "python -m" does
        try:
            found = importlib.util.find_spec(name)
        except (ModuleNotFoundError, ValueError):
            found = None
        except (Exception, KeyboardInterrupt) as error:
            raise students_error(error) from None
        if found is None:
            raise UsageError(f"no module named {name!r} (is its folder on sys.path? "
                             f"run from the folder that holds it)")
        try:
            return importlib.import_module(name)
        except UsageError:
            raise
        except (Exception, KeyboardInterrupt) as error:
            raise students_error(error) from None
