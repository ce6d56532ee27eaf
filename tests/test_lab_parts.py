"""The lab's parts on made-up measurements: timeline, statistics, sentences,
and the load generator's error counting."""

import socket
import string

import pytest
from hypothesis import given, strategies as st

from classicnet.lab import WORKLOADS, Settings
from classicnet.lab.conclusions import conclusions
from classicnet.lab.experiment import INSTRUMENT, REFERENCE, Measurement
from classicnet.lab.intervals import served_intervals
from classicnet.lab.load import run_load
from classicnet.lab.memory import Memory
from classicnet.lab.report import format_table, instrument_lines
from classicnet.lab.sentences import SENTENCES, Sentence
from classicnet.lab.timeline import (draw_timeline, resolution_note, shade,
                                     timeline_fractions, timeline_rows)
from classicnet.testing import running_server


def made_up(model="plain", clients=2, rate=100.0, connections=(), latencies=(0.01,),
            cpu=None, servers=(), load=None, errors=None, unfinished=0, shares=None):
    return Measurement(
        model=model, clients=clients, duration=1.0, requests=int(rate),
        latencies=sorted(latencies), connections=list(connections), start=0.0,
        errors=errors or {}, unfinished=unfinished, servers=set(servers),
        cpu_seconds=cpu, load_average=load, shares=shares or {})


SEQUENTIAL = [(0, 0.0, 0.1, 0.5), (1, 0.0, 0.5, 1.0)]
TOGETHER = [(0, 0.0, 0.1, 1.0), (1, 0.0, 0.1, 1.0)]


def test_a_sequential_timeline_is_a_staircase():
    chart, span = timeline_rows(made_up(connections=SEQUENTIAL), width=10)
    assert span == 1.0
    assert chart == [(0, ".####     "), (1, ".....#####")]


def test_a_concurrent_timeline_is_solid():
    chart, _ = timeline_rows(made_up(connections=TOGETHER), width=10)
    assert chart == [(0, ".#########"), (1, ".#########")]


def test_an_unanswered_connection_is_all_waiting():
    chart, _ = timeline_rows(made_up(clients=1, connections=[(0, 0.2, None, 0.6)]),
                             width=10)
    assert chart == [(0, "  ....    ")]


def test_the_timeline_shows_the_first_rows_only():
    lines = draw_timeline(made_up(clients=30, connections=SEQUENTIAL + [
        (25, 0.0, 0.2, 0.3)]), width=10, rows=2)
    assert lines[0] == "plain, 30 client(s) (the first 2 shown)"
    assert lines[1].startswith(" " * 12 + "0 s") and lines[1].endswith("1.0 s")
    assert lines[2:] == ["client   0  .####     |", "client   1  .....#####|"]


def test_a_cell_served_for_half_of_it_or_less_is_a_shade():
    chart, _ = timeline_rows(made_up(clients=1, connections=[(0, 0.0, 0.26, 0.72)]),
                             width=10)
    assert chart == [(0, "..+####+  ")]
    assert [shade(*pair) for pair in [(0.51, 0), (0.5, 0.5), (0, 0.1), (0, 0)]] == \
        ["#", "+", ".", " "]


def churn(clients=10, connections=200, duration=1.0):
    """A plain server under churn: one short connection after another, each
    served for a fifth of its turn, the clients taking turns."""
    turn = duration / connections
    return made_up("plain", clients, connections, [
        (n % clients, n * turn, n * turn + 0.8 * turn, (n + 1) * turn)
        for n in range(connections)])


def test_a_churn_timeline_for_plain_never_shows_two_clients_served_in_one_cell():
    m = churn()
    chart, _ = timeline_rows(m, width=60)
    columns = ["".join(cells[i] for _, cells in chart) for i in range(60)]
    assert all(column.count("#") <= 1 for column in columns)
    assert any(column.count("+") > 1 for column in columns)    # served in turn
    assert m.most_at_once == 1


connection = st.tuples(st.integers(0, 4), st.floats(0, 1), st.floats(0, 1),
                       st.floats(0, 1)).map(
    lambda c: (c[0], *sorted(c[1:])))


@given(st.lists(connection, max_size=12), st.integers(1, 80))
def test_at_once_is_the_most_overlap_of_the_drawn_intervals(connections, width):
    m = made_up(clients=5, connections=connections)
    drawn = served_intervals(m.connections)
    starts = [start for _, start, _ in drawn]
    assert m.most_at_once == max(
        [sum(begin <= moment < end for _, begin, end in drawn) for moment in starts]
        + [0])
    grid, _ = timeline_fractions(m, width, rows=5)
    for column in range(width):
        full = sum(grid[client][0][column] > 0.5 for client in grid)
        assert full <= max(1, m.most_at_once)


def test_most_at_once_from_the_clients_side():
    assert made_up(connections=SEQUENTIAL).most_at_once == 1
    assert made_up(connections=TOGETHER).most_at_once == 2
    assert made_up(connections=[(0, 0.0, None, 1.0)]).most_at_once == 0


def test_percentiles_and_counts():
    m = made_up(latencies=[i / 1000 for i in range(1, 101)], cpu=0.5,
                servers=[(1, "a"), (1, "b"), (2, "a")])
    assert m.latency_ms(0.50) == pytest.approx(50)
    assert m.latency_ms(0.99) == pytest.approx(99)
    assert m.latency_ms(1.0) == pytest.approx(100)
    assert (m.threads, m.processes, m.cores) == (3, 2, 0.5)
    empty = made_up(latencies=[])
    assert empty.latency_ms(0.5) is None and empty.threads is None
    assert format_table([empty])[2].split()[3:6] == ["-", "-", "-"]


def settings(**more):
    return Settings(workload=WORKLOADS["slow"], models=["plain", "threading"],
                    client_counts=[10], **more)


def test_waiting_threads_overlap():
    said = conclusions([
        made_up("plain", 10, 100, SEQUENTIAL, cpu=0.05),
        made_up("threading", 10, 1000, TOGETHER, cpu=0.1),
    ], settings())
    assert said[0] == ("With 10 client(s), threading served the most requests "
                       "(1,000/s), 10.0x plain.")
    assert said[1].startswith("plain served one connection at a time")
    assert "so its p99 latency was 10.0 ms against 10.0 ms" not in said[1]
    assert "10.0x faster than plain while using only 0.10 of a core" in said[2]


def test_computing_threads_do_not_overlap_but_processes_do():
    said = conclusions([
        made_up("plain", 10, 100, SEQUENTIAL, cpu=1.0),
        made_up("threading", 10, 105, TOGETHER, cpu=1.0),
        made_up("forking", 10, 190, TOGETHER, cpu=1.9, servers=[(1, "s"), (2, "s")]),
    ], settings())
    assert any(s.startswith("threading was no faster than plain (1.05x)") for s in said)
    assert any(s.startswith("forking used 1.90 cores") and "1.8x threading" in s
               for s in said)


def test_processes_in_parallel_on_a_busy_machine():
    said = conclusions([
        made_up("threading", 10, 100, TOGETHER, cpu=1.0),
        made_up("forking", 10, 125, TOGETHER, cpu=1.3, load=2.0, latencies=[0.005]),
    ], settings())
    line = next(s for s in said if s.startswith("forking used 1.30 cores"))
    if (__import__("os").cpu_count() or 1) == 2:
        assert line.endswith("(1.2x threading).  It did not get all 2 cores: the "
                             "machine was busy (load average 2.0 on 2 cores, the load "
                             "generator and other programs included).")


def test_cores_spent_on_forking_are_not_called_parallel_computing():
    forks = [(pid, "s") for pid in range(800)]
    said = conclusions([
        made_up("threading", 10, 1600, TOGETHER, cpu=0.8),
        made_up("forking", 10, 400, TOGETHER, cpu=1.4, servers=forks),
    ], settings())
    assert not any(s.startswith("forking used") for s in said)
    assert any(s.startswith("forking was 4.0x slower than threading") for s in said)


def test_a_pool_that_was_never_full_is_not_said_to_queue():
    said = conclusions([made_up("plain", 10, 100, SEQUENTIAL),
                        made_up("pool", 10, 100, TOGETHER)], settings(pool_size=4))
    assert not any(s.startswith("the pool served") for s in said)


def forking_after_threading(threading_cpu, forking_cpu, latency, **lab_settings):
    """What the lab says when 500 forks served 300 requests a second where
    threads served 1000, with a load average of 9.0."""
    forks = [(pid, "s") for pid in range(500)]
    return conclusions([
        made_up("threading", 10, 1000, TOGETHER, cpu=threading_cpu),
        made_up("forking", 10, 300, TOGETHER, cpu=forking_cpu, servers=forks, load=9.0,
                latencies=[latency]),
    ], settings(**lab_settings))


def test_a_busy_machine_is_named_and_many_forks_are_costly():
    said = forking_after_threading(threading_cpu=1.0, forking_cpu=0.8, latency=0.002)
    assert any("the machine was busy (load average 9.0" in s
               for s in said) == ((__import__("os").cpu_count() or 1) > 1)
    assert any(s.startswith("forking was 3.3x slower than threading: it started "
                            "500 processes (500 per second)") for s in said)


def test_a_waiting_server_does_not_blame_the_machine_and_max_children_is_named():
    said = forking_after_threading(threading_cpu=0.1, forking_cpu=0.3, latency=0.010,
                                   max_children=2)
    assert not any("the machine was busy" in s for s in said)
    assert not any("a fork costs" in s for s in said)
    assert ("forking served at most 2 connections at once: max_children is 2, so "
            "the other clients waited for a child to finish.") in said


def test_close_figures_the_pool_the_ceiling_and_errors():
    said = conclusions([
        made_up(INSTRUMENT, 10, 1000, TOGETHER, errors={"ECONNRESET": 1}),
        made_up("plain", 10, 950, SEQUENTIAL, errors={"ECONNRESET": 2}, unfinished=1),
        made_up("pool", 10, 1000, TOGETHER, servers=[(1, "p1"), (1, "p2")]),
        made_up("threading", 10, 990, TOGETHER, servers=[(1, f"t{i}") for i in range(9)]),
    ], settings(pool_size=2))
    assert said[0].startswith("With 10 client(s), every model served about as many")
    assert any(s.startswith("the pool served at most 2 connections at once with 2 "
                            "threads (2 workers)") for s in said)
    assert "threading started 9 threads, one per connection; the pool reused 2." in said
    assert sum(s.startswith("warning: ") for s in said) == 3
    assert said[-1] == ("plain with 10 client(s): 2 error(s) and 1 request(s) still "
                        "unanswered at the end (ECONNRESET).")


def test_the_instrument_is_a_line_of_its_own_and_close_figures_are_marked():
    measurements = [made_up(INSTRUMENT, 10, 1000, TOGETHER),
                    made_up("plain", 10, 100, SEQUENTIAL),
                    made_up(REFERENCE, 10, 850, TOGETHER)]
    table = format_table(measurements)
    assert [line.split()[:3] for line in table[2:]] == [
        ["plain", "10", "100"], ["asyncio", "(not", "socketserver)"]]
    assert table[3].split()[4] == "850*"
    assert instrument_lines(measurements) == [
        "instrument: the load generator reached 1,000 req/s with 10 client(s) against "
        "an asyncio echo that does no work: the most it can measure here.",
        "* within 20% of the instrument's ceiling: this figure is limited by the "
        "load generator, not by the server."]
    assert len(instrument_lines(measurements[:2])) == 1
    assert instrument_lines(measurements[1:]) == []


def test_an_event_loop_overlaps_waiting_but_not_computing():
    waiting = conclusions([made_up("plain", 10, 100, SEQUENTIAL, cpu=0.05),
                           made_up(REFERENCE, 10, 900, TOGETHER, cpu=0.1)], settings())
    assert any(s.startswith("asyncio served 2 connections at once in one thread and "
                            "was 9.0x faster than plain") for s in waiting)
    computing = conclusions([
        made_up("plain", 10, 100, SEQUENTIAL, cpu=1.0, latencies=[0.005]),
        made_up(REFERENCE, 10, 110, TOGETHER, cpu=1.0, latencies=[0.005])], settings())
    assert any(s.startswith("asyncio computed each answer in its one event loop and "
                            "served 1.10x plain's rate") for s in computing)
    neither = conclusions([made_up("plain", 10, 100, SEQUENTIAL, cpu=1.0),
                           made_up(REFERENCE, 10, 150, TOGETHER, cpu=1.0)], settings())
    assert not any(s.startswith("asyncio") for s in neither)


def test_cheap_answers_make_threading_slower_and_leaders_are_named():
    said = conclusions([
        made_up("plain", 10, 1000, SEQUENTIAL, cpu=0.5, latencies=[0.001]),
        made_up("threading", 10, 500, TOGETHER, cpu=0.7, latencies=[0.0001],
                servers=[(1, f"t{i}") for i in range(30)]),
        made_up("pool", 10, 1050, TOGETHER, cpu=0.7),
    ], settings(pool_size=8))
    assert said[0] == ("With 10 client(s), pool and plain served the most requests "
                       "(1,050 and 1,000/s).")
    assert said[1] == ("plain served one connection at a time (at most 1 at once): "
                       "the others waited their turn.")   # pool's p99 is worse
    assert said[2].startswith("threading was slower than plain (0.50x): each answer "
                              "costs so little that starting 30 threads")


def test_one_client_alone_says_little():
    said = conclusions([made_up("plain", 1, 100, [(0, 0.0, 0.1, 1.0)])], settings())
    assert said == []


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_refused_connection_is_an_error_not_a_crash():
    result, _ = run_load(("127.0.0.1", free_port()), 2, b"x" * 8, 1, 0.1,
                         processes=1, drain=0.5, lead_time=0)
    assert result.errors == {"ECONNREFUSED": 2}
    assert result.completed == 0 and len(result.connections) == 2


def test_a_wrong_answer_is_counted():
    with running_server("upper", model="threading") as address:
        result, _ = run_load(address, 1, b"x" * 8, 5, 0.1, processes=1, drain=1,
                             lead_time=0)
    assert result.errors == {"wrong answer": 1}
    assert result.latencies == []


def test_a_server_that_never_answers_leaves_requests_unfinished():
    with running_server("slow", model="threading", delay=5000) as address:
        result, _ = run_load(address, 2, b"x" * 8, 5, 0.05, processes=2, drain=0.2,
                             lead_time=0.1)
    assert result.unfinished == 2 and result.completed == 0
    assert [first for _, _, first, _ in result.connections] == [None, None]


def test_a_server_that_hangs_up_is_counted():
    with running_server("hello", model="threading") as address:
        result, _ = run_load(address, 1, b"exit\n" + b"x" * 59, 5, 0.1, processes=1,
                             drain=1, lead_time=0)
    assert result.errors == {"ECONNRESET": 1}     # "Welcome!\n", then nothing


def test_short_connections_get_a_sentence_on_what_the_picture_cannot_show():
    note = resolution_note([churn()], width=60)
    assert note.startswith("A connection was served for 1.0 ms (the median), "
                           "shorter than one cell of the timeline (17 ms)")
    assert resolution_note([made_up(connections=SEQUENTIAL)], width=60) is None
    instant = made_up(connections=[(0, 0.0, 0.5, 0.500012), (1, 0.5, 0.9, 0.900012),
                                   (0, 0.6, 0.95, 1.0)])
    assert resolution_note([instant], width=60).startswith(
        "A connection was served for 12 microseconds (the median)")
    assert resolution_note([made_up(connections=[(0, 0.0, None, 0.5)])]) is None


def idle(model, served, before, during, clients=4):
    m = made_up(model, clients, served)
    m.memory = (before and Memory(*before), during and Memory(*during))
    return m


def test_memory_per_connection_and_what_it_says():
    said = conclusions([
        idle("threading", 4, (1000, 800, 2, 1), (1200, 1000, 6, 1)),
        idle("forking", 4, (1000, 800, 1, 1), (41000, 5000, 5, 5), clients=6),
        idle("plain", 1, (1000, 800, 1, 1), (1010, 810, 1, 1)),
    ], settings(max_children=4))
    assert said[:3] == [
        "threading held 4 connection(s) with 6 thread(s) in 1 process(es): 50 KiB "
        "more per connection (PSS).",
        "forking answered 4 of 6 connections (max_children is 4): the others "
        "waited, unanswered, for a turn.",
        "forking held 4 connection(s) with 5 thread(s) in 5 process(es): 1,050 KiB "
        "more per connection (PSS)."]
    assert said[3].startswith("forking's RSS grew 10,000 KiB per connection, its PSS "
                              "1,050: a forked child shares")
    assert "plain answered 1 of 4 connections: the others waited, unanswered, for a " \
           "turn." in said
    assert said[-1] == "a process per connection cost 21x the memory of a thread per " \
                       "connection (PSS)."
    rows = format_table([idle("asyncio", 4, (1000, None, 1, 1), (1100, None, 1, 1))])
    assert rows[2].split()[-6:] == ["1.1", "25.0", "-", "-", "1", "1"]


def test_memory_that_cannot_be_measured_is_said_not_guessed():
    said = conclusions([idle("threading", 0, None, None)], settings())
    assert said == ["threading answered 0 of 4 connections: the others waited, "
                    "unanswered, for a turn.",
                    "memory could not be measured here: it is read from Linux's /proc."]


def test_every_sentence_can_be_said_in_chinese():
    scenarios = [
        ([made_up("plain", 10, 100, SEQUENTIAL, cpu=0.05),
          made_up("threading", 10, 1000, TOGETHER, cpu=0.1),
          made_up(REFERENCE, 10, 900, TOGETHER, cpu=0.1),
          made_up("pool", 10, 400, TOGETHER, servers=[(1, "p1"), (1, "p2")])],
         settings(pool_size=2)),
        ([made_up(INSTRUMENT, 10, 1000, TOGETHER),
          made_up("plain", 10, 1000, SEQUENTIAL, cpu=0.5, latencies=[0.001],
                  errors={"ECONNRESET": 1}),
          made_up("threading", 10, 500, TOGETHER, cpu=0.7, latencies=[0.0001]),
          made_up("forking", 10, 300, TOGETHER, cpu=0.8, load=9.0, latencies=[0.002],
                  servers=[(pid, "s") for pid in range(500)])], settings(max_children=2)),
        ([made_up("plain", 10, 100, SEQUENTIAL, cpu=1.0, latencies=[0.005]),
          made_up("threading", 10, 105, TOGETHER, cpu=1.0),
          made_up(REFERENCE, 10, 110, TOGETHER, cpu=1.0, latencies=[0.005]),
          made_up("forking", 10, 190, TOGETHER, cpu=1.9, load=2.0, latencies=[0.005],
                  servers=[(1, "s"), (2, "s")])], settings()),
        ([idle("threading", 4, (1000, 800, 2, 1), (1200, 1000, 6, 1)),
          idle("forking", 4, (1000, 800, 1, 1), (41000, 5000, 5, 5), clients=6)],
         settings(max_children=4)),
        ([idle("plain", 0, None, None)], settings()),
        ([made_up("threading", 10, 60, TOGETHER, cpu=0.36, latencies=[0.005]),
          made_up("forking", 10, 30, TOGETHER, cpu=0.3,
                  servers=[(pid, "s") for pid in range(300)]),
          made_up("prefork", 10, 108, TOGETHER, cpu=0.59, latencies=[0.005], load=16.0,
                  servers=[(11, "s"), (12, "s")], shares={11: 520, 12: 480})],
         settings(prefork_workers=2)),
    ]
    said = [s for measurements, lab in scenarios for s in conclusions(measurements, lab)]
    assert len(said) >= 20
    for sentence in said:
        chinese = sentence.say("zh")
        assert chinese != sentence and "{" not in chinese, sentence
        assert sentence.say("en") == sentence == sentence.say("fr")


def test_every_template_is_said_in_both_languages():
    for key, templates in SENTENCES.items():
        fields = [(name, spec) for template in templates
                  for _, name, spec, _ in string.Formatter().parse(template) if name]
        values = {name: 1.5 if spec else "x" for name, spec in fields}
        sentence = Sentence(key, **values)
        assert sentence.say("en") == sentence and sentence.say("zh") != sentence, key


def test_prefork_is_explained_from_its_numbers():
    workers = [(pid, "classicnet-server") for pid in (11, 12)]
    said = conclusions([
        made_up("threading", 10, 1000, TOGETHER, cpu=1.0),
        made_up("forking", 10, 300, TOGETHER, cpu=1.0,
                servers=[(pid, "s") for pid in range(300)]),
        made_up("prefork", 10, 1800, TOGETHER, cpu=1.9, servers=workers,
                latencies=[0.001],
                shares={11: 520, 12: 480}),
    ], settings(prefork_workers=2))
    assert ("prefork served 6.0x forking's requests: its 2 processes were forked "
            "once, at start-up, where forking started 300, one per connection.") in said
    assert any(s.startswith("prefork served 1.8x threading's requests with 1.90 "
                            "cores: its workers are processes") for s in said)
    assert ("prefork served at most 2 connections at once with 2 workers; the other "
            "clients waited in the listen backlog.") in said
    assert any(s.startswith("prefork's workers served 520, 480 connections: each new "
                            "connection woke one worker") for s in said)


def test_a_prefork_short_of_cores_names_the_busy_machine():
    said = conclusions([
        made_up("threading", 10, 60, TOGETHER, cpu=0.36, latencies=[0.005]),
        made_up("prefork", 10, 108, TOGETHER, cpu=0.59, latencies=[0.005], load=16.0),
    ], settings(prefork_workers=4))
    assert ("prefork served 1.8x threading's requests with 0.59 cores: its workers are "
            "processes, each with its own GIL, so they compute in parallel as "
            "forking's children do.  It did not get every core: the machine was "
            "busy (load average 16.0).") in said


def test_a_slower_prefork_is_not_praised():
    said = conclusions([
        made_up("threading", 2, 1000, TOGETHER, cpu=0.2),
        made_up("forking", 2, 800, TOGETHER, servers=[(n, "s") for n in range(9)]),
        made_up("prefork", 2, 900, TOGETHER, cpu=0.2, shares={11: 1}),
    ], settings(prefork_workers=4))
    assert not any(s.startswith("prefork") for s in said)
