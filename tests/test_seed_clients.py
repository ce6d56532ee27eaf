"""The course notes' own client code, run unchanged but for the port."""

import os
import re
import subprocess
import sys

import pytest
from conftest import MODELS, TIMEOUT

from classicnet.testing import running_server

SEEDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seed_clients")


def run_seed_client(filename, port, stdin=""):
    """Run a course client with its port number (and only that) replaced."""
    with open(os.path.join(SEEDS, filename), encoding="utf-8") as source:
        code = source.read()
    code, replaced = re.subn(r"(['\"]127\.0\.0\.1['\"],\s*)\d+", rf"\g<1>{port}", code)
    assert replaced == 1, "exactly one address in the course client"
    result = subprocess.run([sys.executable, "-c", code], input=stdin,
                            capture_output=True, text=True, timeout=TIMEOUT,
                            encoding="utf-8")
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("model", MODELS)
def test_seed_000_client_against_echo(model):
    with running_server("echo", model=model) as (_, port):
        output = run_seed_client("seed000_tcp_client.py", port, "hello\n你好\n##\n")
    assert output == "发送>>接收到: hello\n发送>>接收到: 你好\n发送>>"


@pytest.mark.parametrize("model", MODELS)
def test_seed_003_hello_client(model):
    with running_server("hello", model=model) as (_, port):
        output = run_seed_client("seed003_hello_client.py", port)
    assert output == ("Welcome!\n\nHello, Michael!\n\nHello, Tracy!\n\n"
                      "Hello, Sarah!\n\n")


@pytest.mark.parametrize("model", MODELS)
def test_seed_004_upper_client(model):
    with running_server("upper", model=model) as (_, port):
        output = run_seed_client("seed004_upper_client.py", port)
    assert output == "HELLO\n"


def test_seed_002_tcp_client_against_upper():
    with running_server("upper") as (_, port):
        output = run_seed_client("seed002_tcp_client.py", port, "hello\n\nworld\nq\n")
    assert output == ">>>HELLO\n>>>>>>WORLD\n>>>"


@pytest.mark.parametrize("name", ["echo", "upper", "reply"])
def test_seed_002_udp_client(name):
    # The client prints nothing; it ends only once it has received an answer.
    with running_server(name, transport="udp") as (_, port):
        run_seed_client("seed002_udp_client.py", port)
