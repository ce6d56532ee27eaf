"""The tutorial's examples: the suite runs them, and the tutorials show them exactly."""

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, TIMEOUT, classicnet_env

EXAMPLES = os.path.join(ROOT, "examples")
DOCS = [os.path.join(ROOT, "docs", name) for name in ("homework.md", "homework.zh-CN.md")]

# In a tutorial, a file is shown as "`NAME.py`:", a blank line, a python block.
SHOWN_FILE = re.compile(r"^`(\w+\.py)`:\n\n```python\n(.*?)^```$",
                        flags=re.MULTILINE | re.DOTALL)


def test_the_examples_tests_pass():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-p", "classicnet.pytest_plugin", EXAMPLES],
        cwd=ROOT, env=classicnet_env(), capture_output=True, text=True,
        timeout=TIMEOUT * 3)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


@pytest.mark.parametrize("doc", DOCS, ids=os.path.basename)
def test_the_tutorial_shows_the_examples_exactly(doc):
    with open(doc, encoding="utf-8") as file:
        shown = dict(SHOWN_FILE.findall(file.read()))
    examples = sorted(name for name in os.listdir(EXAMPLES) if name.endswith(".py"))
    assert sorted(shown) == examples
    for name, code in shown.items():
        with open(os.path.join(EXAMPLES, name), encoding="utf-8") as file:
            assert code == file.read(), f"{doc} shows an old {name}"
