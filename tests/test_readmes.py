"""README.md and README.zh-CN.md stay level: the same commands, as many sections.

A command is a line of a code block that runs ``python -m classicnet``,
without its shell prompt (``$ ``) and its trailing comment (the comments
are in each README's own language), spaces collapsed.  A command added to
one README and not to the other fails here, naming it.
"""

import os
import re

from conftest import ROOT

READMES = {"English": "README.md", "Chinese": "README.zh-CN.md"}

CODE_BLOCK = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def commands(text):
    """The ``python -m classicnet`` command lines in the code blocks of *text*."""
    found = set()
    for block in CODE_BLOCK.findall(text):
        for line in block.splitlines():
            if "python -m classicnet" not in line:
                continue
            line = line.removeprefix("$ ")
            line = re.split(r"\s#\s", line, maxsplit=1)[0]
            found.add(" ".join(line.split()))
    return found


def readme_commands(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as file:
        return commands(file.read())


def test_both_readmes_show_the_same_commands():
    english, chinese = (readme_commands(name) for name in READMES.values())
    assert english - chinese == set(), "in README.md only"
    assert chinese - english == set(), "in README.zh-CN.md only"
    assert "python -m classicnet check echo --port 9000" in english


def test_both_readmes_have_as_many_sections():
    counts = {}
    for language, name in READMES.items():
        with open(os.path.join(ROOT, name), encoding="utf-8") as file:
            counts[language] = len(re.findall(r"^## ", file.read(), re.MULTILINE))
    assert counts["English"] == counts["Chinese"], counts


def test_a_command_is_the_line_without_prompt_or_comment():
    text = ("```sh\n$ python -m classicnet echo   --threading    # 注释\n"
            "printf 'hi\\n' | python -m classicnet client echo\n"
            "nc 127.0.0.1 9000\n```\n"
            "Not in a block: python -m classicnet list\n")
    assert commands(text) == {"python -m classicnet echo --threading",
                              "printf 'hi\\n' | python -m classicnet client echo"}
