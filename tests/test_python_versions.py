"""Every Python the README promises: 3.9 or newer, and nothing about to be removed.

``vermin`` reads the source and names the oldest Python each construct
needs (a ``match`` statement, ``sys.stdlib_module_names``, a parameter
added in 3.10).  classicnet must need no more than 3.9; the suite runs
on PyPy 3.9 as well (``scripts/test-pypy``), which checks what a static
reading cannot.
"""

import ast
import importlib.util
import os
import subprocess
import sys
import warnings

import pytest

from conftest import ROOT, TIMEOUT

PROMISED = "3.9"
PACKAGE = os.path.join(ROOT, "classicnet")

needs_vermin = pytest.mark.skipif(importlib.util.find_spec("vermin") is None,
                                  reason="vermin is not installed")


def vermin(*paths):
    """Run vermin against the promised version; return the CompletedProcess."""
    code = "import sys; from vermin import main; sys.argv[0] = 'vermin'; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, f"--target={PROMISED}-", "--no-tips",
         "--violations", *paths],
        capture_output=True, text=True, timeout=TIMEOUT * 6, cwd=ROOT)


@needs_vermin
def test_classicnet_needs_nothing_newer_than_python_3_9():
    result = vermin(PACKAGE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Target versions not met" not in result.stdout


@needs_vermin
def test_vermin_does_see_what_3_9_lacks(tmp_path):
    newer = tmp_path / "newer.py"
    newer.write_text("import sys\nnames = sys.stdlib_module_names\n")
    result = vermin(os.fspath(newer))
    assert result.returncode != 0
    assert "'sys.stdlib_module_names' member requires !2, 3.10" in result.stdout


def python_files():
    for folder, _, names in os.walk(PACKAGE):
        for name in sorted(names):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def test_ssl_wrap_socket_is_never_used():
    """The course notes' ``ssl.wrap_socket`` was removed in Python 3.12:
    classicnet wraps sockets with an ``SSLContext`` only."""
    found = []
    for path in python_files():
        with open(path, encoding="utf-8") as file:
            tree = ast.parse(file.read(), path)
        found += [f"{path}:{node.lineno}" for node in ast.walk(tree)
                  if isinstance(node, ast.Attribute) and node.attr == "wrap_socket"
                  and isinstance(node.value, ast.Name) and node.value.id == "ssl"]
    assert found == []


def test_a_deprecation_warning_in_classicnet_fails_the_suite():
    """setup.cfg turns DeprecationWarning into an error in classicnet's own
    modules, so nothing it uses is about to be removed unnoticed."""
    code = compile("import warnings\nwarnings.warn('old', DeprecationWarning)",
                   "classicnet_example.py", "exec")
    with pytest.raises(DeprecationWarning):
        exec(code, {"__name__": "classicnet.example"})
    with warnings.catch_warnings(record=True):
        exec(code, {"__name__": "somebody_else"})       # only classicnet's are errors
