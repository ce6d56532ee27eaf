"""docs/homework.md followed as a new student would: in a clean virtual
environment that has never seen pytest, installed from a copy of this
checkout with the tutorial's own install line.

It ends as the tutorial promises: a running handler, a passing test and a
passing ``check``.  pip fetches pytest and the rest from the index this
machine is set up with, as a student's pip would.
"""

import os
import shutil
import subprocess

import pytest

from conftest import ROOT, TIMEOUT, CommandLineServer, without_coverage
from test_new import CHECK_STEPS, EXAMPLES, INSTALL, REVERSE_STEPS, shell

pytestmark = pytest.mark.slow

PIP_TIMEOUT = 600

# What a copy of the project needs to be installed: the rest is for developers.
PROJECT_FILES = ["classicnet", "setup.cfg", "pyproject.toml", "README.md"]


def student_env(venv):
    """The environment of a student whose shell found the venv's python first:
    nothing of this test run (no PYTHONPATH to the checkout, no coverage)."""
    env = {name: value for name, value in os.environ.items()
           if name != "PYTHONPATH" and not name.startswith("COVERAGE")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def run(line, cwd, env, timeout=TIMEOUT * 3):
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_tutorial_in_a_fresh_virtual_environment(tmp_path):
    source = tmp_path / "classicnet-main"
    source.mkdir()
    for name in PROJECT_FILES:
        path = os.path.join(ROOT, name)
        if os.path.isdir(path):
            shutil.copytree(path, source / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, source / name)
    venv = tmp_path / "venv"
    env = student_env(venv)
    assert run(f"python3 -m venv {venv}", tmp_path, env,
               timeout=PIP_TIMEOUT).returncode == 0     # pip is copied in: slow under load
    assert run("python -c 'import pytest'", tmp_path, env).returncode == 1

    # 0. before you start
    install = run(INSTALL, source, env, timeout=PIP_TIMEOUT)
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    homework = tmp_path / "homework"
    homework.mkdir()

    # 1. a starting handler, a test that passes, and a check that passes
    assert run(REVERSE_STEPS[0], homework, env).returncode == 0
    first_test = run(REVERSE_STEPS[1], homework, env)
    assert "1 passed" in first_test.stdout, first_test.stdout + first_test.stderr
    python = str(venv / "bin" / "python")
    outside = {"PYTHONPATH": None, **without_coverage()}
    with CommandLineServer(shell(CHECK_STEPS[0]), env=outside, cwd=homework,
                           command=[python, "-m", "classicnet"]) as server:
        server.wait_ready()
        check = run(f"{CHECK_STEPS[1]} --port {server.address[1]}", homework, env)
    assert check.returncode == 0, check.stdout + check.stderr
    summary = check.stdout.splitlines()[-1]
    assert summary == "11 of 11 checks passed; model seen: concurrent"

    # 3.-5. the reverse handler and its tests
    shutil.copy(os.path.join(EXAMPLES, "reverse.py"), homework / "reverse.py")
    shutil.copy(os.path.join(EXAMPLES, "test_reverse.py"), homework / "test_reverse.py")
    tests = run(REVERSE_STEPS[1], homework, env)
    assert "3 passed" in tests.stdout, tests.stdout + tests.stderr
    assert not (source / ".venv").exists()
