"""The lesson page on made-up measurements, the folder server that shows it,
and the progress line: no browser here (see test_lab_browser.py)."""

import io
import os
import select
import subprocess
import urllib.error
import urllib.request

import pytest

from classicnet import launcher
from classicnet.lab import INSTRUMENT, REFERENCE, WORKLOADS, Settings, timeline_clients
from classicnet.lab.experiment import Measurement
from classicnet.lab.memory import Memory
from classicnet.lab.page import Lesson, lesson_page, write_page
from classicnet.lab.serving import serve_folder
from classicnet.lab.watching import LivePage, ProgressLine

from conftest import TIMEOUT, classicnet_command, classicnet_env

MODELS = ["plain", "threading", "prefork", REFERENCE]


def made_up(model, rate=100.0, memory=None, cpu=0.1):
    return Measurement(model=model, clients=2, duration=1.0, requests=int(rate),
                       latencies=[0.01], connections=[(0, 0.0, 0.1, 0.5),
                                                      (1, 0.0, 0.5, 1.0)],
                       start=0.0, cpu_seconds=cpu, memory=memory,
                       shares={11: 3, 12: 2} if model == "prefork" else {})


def settings(workload="slow"):
    return Settings(workload=WORKLOADS[workload], models=MODELS, client_counts=[2],
                    duration=1.0)


def lessons():
    held = (Memory(1000, 800, 2, 1), Memory(1200, 900, 4, 1))
    return [Lesson(settings("slow"), [made_up(INSTRUMENT, 5000)] +
                   [made_up(model) for model in MODELS], 2),
            Lesson(settings("idle"), [made_up(model, 2, held) for model in MODELS], 2),
            Lesson(settings("work"), [], 2)]


def test_the_page_has_a_section_per_workload_and_a_row_per_model():
    page = lesson_page(lessons(), machine="machine: 2 core(s)", finished=True)
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    for name in ("slow", "idle", "work"):
        assert f'<section id="workload-{name}">' in page
    for model in MODELS:
        assert page.count(f'<tr data-model="{model}">') == 2     # slow and idle
    assert f'data-model="{INSTRUMENT}"' not in page
    assert "instrument: the load generator reached 5,000 req/s" in page
    assert "<th>pss/conn KiB</th>" in page and "<th>req/s</th>" in page
    assert "Not measured yet." in page                          # work
    assert "<p>Machine: 2 core(s)</p>" in page
    assert page.count("<svg ") == 2


def test_the_page_fetches_nothing_and_runs_nothing():
    page = lesson_page(lessons())
    assert "<script" not in page and " src=" not in page and " href=" not in page
    addresses = {word.split('"')[1] for word in page.split("=")[1:]
                 if word.startswith('"http')}
    assert addresses == {"http://www.w3.org/2000/svg"}          # a name, never fetched


def test_it_reloads_itself_only_while_the_lab_runs():
    refresh = '<meta http-equiv="refresh" content="2">'
    assert refresh in lesson_page(lessons(), now="slow: plain with 2 client(s)")
    assert "Running: slow: plain with 2 client(s)." in lesson_page(
        lessons(), now="slow: plain with 2 client(s)")
    assert "Starting: no model has finished yet." in lesson_page(lessons())
    finished = lesson_page(lessons(), finished=True)
    assert refresh not in finished and "All runs finished." in finished


def test_the_page_in_chinese():
    page = lesson_page(lessons(), lang="zh", machine="machine: 2 core(s)", finished=True)
    assert '<html lang="zh-CN">' in page
    assert "<h2>负载 slow</h2>" in page and "全部运行完毕。" in page
    assert "<p>机器: 2 core(s)</p>" in page
    assert "pss（按比例内存）" in page
    assert "测量仪器：对一个什么都不做的 asyncio 回显服务器，负载生成器达到了 2 个客户端时 " \
           "5,000 req/s：这是它在这里能测到的最大值。" in page
    assert "<text " in page and "每秒请求数（越多越好）" in page and "客户端 1" in page
    assert "每个连接的内存，PSS（越少越好）" in page
    assert "<li>plain 一次只服务一个连接（同时最多 1 个）：其他连接在等待轮到自己" \
           "。</li>" in page
    assert "<li>prefork 的工作进程分别服务了 3、2 个连接：每个新连接只唤醒一个在 " \
           "accept() 里等待的工作进程，而不是全部（没有惊群效应）。</li>" in page


def test_the_page_says_what_was_skipped_and_what_was_not_measured():
    skipped = settings("slow")
    skipped.skipped = ["the forking model: win32 has no os.fork()"]
    lesson = Lesson(skipped, [made_up(model, cpu=None) for model in MODELS], 2)
    for lang, words in (("en", ["Skipped: the forking model: win32 has no os.fork().",
                                "cpu not measured: it needs /proc"]),
                        ("zh", ["跳过：the forking model: win32 has no os.fork()。",
                                "cpu 未测量：它需要 /proc"])):
        page = lesson_page([lesson], lang=lang, finished=True)
        for text in words:
            assert text in page, (lang, text)
    assert "cpu not measured" not in lesson_page(lessons(), finished=True)


def test_a_page_is_replaced_whole_or_not_at_all(tmp_path):
    path = tmp_path / "lesson.html"
    write_page(str(path), "first")
    write_page(str(path), "second")
    assert path.read_text() == "second"
    with pytest.raises(TypeError):
        write_page(str(path), None)
    assert path.read_text() == "second"
    assert sorted(os.listdir(tmp_path)) == ["lesson.html"]


def fetch(url):
    with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:
        return answer.read().decode("utf-8"), answer.headers


def test_the_live_page_is_served_and_updated_as_each_model_finishes(tmp_path):
    slow = settings("slow")
    page = LivePage([str(tmp_path / "index.html"), str(tmp_path / "copy.html")],
                    [slow], "en", "machine: test", timeline_clients)
    server, thread = serve_folder(str(tmp_path))
    try:
        url = f"http://{server.endpoint}/"
        first, headers = fetch(url)
        assert "Starting: no model" in first and "data-model" not in first
        assert headers["Cache-Control"] == "no-store"
        page.measuring(slow, "plain", 2)
        page.measured(slow, [made_up("plain")])
        second, _ = fetch(url)
        assert "Running: slow: plain with 2 client(s)." in second
        assert '<tr data-model="plain">' in second
        page.finish()
        assert "All runs finished." in fetch(url)[0]
        assert fetch(url + "copy.html")[0] == fetch(url)[0]
        with pytest.raises(urllib.error.HTTPError) as missing:
            fetch(url + "../../etc/passwd")
        assert missing.value.code == 404
    finally:
        launcher.stop(server, thread)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_shows_on_a_terminal_only():
    assert ProgressLine.on(io.StringIO(), 2, 1.5) is None
    terminal = Terminal()
    progress = ProgressLine.on(terminal, 3, 2.0)
    progress.measuring(settings("work"), "plain", 10)
    assert terminal.getvalue() == ("\r\x1b[K[1/3] work: plain with 10 client(s), "
                                   "about 0:06 left")
    progress.measured(settings("work"), [])
    assert terminal.getvalue().endswith("\r\x1b[K")       # cleared for the report
    progress.spent = 30.0                                  # as if the run took 30 s
    assert progress.left() == "1:00"


def test_the_lab_shows_progress_on_a_terminal_and_pipes_only_the_report():
    """Standard error on a pseudo-terminal gets the progress line; standard
    output, a pipe, gets the report and not a byte more."""
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    try:
        lab = subprocess.Popen(
            classicnet_command("lab", "--workload", "echo", "--clients", "2",
                               "--models", "plain", "--duration", "0.1",
                               "--processes", "1", "--no-ceiling"),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
            env=classicnet_env())
        os.close(slave)
        out, _ = lab.communicate(timeout=60)
        screen = b""
        while select.select([master], [], [], TIMEOUT)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:             # EIO: nothing more, the lab has ended
                break
            if not chunk:
                break
            screen += chunk
    finally:
        os.close(master)
    assert lab.returncode == 0
    assert b"[1/1] echo: plain with 2 client(s), about 0:02 left" in screen
    assert b"\r" not in out and b"[1/1]" not in out
    assert out.startswith(b"classicnet lab: workload echo")


def test_a_churn_section_says_what_its_timeline_cannot_show():
    churn = made_up("plain")
    churn.connections = [(n % 2, n / 100, n / 100 + 0.001, n / 100 + 0.00101)
                         for n in range(100)]
    lesson = Lesson(settings("churn"), [churn], 2)
    assert "A connection was served for 10 microseconds (the median)" in lesson_page(
        [lesson])
    assert "一个连接被服务的时间是 10 微秒（中位数）" in lesson_page([lesson], lang="zh")
    assert "microseconds" not in lesson_page(lessons())
