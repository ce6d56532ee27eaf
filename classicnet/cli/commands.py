"""The words of the command line: each tool and the module that runs it.

A command line that starts with one of these words runs that tool; any
other first word names a handler to serve (``classicnet.cli.serve``).
``registry.COMMAND_WORDS`` keeps these words from naming a handler.
"""

from collections import namedtuple

__all__ = ["COMMANDS", "Command", "command_lines"]

Command = namedtuple("Command", "module function help")

# word -> the module of classicnet.cli and its function that run it (with
# the arguments after the word), and one line of help
COMMANDS = {
    "list": Command("listing", "run_list", "list the handlers: name, "
                    "transports, one line of help"),
    "help": Command("listing", "run_help", "help [HANDLER]: the same as "
                    "--help, or HANDLER --help"),
    "client": Command("client", "run", "talk to a running server, like nc; "
                      "'client files ls|get|put' is the file client"),
    "new": Command("new", "run", "write a starting handler NAME.py and its test"),
    "lab": Command("lab", "run", "compare the concurrency models under load"),
    "cert": Command("cert", "run", "cert [DIR]: make a certificate and key for "
                    "localhost with openssl, for --tls"),
    "check": Command("check", "run", "check a running server against its "
                     "protocol (echo, upper, hello, files, chat)"),
}


def command_lines():
    """One line per command, for the end of ``--help``."""
    width = max(map(len, COMMANDS))
    return [f"  {word:<{width}}  {command.help}" for word, command in COMMANDS.items()]
