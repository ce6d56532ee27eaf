"""``classicnet list`` and ``classicnet help [HANDLER]``."""

import argparse

from .messages import PROG
from .serve import run as serve
from .serve_flags import handler_lines

__all__ = ["run_help", "run_list"]


def run_list(argv):
    """Print one line per handler: name, kinds, help."""
    parser = argparse.ArgumentParser(
        prog=f"{PROG} list", description="List the registered handlers.")
    parser.parse_args(argv)
    print("\n".join(handler_lines()))
    return 0


def run_help(argv):
    """``classicnet help [HANDLER]``: the same as ``--help``."""
    return serve([*argv[:1], "--help"])
