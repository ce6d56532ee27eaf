"""docs/lab.md and docs/lab.zh-CN.md stay level: the same commands, the same parts.

A command is a line that runs ``python -m classicnet``, in a fenced or an
indented code block, without its shell prompt (``$ ``) and its comment
(the comments are in each guide's own language), spaces collapsed.  A
command shown in one guide and not in the other fails here, naming it.
"""

import os
import re

from conftest import ROOT

GUIDES = {"English": "docs/lab.md", "Chinese": "docs/lab.zh-CN.md"}


def commands(text):
    """The ``python -m classicnet`` command lines of *text*'s code."""
    found, fenced = set(), False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if "python -m classicnet" not in line or not (fenced or line.startswith("    ")):
            continue
        line = line.strip().removeprefix("$ ")
        line = re.split(r"\s#\s", line, maxsplit=1)[0]
        found.add(" ".join(line.split()))
    return found


def guide(name):
    with open(os.path.join(ROOT, GUIDES[name]), encoding="utf-8") as file:
        return file.read()


def test_both_guides_show_the_same_commands():
    english, chinese = commands(guide("English")), commands(guide("Chinese"))
    assert english - chinese == set(), "in docs/lab.md only"
    assert chinese - english == set(), "in docs/lab.zh-CN.md only"
    assert "python -m classicnet lab --workload idle --clients 100" in english


def test_both_guides_have_as_many_parts_and_the_same_picture():
    for pattern in (r"^## ", r"^!\[[^\]]*\]\(lab-page\.png\)$"):
        counts = {name: len(re.findall(pattern, guide(name), re.MULTILINE))
                  for name in GUIDES}
        assert counts["English"] == counts["Chinese"] >= 1, (pattern, counts)
    assert os.path.getsize(os.path.join(ROOT, "docs", "lab-page.png")) > 10_000


def test_a_command_is_the_line_without_prompt_or_comment():
    text = ("```\n$ python -m classicnet lab   --clients 10    # 注释\n```\n"
            "    python -m classicnet who --plain   # then\n"
            "Not code: python -m classicnet list\n")
    assert commands(text) == {"python -m classicnet lab --clients 10",
                              "python -m classicnet who --plain"}
