"""``classicnet client files ls | get | put``: the file client's command line."""

import argparse
import os
import sys
import time

from .. import framing, quantities
from ..text import printable
from .arguments import (add_address_flags, add_client_transport_flags, argument_type,
                        client_endpoint)
from .messages import PROG, fail, warn

__all__ = ["run"]


def files_parser():
    parser = argparse.ArgumentParser(
        prog=f"{PROG} client files",
        description="List, download and upload files on a classicnet files "
                    "server (CNFP/1, see docs/protocol.md).")
    add_address_flags(parser, "the server's address", "the server's port")
    add_client_transport_flags(parser)
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
    get.add_argument("--force", action="store_true",
                     help="replace a local file of that name")
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
    address = client_endpoint(args, "tcp", warn)
    try:
        with fileclient.FileClient(address) as client:
            return run_word(client, args)
    except (fileclient.FileTransferError, framing.FramingError) as error:
        return fail(f"{error}{resume_hint(args)}", 1)
    except OSError as error:
        where = error.filename or str(address)
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
    started = time.monotonic()
    try:
        if args.word == "get":
            answer = download(client, args, bar)
        else:
            answer = upload(client, args, bar)
    finally:
        if bar:
            bar.close()
    if bar:     # on a terminal: one line to say it is done, and checked
        print(summary(answer["size"], time.monotonic() - started), file=sys.stderr)
    return 0


def download(client, args, bar):
    """``get``: never replace a local file without --force."""
    from .. import fileclient
    try:
        return client.get(args.name, args.output, args.resume, args.offset, bar,
                          overwrite=args.force)
    except fileclient.TargetExists as error:
        raise fileclient.TargetExists(f"{error}; add --force to replace it, "
                                      "or -o PATH to save it elsewhere") from None


def upload(client, args, bar):
    """``put``: never replace a file on the server without --force."""
    from .. import fileclient
    name = args.name if args.name is not None else os.path.basename(args.path)
    if not args.force and any(file["name"] == name for file in client.list()):
        raise fileclient.TargetExists(f"'{printable(name, 60)}' already exists on "
                                      "the server; add --force to replace it")
    return client.put(args.path, args.name, args.force, bar)


def summary(size, seconds):
    """The line that ends a transfer on a terminal: ``200.0 MiB in 0.6 s, sha256 ok``."""
    from ..progress import human_bytes
    return f"{human_bytes(size)} in {seconds:.1f} s, sha256 ok"
