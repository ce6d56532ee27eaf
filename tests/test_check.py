"""``classicnet check``: every built-in handler passes under every model; the
command line, the report and the JSON; a silent server; no server at all."""

import json

import pytest

from classicnet.check import PROTOCOLS, check_server, checks_for
from classicnet.check.conversation import Failed, describe, require_same
from classicnet.check.probe import Probe
from classicnet.endpoints import Endpoint
from classicnet.testing import running_server

from conftest import MODELS, TIMEOUT, run_cli

# Under --plain the check "two clients at once" waits its whole timeout
# for an answer that comes only once the first client leaves: a shorter
# one keeps those runs short, and a local answer takes milliseconds.
PLAIN_TIMEOUT = 5

STREAM_MODELS = MODELS + ["pool"]
BUILT_INS = [(protocol, model) for protocol in ("echo", "upper", "hello", "files")
             for model in STREAM_MODELS] + [("chat", "threading"), ("chat", "pool")]


def settings_for(protocol, tmp_path):
    return {"root": str(tmp_path)} if protocol == "files" else {}


@pytest.mark.parametrize("protocol, model", BUILT_INS)
def test_every_built_in_handler_passes_every_check(protocol, model, tmp_path):
    timeout = PLAIN_TIMEOUT if model == "plain" else TIMEOUT
    settings = settings_for(protocol, tmp_path)
    with running_server(protocol, model=model, **settings) as address:
        report = check_server(protocol, Endpoint("tcp", address), timeout)
    failed = [line for line in report.lines() if line.startswith("FAIL")]
    assert failed == []
    assert report.model == ("plain" if model == "plain" else "concurrent")
    assert len(report.results) == len(checks_for(protocol))


def test_the_tables_name_every_check_once_with_a_lesson_and_a_place():
    for protocol in PROTOCOLS:
        checks = checks_for(protocol)
        assert len({check.name for check in checks}) == len(checks), protocol
        for check in checks:
            assert all([check.lesson, check.see, check.sends, check.expects]), check


def test_the_command_line_reports_a_line_per_check_and_a_summary(cli):
    server = cli("upper", "--threading")
    result = run_cli("check", "upper", "--port", str(server.address[1]))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(checks_for("upper")) + 1
    assert lines[0] == "PASS  one byte: sent b'a', received b'A'"
    assert lines[-1] == "11 of 11 checks passed; model seen: concurrent"


def test_json_is_one_object_for_a_grading_script(cli):
    server = cli("echo", "--forking")
    result = run_cli("check", "echo", "--port", str(server.address[1]), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["protocol"] == "echo"
    assert report["address"] == f"127.0.0.1:{server.address[1]}"
    assert (report["passed"], report["total"], report["model"]) == (11, 11, "concurrent")
    first = report["checks"][0]
    assert first == {"name": "one byte", "passed": True, "sends": "b'a'",
                     "expects": "its answer, without waiting for more",
                     "detail": "sent b'a', received b'a'", "lesson": None, "see": None}


def test_a_silent_server_fails_each_check_within_the_timeout_and_the_run_goes_on(cli):
    server = cli("discard", "--threading")
    result = run_cli("check", "echo", "--port", str(server.address[1]),
                     "--timeout", "0.5", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["passed"] == 0 and report["total"] == 11
    one_byte = report["checks"][0]
    assert one_byte["detail"] == ("sent b'a', received nothing: no answer within 0.5 s "
                                  "(waiting for b'a' back; received nothing so far)")
    assert one_byte["lesson"].startswith("recv() returns whatever has arrived")
    assert one_byte["see"] == "README.md, \"Handlers\"; course notes: 最基本服务端程序"


def test_a_server_that_never_stops_talking_is_a_bounded_wait_too(cli):
    server = cli("chargen", "--threading")
    result = run_cli("check", "hello", "--port", str(server.address[1]),
                     "--timeout", "0.5", "--json", timeout=TIMEOUT * 3)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["passed"] == 0
    # Which bound comes first, 16 MiB or the timeout, is the machine's speed.
    welcome = report["checks"][0]["detail"]
    assert welcome.endswith("bytes, none of them b'Welcome!'") or \
        "no answer within 0.5 s (waiting for b'Welcome!'; received" in welcome


def test_no_server_at_all_says_start_it_first(unused_port):
    result = run_cli("check", "hello", "--port", str(unused_port))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[-1] == "0 of 11 checks passed; model seen: unknown"
    assert lines[0].startswith("FAIL  welcome: no connection was made: cannot "
                               f"connect to 127.0.0.1:{unused_port}: Connection refused; "
                               "lesson: nothing accepted the connection: start the "
                               "server")


@pytest.mark.parametrize("args, message", [
    (["ftp"], "argument PROTOCOL: invalid choice: 'ftp'"),
    (["echo", "--host", "a..b"], "classicnet: --host 'a..b' is not a valid host name"),
    (["echo", "--timeout", "0"], "argument --timeout"),
    (["echo", "--port", "http"], "argument --port"),
])
def test_usage_mistakes_are_one_line_and_status_2(args, message):
    result = run_cli("check", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_concurrent_fails_a_server_that_serves_one_client_at_a_time():
    with running_server("echo", model="plain") as address:
        report = check_server("echo", Endpoint("tcp", address), PLAIN_TIMEOUT,
                              needs_concurrency=True)
    failed = {result.check.name: result for result in report.results if not result.passed}
    assert list(failed) == ["two clients at once"]
    assert failed["two clients at once"].detail.endswith(
        "the second client was answered only after the first left: this server "
        "serves one client at a time")


def test_a_probe_connects_only_through_an_endpoint():
    with pytest.raises(TypeError, match="expected an Endpoint"):
        Probe(("127.0.0.1", 9000), 1)


def test_describe_shows_short_bytes_whole_and_long_ones_by_size():
    assert describe(b"") == "nothing"
    assert describe(b"ab\n") == "b'ab\\n'"
    assert describe(b"x" * 50, limit=3) == "50 bytes b'xxx'..."


@pytest.fixture
def unused_port():
    """A port nothing listens on: bound, then closed, and never listened on."""
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_bytes_that_differ_are_shown_with_where_they_part():
    require_same(b"abc", b"abc")
    with pytest.raises(Failed, match=r"expected b'abcd' back, received b'abXd' "
                                     r"\(they differ from byte 2 on\)"):
        require_same(b"abcd", b"abXd")


def test_a_wrong_answer_to_1_mib_fails_at_once_saying_where(cli):
    server = cli("upper", "--threading")
    report = check_server("echo", Endpoint("tcp", server.address), TIMEOUT)
    one_mebibyte = next(result for result in report.results
                        if result.check.name == "1 MiB at once")
    assert one_mebibyte.detail.endswith("(they differ from byte 10 on)")
