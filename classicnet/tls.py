"""TLS: the contexts a server and a client wrap their sockets with.

TLS sits between TCP and the handler.  The handler still reads and writes
plain bytes; on the wire they are encrypted, and before the first of them
the two sides run a *handshake*: the server shows a certificate, the
client checks that it names the host it meant to reach and is signed by an
authority it trusts, and both agree on keys.

Everything about it is settled once, in an ``ssl.SSLContext``::

    side     context                           what it checks
    ------   -------------------------------   ------------------------------
    server   server_context(cert, key)         nothing of the client; shows
                                               its certificate (PEM files)
    client   client_context(cafile)            the server's certificate, by
                                               the system's authorities or
                                               by cafile (a self-made one)
    client   client_context(insecure=True)     nothing: anyone in the middle
                                               can read and change the bytes

The course notes call ``ssl.wrap_socket(sock)``, which made a fresh
context for every socket and checked no certificate at all; Python 3.12
removed it.  Its replacement is the pair above: a context made once, then
``context.wrap_socket(sock, server_hostname=host)`` for each socket.

Both sides speak TLS 1.2 or newer: older versions have known attacks.
"""

import os
import shutil
import ssl
import subprocess

from .errors import UsageError

__all__ = ["MAKE_PAIR", "client_context", "make_pair", "server_context"]

# The command that makes a certificate and key for a server on this machine,
# valid for a year; what --tls without --cert and --key shows.
MAKE_PAIR = ("openssl req -x509 -newkey rsa:2048 -nodes -days 365 "
             "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
             "-keyout {key} -out {cert}")

CERT_FILE, KEY_FILE = "cert.pem", "key.pem"


def server_context(cert, key):
    """The context a TLS server wraps every connection with, from PEM files.

    A missing or wrong file is a UsageError naming it, and saying how to
    make a pair.
    """
    if not cert or not key:
        raise UsageError("--tls needs --cert FILE and --key FILE; make a pair with: "
                         + MAKE_PAIR.format(key=KEY_FILE, cert=CERT_FILE)
                         + " (or: python -m classicnet cert)")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if hasattr(context, "num_tickets"):
        # After a TLS 1.3 handshake the server sends "session tickets"
        # (for resuming later), which the client usually acknowledges only
        # with a delayed ACK.  Nagle's algorithm then holds the server's
        # first small answer until that ACK: 40 ms on Linux, for every
        # connection (20 handshakes a second instead of 250, measured in
        # scripts/bench_overhead.py --handshakes).  A classroom server
        # gains nothing from resumption, so it sends no tickets.
        context.num_tickets = 0
    try:
        context.load_cert_chain(cert, key)
    except FileNotFoundError as error:
        raise UsageError(f"cannot read {error.filename or cert!r}: no such file") from None
    except (ssl.SSLError, OSError) as error:
        raise UsageError(f"--cert {cert!r} and --key {key!r} are not a PEM "
                         f"certificate and its key ({error.strerror or error})") from None
    return context


def client_context(cafile=None, insecure=False):
    """The context a client checks the server with: the system's authorities,
    or *cafile*'s; with *insecure*, no checking at all."""
    if insecure and cafile:
        raise UsageError("--insecure checks no certificate, so --cafile would "
                         "be ignored; give one or the other")
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif cafile:
        try:
            context.load_verify_locations(cafile)
        except FileNotFoundError:
            raise UsageError(f"--cafile {cafile!r}: no such file") from None
        except ssl.SSLError as error:
            raise UsageError(f"--cafile {cafile!r} holds no PEM certificate "
                             f"({error.reason or error})") from None
    return context


def make_pair(directory):
    """Write ``cert.pem`` and ``key.pem`` for localhost into *directory* with
    the openssl command; return their paths.

    Raises UsageError when openssl is missing, or would overwrite a pair
    already there, and OSError when it fails.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise UsageError("the openssl command is not installed; install it "
                         "(apt-get install openssl), or make a pair elsewhere with: "
                         + MAKE_PAIR.format(key=KEY_FILE, cert=CERT_FILE))
    os.makedirs(directory, exist_ok=True)
    cert, key = (os.path.join(directory, name) for name in (CERT_FILE, KEY_FILE))
    for path in (cert, key):
        if os.path.exists(path):
            raise UsageError(f"{path} exists already; remove it, or name another "
                             "directory")
    command = MAKE_PAIR.format(key=key, cert=cert).split()
    command[0] = openssl
    result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise OSError(f"openssl failed: {last}")
    os.chmod(key, 0o600)
    return cert, key
