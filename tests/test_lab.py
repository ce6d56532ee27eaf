"""The concurrency lab end to end on a tiny configuration, and its parts alone.

No assertion here depends on the machine's speed: the lab's numbers are
checked for their shape and their consistency, never for their size.
"""

import csv
import os
import socket
import json
import xml.etree.ElementTree as ElementTree

import pytest

from classicnet import cli
from classicnet.testing import running_server
from classicnet.lab import LAB_MODELS as ALL_MODELS
from classicnet.lab import WORKLOADS, Settings, run_lab, timeline_clients
from classicnet.lab.experiment import (INSTRUMENT, REFERENCE, REFERENCE_COMMAND,
                                       LabError, server_command, start_server)
from classicnet.lab.report import COLUMNS, format_table
from classicnet.lab.timeline import LEGEND

# Every model of the lab that can run here (forking and prefork need os.fork).
LAB_MODELS = [model for model in ALL_MODELS
              if hasattr(os, "fork") or model not in ("forking", "prefork")]


@pytest.fixture(scope="module")
def lab_run(tmp_path_factory):
    """One tiny lab run through the command line, shared by the tests below."""
    folder = tmp_path_factory.mktemp("lab")
    files = {kind: str(folder / f"lab.{kind}") for kind in ("svg", "json", "csv")}
    lines = []
    measurements = run_lab(
        Settings(workload=WORKLOADS["echo"], models=LAB_MODELS, client_counts=[3],
                 duration=0.2, requests_per_connection=3, pool_size=2, prefork_workers=2,
                 processes=2),
        svg=files["svg"], json_path=files["json"], csv_path=files["csv"],
        out=lines.append)
    return measurements, lines, files


def test_every_model_and_count_is_measured_after_the_ceiling(lab_run):
    measurements, _, _ = lab_run
    assert [(m.model, m.clients) for m in measurements] == [
        (model, 3) for model in [INSTRUMENT] + LAB_MODELS]
    for m in measurements:
        assert m.errors == {} and m.unfinished == 0
        assert m.connections, m.model
        for client, opened, first_answer, closed in m.connections:
            assert 0 <= client < m.clients
            assert opened <= first_answer <= closed


def test_the_servers_are_counted_from_their_logs(lab_run):
    measurements, _, _ = lab_run
    for m in measurements:
        served = len(m.connections)
        if m.model in (INSTRUMENT, REFERENCE):
            assert m.threads is None and m.processes is None
        elif m.model == "plain":
            assert (m.threads, m.processes) == (1, 1)
            assert m.most_at_once == 1
        elif m.model == "threading":
            assert (m.threads, m.processes) == (served, 1)
        elif m.model == "forking":
            assert m.threads == m.processes == served
        elif m.model == "prefork":                  # 2 workers, forked once
            assert m.threads == m.processes <= 2
            assert sum(m.shares.values()) == served
        else:
            assert m.processes == 1 and m.threads <= 2
            assert m.most_at_once <= 2


def test_the_report_prints_a_table_sentences_and_timelines(lab_run):
    measurements, lines, files = lab_run
    header = next(line for line in lines if line.startswith("model"))
    assert header.split() == " ".join(COLUMNS).split()
    table = format_table(measurements)
    assert all(line in lines for line in table)
    assert len(table) == 1 + len(measurements)     # the instrument is no row
    assert not any(line.startswith(INSTRUMENT) for line in table)
    above = lines[:lines.index(table[0])]
    assert any(line.startswith("instrument: the load generator reached ")
               for line in above)
    assert "What the numbers show:" in lines
    start = lines.index(f"Timeline ({LEGEND}):")
    titles = [line for line in lines[start:] if line.endswith("3 client(s)")]
    assert titles == [f"{model}, 3 client(s)" for model in LAB_MODELS]
    rows = [line for line in lines[start:] if line.startswith("client ")]
    assert len(rows) == 3 * len(LAB_MODELS)
    assert all(line.endswith("|") and set(line[12:-1]) <= set(" .+#") for line in rows)
    assert [f"wrote {files[kind]}" for kind in ("svg", "json", "csv")] == lines[-3:]


def test_the_files_hold_the_measurements(lab_run):
    measurements, _, files = lab_run
    with open(files["json"]) as file:
        document = json.load(file)
    assert document["settings"]["workload"] == "echo"
    assert document["settings"]["requests_per_connection"] == 3
    assert len(document["measurements"]) == len(measurements)
    first = document["measurements"][0]
    assert first["model"] == INSTRUMENT
    assert len(first["latencies_ms"]) >= first["requests"]
    assert {"client", "opened_s", "first_answer_s", "closed_s"} == set(
        first["connections"][0])
    assert isinstance(document["conclusions"], list)
    with open(files["csv"], newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(row["model"], int(row["clients"])) for row in rows] == [
        (m.model, m.clients) for m in measurements]
    assert float(rows[1]["requests_per_s"]) == round(measurements[1].rate, 1)
    svg = ElementTree.parse(files["svg"]).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [text.text for text in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "requests per second (more is better)" in texts
    assert sum(text.startswith("timeline: ") for text in texts) == len(LAB_MODELS)


def test_the_command_line_runs_the_lab(capsys, tmp_path):
    status = cli.main(["lab", "--workload", "churn", "--clients", "2",
                       "--models", "plain", "--duration", "0.1", "--processes", "1",
                       "--no-ceiling", "--csv", str(tmp_path / "churn.csv")])
    out = capsys.readouterr().out
    assert status == 0
    assert "workload churn" in out and "1 request(s) per connection" in out
    assert "asyncio" not in out
    assert "plain, 2 client(s)" in out
    assert (tmp_path / "churn.csv").read_text().startswith("model,clients,")


@pytest.mark.parametrize("args, message", [
    (["--models", "plain,bogus"], "'bogus' is not one of: plain, threading"),
    (["--models", ","], "expected a comma-separated list"),
    (["--clients", "0"], "must be a whole number from 1 to 1000000"),
    (["--clients", "x"], "not 'x'"),
    (["--duration", "0"], "must be more than 0 and at most 86400 seconds"),
    (["--workload", "nap"], "'nap' is not one of: echo, slow, work, churn, idle"),
    (["--lang", "fr"], "invalid choice: 'fr'"),
    (["--port", "70000"], "--port"),
])
def test_bad_lab_arguments_exit_2(capsys, args, message):
    with pytest.raises(SystemExit) as exit:
        cli.main(["lab", *args])
    assert exit.value.code == 2
    assert message in capsys.readouterr().err


def test_a_delay_the_server_would_refuse_is_refused_by_the_lab_first(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["lab", "--workload", "slow", "--delay", "-5", "--clients", "1",
                  "--models", "plain", "--duration", "0.1", "--no-ceiling"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert error.splitlines()[-1].endswith("--delay: must be from 0 to 60000 "
                                           "milliseconds (one minute), not '-5'")


def test_a_file_that_cannot_be_written_is_one_line_and_status_1(capsys, tmp_path):
    missing = tmp_path / "no such folder" / "lab.csv"
    status = cli.main(["lab", "--clients", "1", "--models", "plain", "--duration", "0.1",
                       "--processes", "1", "--no-ceiling", "--csv", str(missing)])
    assert status == 1
    assert capsys.readouterr().err == (f"classicnet: cannot write {missing}: "
                                       "No such file or directory\n")


def settings(workload, **more):
    return Settings(workload=WORKLOADS[workload], models=["plain"], client_counts=[1],
                    **more)


@pytest.mark.parametrize("model, workload, more, expected", [
    ("plain", "echo", {}, ["echo", "--plain"]),
    ("pool", "echo", {"pool_size": 3}, ["echo", "--pool", "3"]),
    ("forking", "echo", {"max_children": 5}, ["echo", "--forking", "--max-children", "5"]),
    ("prefork", "churn", {"prefork_workers": 3}, ["echo", "--prefork", "3"]),
    ("threading", "slow", {"delay": 2.5}, ["slow", "--threading", "--delay", "2.5"]),
    ("threading", "work", {"cost": 1.0}, ["work", "--threading", "--cost", "1.0"]),
    ("threading", "churn", {"cost": 1.0}, ["echo", "--threading"]),
    ("plain", "work", {}, ["work", "--plain", "--cost", "5.0"]),
])
def test_server_commands(model, workload, more, expected):
    command = server_command(model, settings(workload, **more))
    assert [word for word in command
            if word not in ("--port", "0", "--grace", "1")] == expected


def test_the_reference_is_not_socketserver():
    assert REFERENCE_COMMAND[1:] == ["-m", "classicnet.lab.reference"]
    assert server_command(INSTRUMENT, settings("slow")) == ["--port", "0"]
    assert server_command(REFERENCE, settings("slow")) == ["--port", "0",
                                                           "--delay", "10.0"]
    assert server_command(REFERENCE, settings("work", cost=2)) == ["--port", "0",
                                                                   "--cost", "2"]
    assert server_command(REFERENCE, settings("churn", cost=2)) == ["--port", "0"]


def test_a_server_that_never_listens_is_a_lab_error_within_the_start_timeout(monkeypatch):
    """A server that hangs before listening does not hang the lab."""
    # A shell, not Python: it has said its last words long before the
    # 0.5 s are up, even where each new Python starts coverage first.
    monkeypatch.setattr("classicnet.lab.experiment.REFERENCE_COMMAND",
                        ["sh", "-c", "echo about to listen >&2; exec sleep 60"])
    monkeypatch.setattr("classicnet.lab.experiment.START_TIMEOUT", 0.5)
    with pytest.raises(LabError, match="asyncio did not start: .* no listening event: "
                                       "not within 0.5 s; its last words: about to listen"):
        start_server(REFERENCE, settings("echo"))


def test_a_server_that_exits_at_once_is_a_lab_error():
    with pytest.raises(LabError, match="plain did not start: .*the server has ended"):
        start_server("plain", settings("slow", delay=-5))


@pytest.mark.parametrize("counts, chosen", [([1, 10, 100], 10), ([1], 1), ([50, 5], 5)])
def test_the_timeline_shows_the_smallest_crowd(counts, chosen):
    assert timeline_clients(counts) == chosen


def test_requests_per_connection_default_to_the_workloads():
    assert settings("echo").per_connection == 100
    assert settings("churn").per_connection == 1
    assert settings("slow", requests_per_connection=7).per_connection == 7


def test_the_reference_does_the_same_work_as_the_models():
    """With --cost 5, one thread computes at most 200 answers a second, in
    asyncio's event loop as in threading's threads (the GIL): neither can be
    the 40,000 a second of an echo that does no work."""
    cost, duration = 5.0, 0.3
    most = duration * 1000 / cost + 2       # the answers one CPU-second allows, +2
    measurements = run_lab(
        Settings(workload=WORKLOADS["work"], models=["threading", REFERENCE],
                 client_counts=[3], duration=duration, cost=cost,
                 requests_per_connection=2, processes=1, ceiling=False),
        out=lambda line: None)
    for m in measurements:
        assert m.requests <= most, m.model
        assert m.latencies and m.latencies[0] >= cost / 1000, m.model   # drained


needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self/smaps_rollup"),
                                reason="memory is read from Linux's /proc")


@needs_proc
def test_idle_connections_are_held_and_the_memory_is_measured(tmp_path):
    lines = []
    measurements = run_lab(
        Settings(workload=WORKLOADS["idle"], models=["plain", "threading"],
                 client_counts=[3], duration=1.5),     # the time to be answered
        svg=str(tmp_path / "idle.svg"), out=lines.append)
    plain, threading = measurements          # no instrument: memory, not speed
    assert (plain.requests, threading.requests) == (1, 3)
    held = threading.memory[1]
    assert held.threads >= 1 + 3 and held.processes == 1
    assert held.rss_kib > 0 and held.pss_kib > 0
    assert threading.memory[0].threads < held.threads
    header = next(line for line in lines if line.startswith("model"))
    assert header.split()[2:5] == ["served", "rss", "MiB"]
    assert "plain answered 1 of 3 connections: the others waited, unanswered, " \
           "for a turn." in "\n".join(lines)
    texts = [text.text for text in ElementTree.parse(tmp_path / "idle.svg").getroot()
             .iter("{http://www.w3.org/2000/svg}text")]
    assert "memory per connection, PSS (less is better)" in texts


@needs_proc
def test_a_forked_child_is_counted_in_the_servers_memory():
    from classicnet.lab.memory import process_tree, sample
    with running_server("echo", model="forking") as address, \
            socket.create_connection(address, timeout=5) as client:
        client.sendall(b"x")
        assert client.recv(1) == b"x"
        mine = sample(os.getpid())
    assert os.getpid() in process_tree(os.getpid())
    assert mine.processes >= 2 and mine.threads >= 3     # the child, the server thread
    assert sample(2 ** 22 + 1) is None                   # no such process


def test_several_workloads_each_with_its_files_and_one_page(capsys, tmp_path):
    status = cli.main(["lab", "--workload", "churn,echo", "--clients", "2",
                       "--models", "plain", "--duration", "0.1", "--processes", "1",
                       "--no-ceiling", "--csv", str(tmp_path / "lab.csv"),
                       "--html", str(tmp_path / "lesson.html")])
    out = capsys.readouterr().out
    assert status == 0
    assert out.count("classicnet lab: workload ") == 2
    assert sorted(os.listdir(tmp_path)) == ["lab-churn.csv", "lab-echo.csv",
                                            "lesson.html"]
    page = (tmp_path / "lesson.html").read_text()
    assert '<section id="workload-churn">' in page and "All runs finished." in page
    assert out.endswith(f"wrote {tmp_path / 'lesson.html'}\n")


def test_a_page_server_that_cannot_listen_is_one_line_and_status_1(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = cli.main(["lab", "--models", "plain", "--serve", "--port", str(port)])
    assert status == 1
    error = capsys.readouterr().err
    assert error.startswith(f"classicnet: cannot listen on 127.0.0.1:{port}: the "
                            f"address is already in use")
    assert len(error.splitlines()) == 1


def test_a_bad_events_fd_is_a_usage_error(capsys):
    assert cli.main(["lab", "--models", "plain", "--serve", "--port", "0",
                     "--events-fd", "987"]) == 2
    assert "--events-fd 987 is not an open file descriptor" in capsys.readouterr().err
