"""The http handler: http.server jailed to --root, under every model and transport,
talked to by clients nobody here wrote (curl, a headless Chromium, the
course notes' HTTPS client)."""

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys

import pytest
from conftest import MODELS, TIMEOUT, needs

from classicnet.endpoints import Endpoint, unix_endpoint
from classicnet.testing import running_server

SEEDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seed_clients")

# The page runs a script, so a browser that shows its line has rendered it.
PAGE = ("<!DOCTYPE html><html><head><title>classicnet</title></head><body>"
        "<h1>served by classicnet</h1><script>document.body.insertAdjacentHTML("
        "'beforeend', '<p id=\"js\">rendered over ' + location.protocol + '</p>')"
        "</script></body></html>")
SECRET = "the exam answers"


@pytest.fixture
def site(tmp_path):
    """A root to serve (a page, a subdirectory, a link pointing out of it)
    and a secret beside it that must never be served."""
    root = tmp_path / "site"
    (root / "notes").mkdir(parents=True)
    (root / "index.html").write_text(PAGE)
    (root / "notes" / "week1.txt").write_text("sockets\n")
    (tmp_path / "secret.txt").write_text(SECRET)
    if hasattr(os, "symlink"):
        os.symlink(tmp_path / "secret.txt", root / "escape.txt")
        os.symlink(tmp_path, root / "outside")
    return root


def get(address, path, method="GET", tls=None):
    """One request with http.client; (status, headers, body)."""
    if tls is None:
        connection = http.client.HTTPConnection(*address, timeout=TIMEOUT)
    else:
        connection = http.client.HTTPSConnection(*address, timeout=TIMEOUT, context=tls)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def raw_request(address, target):
    """Send a request line exactly as given (no client normalises it)."""
    with socket.create_connection(address, timeout=TIMEOUT) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                     .encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


@pytest.mark.parametrize("model", MODELS + ["pool"])
def test_get_head_listing_and_404_under_every_model(site, model):
    with running_server("http", model=model, root=str(site)) as address:
        status, headers, body = get(address, "/")
        assert status == 200 and body.decode() == PAGE
        assert re.fullmatch(r"\S+ \(pid \d+\)", headers["X-Served-By"])
        if model == "forking":
            assert headers["X-Served-By"].split("pid ")[1] != f"{os.getpid()})"
        status, headers, body = get(address, "/index.html", "HEAD")
        assert status == 200 and body == b"" and headers["Content-Length"] == str(len(PAGE))
        status, _, body = get(address, "/notes/")
        assert status == 200 and b"week1.txt" in body
        status, headers, _ = get(address, "/missing.html")
        assert status == 404 and "X-Served-By" in headers


def test_the_header_names_the_thread_that_served(site):
    with running_server("http", model="threading", root=str(site)) as address:
        served_by = {get(address, "/")[1]["X-Served-By"] for _ in range(2)}
    assert len(served_by) == 2, "a new thread for each connection"
    assert all(name.startswith("Thread-") for name in served_by)


@pytest.mark.parametrize("target", [
    "/../secret.txt", "/%2e%2e/secret.txt", "/notes/../../secret.txt",
    "/notes/%2E%2E/%2e%2e/secret.txt", "//secret.txt", "/..%2fsecret.txt",
    "http://x/../secret.txt", "/escape.txt", "/outside/secret.txt", "/outside/",
])
def test_nothing_outside_the_root_is_served(site, target):
    if "escape" in target or "outside" in target:
        if not hasattr(os, "symlink"):
            pytest.skip("no symbolic links here")
    with running_server("http", model="threading", root=str(site)) as address:
        answer = raw_request(address, target)
    assert SECRET.encode() not in answer
    assert answer.startswith(b"HTTP/1.1 404") or answer.startswith(b"HTTP/1.1 400") \
        or answer.startswith(b"HTTP/1.1 301"), answer[:80]


def test_a_missing_root_is_a_usage_error(tmp_path):
    from classicnet.errors import UsageError
    with pytest.raises(UsageError, match="does not exist"):
        with running_server("http", root=str(tmp_path / "nowhere")):
            pass
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="is not a directory"):
        with running_server("http", root=str(tmp_path / "file")):
            pass


def test_https_with_python_verifying_the_certificate(site, tls_files):
    with running_server("http", tls=tls_files.server_context(), root=str(site),
                        endpoint=Endpoint("tls", ("127.0.0.1", 0))) as address:
        status, headers, body = get(address, "/", tls=tls_files.client_context())
    assert status == 200 and body.decode() == PAGE and "X-Served-By" in headers


# --- clients nobody here wrote ------------------------------------------------

def curl(*args):
    result = subprocess.run(["curl", "--silent", "--show-error", "--max-time",
                             str(TIMEOUT), *args], capture_output=True, timeout=TIMEOUT * 2)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


@needs("curl")
def test_curl_over_https_with_k_and_with_cacert(site, tls_files):
    with running_server("http", tls=tls_files.server_context(), root=str(site),
                        endpoint=Endpoint("tls", ("127.0.0.1", 0))) as (host, port):
        assert curl("-k", f"https://{host}:{port}/") == PAGE
        shown = curl("-i", "--cacert", tls_files.ca, f"https://localhost:{port}/")
    assert shown.startswith("HTTP/1.1 200") and "X-Served-By: Thread-" in shown


@needs("curl")
@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix-domain sockets")
def test_curl_over_a_unix_socket(site, short_tmp):
    path = os.path.join(short_tmp, "http.sock")
    with running_server("http", endpoint=unix_endpoint(path), root=str(site)):
        assert curl("--unix-socket", path, "http://localhost/notes/week1.txt") == "sockets\n"


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_real_browser_renders_the_page(site, tls_files, tmp_path, scheme):
    settings = {}
    if scheme == "https":
        settings = {"tls": tls_files.server_context(),
                    "endpoint": Endpoint("tls", ("127.0.0.1", 0))}
    with running_server("http", root=str(site), **settings) as (host, port):
        result = subprocess.run(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
             "--ignore-certificate-errors", "--dump-dom", f"{scheme}://{host}:{port}/"],
            capture_output=True, text=True, timeout=60)
    assert "<h1>served by classicnet</h1>" in result.stdout, result.stderr[-2000:]
    assert f'<p id="js">rendered over {scheme}:</p>' in result.stdout


@pytest.mark.skipif(not hasattr(__import__("ssl"), "wrap_socket"),
                    reason="ssl.wrap_socket, which the course notes use, was "
                           "removed in Python 3.12 (docs/transports.md)")
def test_the_course_notes_https_client_runs_unchanged_but_for_host_and_port(
        site, tls_files, tmp_path):
    with open(os.path.join(SEEDS, "seed003_https_client.py"), encoding="utf-8") as file:
        code = file.read()
    with running_server("http", tls=tls_files.server_context(), root=str(site),
                        endpoint=Endpoint("tls", ("127.0.0.1", 0))) as (_, port):
        code, replaced = re.subn(r"\('www\.sina\.com\.cn', 443\)",
                                 f"('127.0.0.1', {port})", code)
        assert replaced == 1
        result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path,
                                capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("HTTP/1.1 200 OK")
    # It wrote the page; Python 3.11 warns that wrap_socket is deprecated.
    assert (tmp_path / "sina.html").read_text() == PAGE
    assert "DeprecationWarning" in result.stderr or result.stderr == ""
