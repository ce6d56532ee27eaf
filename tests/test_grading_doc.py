"""docs/grading.md: its loop over a class's servers makes the CSV it shows."""

import os
import re
import subprocess
import sys

from conftest import ROOT, TIMEOUT, classicnet_env, student_server

from classicnet.testing import running_server

with open(os.path.join(ROOT, "docs", "grading.md"), encoding="utf-8") as page:
    GRADING = page.read()


def block_after(heading_words, language=""):
    """The first code block after the paragraph that contains *heading_words*."""
    after = GRADING.split(heading_words, 1)[1]
    return re.search(rf"```{language}\n(.*?)```", after, re.S).group(1)


def test_the_loop_makes_the_table_the_page_shows(tmp_path):
    (tmp_path / "bin").mkdir()
    os.symlink(sys.executable, tmp_path / "bin" / "python")
    env = classicnet_env(PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    shown_class = block_after("can stand in for three students")
    loop = block_after("and make one\ntable of them", "sh")
    shown_csv = block_after("`grades.csv` opens in any spreadsheet")
    bob = [sys.executable, "stream_server.py", "ignores_empty", "0"]
    with running_server("echo", model="threading") as ada, \
            student_server(bob, os.path.join(ROOT, "tests", "gallery")) as bob, \
            running_server("echo", model="plain") as cheng:
        ports = {"9001": ada[1], "9002": bob[1], "9003": cheng[1]}
        real = re.sub(r"900[123]", lambda match: str(ports[match.group()]), shown_class)
        (tmp_path / "class.txt").write_text(real)
        result = subprocess.run(["bash", "-c", loop], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=TIMEOUT * 6)
    assert result.returncode == 0, result.stderr
    expected = re.sub(r"900[123]", lambda match: str(ports[match.group()]), shown_csv)
    assert (tmp_path / "grades.csv").read_text() == expected
    results = sorted(os.listdir(tmp_path / "results"))
    assert results == ["ada.json", "bob.json", "cheng.json"]
