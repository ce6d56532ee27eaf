"""``classicnet new NAME``: write a starting handler and its test."""

import argparse

from .messages import PROG

__all__ = ["run"]


def run(argv):
    """Write a starting handler NAME.py and its test test_NAME.py."""
    parser = argparse.ArgumentParser(
        prog=f"{PROG} new",
        description="Write a starting handler NAME.py (it echoes) and its "
                    "test test_NAME.py, in the current folder.")
    parser.add_argument("name", metavar="NAME",
                        help="the handler's name, e.g. reverse")
    parser.add_argument("--udp", dest="kind", action="store_const",
                        const="udp", default="tcp",
                        help="a UDP handler (default: TCP)")
    parser.add_argument("--dir", default=".", metavar="FOLDER",
                        help="where to write the files (default: here)")
    args = parser.parse_args(argv)
    from .. import scaffold
    handler_path, test_path = scaffold.write_starter(args.name, args.kind, args.dir)
    cls = scaffold.class_name(args.name)
    print(f"wrote {handler_path} and {test_path}")
    print(f"run it:   python -m classicnet {handler_path}:{cls}")
    print(f"test it:  python -m pytest {test_path}")
    return 0
