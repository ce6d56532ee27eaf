"""The command line: parse, call the library, turn errors into exit statuses.

    python -m classicnet HANDLER [--plain | --threading | --forking | --pool N
                                  | --prefork N]
                                 [--tcp | --udp] [--host HOST] [--port PORT]
                                 [handler options] [-v | -q]
    python -m classicnet list | help [HANDLER]
    python -m classicnet client HANDLER | --tcp | --udp [--host HOST] [--port PORT]
    python -m classicnet client files ls | get NAME | put PATH
    python -m classicnet new NAME [--udp]
    python -m classicnet lab [--workload W] [--clients N,N] ...
    python -m classicnet check PROTOCOL [--host HOST] [--port PORT] [--json]
    python -m classicnet --help | --version

One module per command (``serve``, ``listing``, ``client``, ``files``,
``new``, ``lab``, ``check``; the table is ``commands.COMMANDS``), each imported only
when its word is typed: a forking server copies its whole process for
every client, and every module imported makes that copy dearer.

``main()`` is two named steps, ``choose_command()`` and running it, inside
the one place that turns errors into exit statuses: 0 after a clean stop
(Ctrl-C and SIGTERM included; 129 after SIGHUP, 131 after SIGQUIT, see
``launcher``), 130 after a Ctrl-C while a student's file is imported, 2 for a usage mistake (unknown handler, bad
flag or port, a transport or model that cannot be had), 1 for a runtime
failure (port in use, permission denied).  Each error is one line on
standard error, never a traceback.
"""

import importlib
import os
import sys

from .. import loading
from ..errors import UsageError
from .commands import COMMANDS
from .messages import explain_os_error, fail

__all__ = ["choose_command", "main"]


def main(argv=None):
    """Run the command line; return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        command, rest = choose_command(argv)
        return command(rest)
    except UsageError as error:
        return fail(error, 2)
    except loading.StudentCodeError as error:
        sys.stderr.write(error.report)
        return error.status
    except BrokenPipeError:
        # The reader went away (``classicnet list | head -1``): say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as error:
        return fail(explain_os_error(error, getattr(error, "classicnet_endpoint", None)), 1)


def choose_command(argv):
    """The function that runs *argv*, and the arguments it takes: a tool
    for a command word, else ``serve.run`` with them all."""
    if argv and argv[0] in COMMANDS:
        command = COMMANDS[argv[0]]
        module = importlib.import_module(f"{__name__}.{command.module}")
        return getattr(module, command.function), argv[1:]
    from . import serve
    return serve.run, argv
