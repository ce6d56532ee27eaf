"""``classicnet cert [DIR]``: make a certificate and key for a TLS server.

The pair is made by the ``openssl`` command (``classicnet.tls.MAKE_PAIR``),
for the names ``localhost`` and ``127.0.0.1``, and is *self-signed*: no
authority vouches for it, so a client must be told to trust it
(``--cafile DIR/cert.pem``) or not to check (``--insecure``).
"""

import argparse

from .. import tls
from .messages import PROG

__all__ = ["run"]


def run(argv):
    parser = argparse.ArgumentParser(
        prog=f"{PROG} cert",
        description="Write cert.pem and key.pem for localhost into DIR, with "
                    "the openssl command, for 'classicnet HANDLER --tls'.")
    parser.add_argument("directory", metavar="DIR", nargs="?", default=".",
                        help="where to write them (default: the current directory)")
    args = parser.parse_args(argv)
    cert, key = tls.make_pair(args.directory)
    print(f"wrote {cert} and {key}; serve with: "
          f"python -m classicnet echo --tls --cert {cert} --key {key}")
    return 0
