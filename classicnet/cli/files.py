"""``classicnet client files ls | get | put``: the file client's command line."""

import argparse
import os
import sys

from .. import framing, quantities
from ..endpoints import check_host, format_address
from ..text import printable
from .arguments import add_address_flags, argument_type
from .messages import PROG, fail

__all__ = ["run"]


def files_parser():
    parser = argparse.ArgumentParser(
        prog=f"{PROG} client files",
        description="List, download and upload files on a classicnet files "
                    "server (CNFP/1, see docs/protocol.md).")
    add_address_flags(parser, "the server's address", "the server's port")
    words = parser.add_subparsers(dest="word", metavar="ls | get | put",
                                  required=True)
    words.add_parser("ls", help="list the server's files")
    get = words.add_parser("get", help="download a file (checked with sha256)")
    get.add_argument("name", metavar="NAME", help="the file's name on the server")
    get.add_argument("-o", "--output", metavar="PATH",
                     help="where to save it, a file or a directory (default: NAME)")
    start = get.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true",
                       help="continue an interrupted download from PATH.part")
    start.add_argument("--offset", type=argument_type(quantities.byte_count),
                       metavar="N", help="continue from byte N of PATH.part "
                       "(0 to 1024T)")
    put = words.add_parser("put", help="upload a file (checked with sha256)")
    put.add_argument("path", metavar="PATH", help="the local file to upload")
    put.add_argument("--as", dest="name", metavar="NAME",
                     help="its name on the server (default: PATH's file name)")
    put.add_argument("--force", action="store_true",
                     help="replace a file of that name on the server")
    return parser


def run(argv):
    """Run one file-client operation; 0 on success, 1 when it failed."""
    from .. import fileclient
    args = files_parser().parse_args(argv)
    address = (check_host(args.host), args.port)
    try:
        with fileclient.FileClient(address) as client:
            return run_word(client, args)
    except (fileclient.FileTransferError, framing.FramingError) as error:
        return fail(f"{error}{resume_hint(args)}", 1)
    except OSError as error:
        where = error.filename or format_address(address)
        return fail(f"{where}: {error.strerror or error}{resume_hint(args)}", 1)
    except KeyboardInterrupt:
        return fail(f"interrupted{resume_hint(args)}", 130)


def resume_hint(args):
    """After a failed download, say how to continue it, if anything was kept."""
    if args.word != "get":
        return ""
    from .. import fileclient
    try:
        _, partial = fileclient.download_paths(args.name, args.output)
        kept = os.path.getsize(partial)
    except (framing.FramingError, OSError):
        return ""
    return f" ({kept} bytes kept in {partial}; add --resume to continue)" if kept else ""


def run_word(client, args):
    from .. import fileclient
    if args.word == "ls":
        for file in client.list():
            print(f"{file['size']:>12}  {printable(file['name'], limit=None)}")
        return 0
    label = args.name if args.word == "get" else os.path.basename(args.path)
    bar = fileclient.ProgressBar.on(sys.stderr, label)
    try:
        if args.word == "get":
            client.get(args.name, args.output, args.resume, args.offset, bar)
        else:
            client.put(args.path, args.name, args.force, bar)
    finally:
        if bar:
            bar.close()
    return 0
