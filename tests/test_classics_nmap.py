"""A scanner nobody here wrote must recognise the classics: ``nmap -sV``.

nmap's service detection sends nothing first and compares the banner with
its database (``nmap-service-probes``): daytime's ctime() line and
chargen's pattern are recognised at once.  echo sends no banner, so nmap
names it only after trying several probes and waiting for each, about
twenty seconds: that test runs only when CLASSICNET_SLOW_TESTS is set.
"""

import os
import re
import shutil
import subprocess

import pytest

from classicnet.testing import running_server

NMAP = shutil.which("nmap")
pytestmark = pytest.mark.skipif(NMAP is None, reason="nmap is not installed "
                                "(Debian: apt-get install nmap)")

# nmap's own limit on one host, and ours on the whole nmap process.
HOST_TIMEOUT = 60


def nmap_names(port, intensity):
    """The service name ``nmap -sV`` gives the TCP port *port* on 127.0.0.1."""
    command = [NMAP, "-sV", "-Pn", "-n", "--version-intensity", str(intensity),
               "--host-timeout", f"{HOST_TIMEOUT}s", "-p", str(port), "127.0.0.1"]
    result = subprocess.run(command, capture_output=True, text=True,
                            timeout=HOST_TIMEOUT + 10)
    assert result.returncode == 0, result.stderr
    found = re.search(rf"^{port}/tcp\s+open\s+(\S+)", result.stdout, re.MULTILINE)
    assert found, result.stdout
    return found.group(1)


@pytest.mark.parametrize("name", ["daytime", "chargen"])
def test_nmap_names_the_service(name):
    with running_server(name, model="threading") as (host, port):
        assert nmap_names(port, intensity=0) == name


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("CLASSICNET_SLOW_TESTS"),
                    reason="nmap needs about 20 s to name echo; "
                           "set CLASSICNET_SLOW_TESTS=1 to run it")
def test_nmap_names_echo():
    with running_server("echo", model="threading") as (host, port):
        assert nmap_names(port, intensity=2) == "echo"
