"""``parse-log watch`` as a user runs it: a real process following real logs as they grow.

Logs are real lines from ``tests/data`` written while the watcher runs (a subprocess
appends them, with pauses); webhooks go to a real HTTP server on 127.0.0.1; ``--exec``
runs a real script.  Expected lines, texts and figures are read off the logs.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from watch_helpers import (
    BASIC_LOG,
    NAN_LOG,
    REPO,
    Receiver,
    Watcher,
    alerts,
    closed_port_url,
    env,
    line_of,
    real_lines,
    run_folder,
    run_watch,
)

from parsers.cli import build_parser, main
from parsers.insights.alerts import ALERT_RULES, parse_alert_rule
from parsers.watch.command import parse_every
from tests.conftest import DATA

KERAS_NAN = DATA / "pytorch" / "keras_nan_loss.log"
NAN_LINE, NAN_TEXT = line_of(NAN_LOG, "ValueError: In epoch")

# Appends nan.log's lines to a log in chunks, printing "wrote N" after each and pausing; the
# last line arrives in two halves, as a writer's buffer may leave it.
WRITER = textwrap.dedent(
    """
    import sys, time
    log, source = sys.argv[1], sys.argv[2]
    lines = open(source, encoding="utf-8").read().splitlines(keepends=True)
    last = lines[-1]
    chunks = [lines[1:11], lines[11:-1], [last[:20]], [last[20:]]]
    for chunk in chunks:
        with open(log, "a", encoding="utf-8") as out:
            out.write("".join(chunk))
        print("wrote", sum(c.count("\\n") for c in chunk), flush=True)
        time.sleep(2.5)
    print("done", flush=True)
    """
)


@pytest.fixture
def runs(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    return folder


def stopped_cleanly(watcher: Watcher, sig: int) -> None:
    assert watcher.stop(sig) == 0, watcher.err
    assert watcher.err[-1] == "watch: stopped"


# --- following a growing log -------------------------------------------------------------------


def test_a_growing_log_alerts_once_when_its_nan_line_is_complete(runs):
    log = run_folder(runs, "job", real_lines(NAN_LOG)[:1])
    watcher = Watcher(runs, "--on", "nan", "--every", "1s", "--json")
    try:
        assert watcher.started(), watcher.err
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(log), str(NAN_LOG)], stdout=subprocess.PIPE, text=True
        )
        progress = []
        for line in writer.stdout:
            progress.append(line.strip())
            if line.startswith("wrote") and len(progress) < 4:  # before the NaN line is whole
                time.sleep(1.5)  # more than one look of the watcher
                assert alerts(watcher.out) == [], (progress, watcher.out)
        assert writer.wait(timeout=60) == 0 and progress[-1] == "done"
        assert watcher.wait_for(lambda: alerts(watcher.out), timeout=30), watcher.err
        time.sleep(3)  # three more looks: still one alert
        found = alerts(watcher.out)
        assert len(found) == 1, found
        assert (found[0]["run"], found[0]["rule"], found[0]["line"], found[0]["text"]) == (
            "job",
            "nan",
            NAN_LINE,
            NAN_TEXT,
        )
        assert log.read_text() == NAN_LOG.read_text()
    finally:
        if watcher.proc.poll() is None:
            stopped_cleanly(watcher, signal.SIGINT)


def test_an_edited_config_is_looked_at_again_though_no_log_grew(runs, tmp_path):
    """The run was priced as a CPU job; its hparams.json is corrected to say Ascend while its
    log stays as it is: the next look prices it again, and the cost alert fires."""
    run_folder(runs, "job", real_lines(BASIC_LOG))
    config = runs / "job" / "hparams.json"
    config.write_text('{"device_target": "CPU"}')
    prices = tmp_path / "prices.toml"
    prices.write_text(
        '[[prices]]\ndevice = "CPU"\nprice_per_device_hour = 0.01\n'
        '[[prices]]\ndevice = "Ascend"\nprice_per_device_hour = 1000000.0\n'
    )
    watcher = Watcher(runs, "--on", "cost=10CNY", "--prices", prices, "--every", "1s", "--json")
    try:
        assert watcher.started(), watcher.err
        time.sleep(2.5)  # two more looks at the unchanged run: far below 10 CNY
        assert alerts(watcher.out) == [], watcher.out
        config.write_text('{"device_target": "Ascend"}')
        assert watcher.wait_for(lambda: alerts(watcher.out), timeout=30), watcher.err
        (alert,) = alerts(watcher.out)
        # basic.log's epochs add up to 463.9 ms of wall time, at a million CNY an hour
        assert (alert["run"], alert["rule"]) == ("job", "cost=10CNY")
        assert alert["cost_so_far"] == pytest.approx(0.4639 / 3600 * 1e6, rel=0.01)
    finally:
        if watcher.proc.poll() is None:
            stopped_cleanly(watcher, signal.SIGTERM)


def test_a_restarted_watcher_does_not_repeat_itself(runs):
    run_folder(runs, "first", real_lines(NAN_LOG))
    first = Watcher(runs, "--on", "nan", "--every", "1s", "--json")
    try:
        assert first.wait_for(lambda: alerts(first.out), timeout=60), first.err
    finally:
        first.kill()  # SIGKILL: no chance to tidy up
    assert [a["run"] for a in alerts(first.out)] == ["first"]
    second = Watcher(runs, "--on", "nan", "--every", "1s", "--json")
    try:
        assert second.started(), second.err
        run_folder(runs, "second", real_lines(KERAS_NAN))  # a new run goes wrong after the restart
        assert second.wait_for(lambda: alerts(second.out), timeout=30), second.err
        time.sleep(2)
        assert [a["run"] for a in alerts(second.out)] == ["second"]
        stopped_cleanly(second, signal.SIGTERM)
    finally:
        second.kill()


# --- webhooks ----------------------------------------------------------------------------------


def chat_text_of(body: dict, preset: str) -> str:
    """The message text where each chat tool reads it."""
    if preset == "slack":
        assert set(body) == {"text"}
        return body["text"]
    if preset == "feishu":
        assert body["msg_type"] == "text" and set(body["content"]) == {"text"}
        return body["content"]["text"]
    assert body["msgtype"] == "text" and set(body["text"]) == {"content"}  # dingtalk, wecom
    return body["text"]["content"]


@pytest.mark.parametrize("preset", ["slack", "feishu", "dingtalk", "wecom"])
def test_each_chat_preset_posts_the_body_its_tool_expects(runs, capsys, preset):
    run_folder(runs, "job", real_lines(NAN_LOG))
    receiver = Receiver(b"ok" if preset == "slack" else b'{"errcode":0,"errmsg":"ok","code":0}')
    try:
        code = main(
            [
                "watch",
                str(runs),
                "--on",
                "nan",
                "--once",
                "--webhook",
                receiver.url,
                "--webhook-format",
                preset,
            ]
        )
    finally:
        receiver.close()
    out = capsys.readouterr()
    assert code == 1 and "not delivered" not in out.err
    assert len(receiver.posts) == 1
    post = receiver.posts[0]
    assert post["path"] == "/hook" and post["headers"]["Content-Type"].startswith("application/json")
    text = chat_text_of(post["body"], preset)
    assert text.startswith("epochscope")  # a DingTalk bot's keyword check can ask for it
    assert "job" in text and "nan" in text and f"line {NAN_LINE}" in text and NAN_TEXT in text
    assert "cost so far" in text


def test_json_preset_posts_the_alert_itself(runs, capsys):
    log = run_folder(runs, "job", real_lines(NAN_LOG))
    receiver = Receiver(b"")
    try:
        code = main(["watch", str(runs), "--on", "nan", "--once", "--json", "--webhook", receiver.url])
    finally:
        receiver.close()
    printed = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [p["body"] for p in receiver.posts] == [printed]
    assert (printed["run"], printed["rule"], printed["line"], printed["text"], printed["log"]) == (
        "job", "nan", NAN_LINE, NAN_TEXT, str(log))  # fmt: skip


def test_a_chat_tool_refusing_the_message_is_reported(runs, capsys):
    run_folder(runs, "job", real_lines(NAN_LOG))
    receiver = Receiver(b'{"errcode":310000,"errmsg":"keywords not in content"}')  # DingTalk's refusal
    try:
        code = main(
            [
                "watch",
                str(runs),
                "--on",
                "nan",
                "--once",
                "--webhook",
                receiver.url,
                "--webhook-format",
                "dingtalk",
            ]
        )
    finally:
        receiver.close()
    out = capsys.readouterr()
    assert code == 1 and len(receiver.posts) == 1  # refused: not sent again
    assert "ALERT job nan" in out.out
    assert "not delivered to --webhook: refused: errcode 310000 keywords not in content" in out.err


def test_an_unreachable_webhook_is_reported_and_watching_goes_on(runs):
    run_folder(runs, "first", real_lines(NAN_LOG))
    watcher = Watcher(runs, "--on", "nan", "--every", "1s", "--webhook", closed_port_url())
    try:
        assert watcher.wait_for(lambda: any("not delivered" in line for line in watcher.err), timeout=60), (
            watcher.err
        )
        failure = next(line for line in watcher.err if "not delivered" in line)
        assert failure.startswith(
            "watch: alert first nan not delivered to --webhook: cannot reach 127.0.0.1:"
        )
        assert failure.endswith("(after 3 tries)")
        assert any(
            " ALERT first nan: " in line and f"train.log:{NAN_LINE}: {NAN_TEXT}" in line
            for line in watcher.out
        )
        run_folder(runs, "second", real_lines(KERAS_NAN))
        assert watcher.wait_for(
            lambda: any(" ALERT second nan: " in line for line in watcher.out), timeout=60
        )
        stopped_cleanly(watcher, signal.SIGTERM)
    finally:
        watcher.kill()


# --- --exec ------------------------------------------------------------------------------------

RECEIVER_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    alert = json.load(sys.stdin)
    variables = {k: v for k, v in os.environ.items() if k.startswith("EPOCHSCOPE_")}
    with open(sys.argv[1], "a", encoding="utf-8") as out:
        out.write(json.dumps({"stdin": alert, "env": variables}) + "\\n")
    print("handled", alert["run"])
    """
)


def test_exec_gets_the_alert_on_stdin_and_in_its_environment(tmp_path, runs):
    name = "job $(touch pwned); echo `id`"  # a run folder whose name a shell would run
    run_folder(runs, name, real_lines(NAN_LOG))
    script, got = tmp_path / "receive.py", tmp_path / "got.jsonl"
    script.write_text(RECEIVER_SCRIPT)
    command = shlex.join([sys.executable, str(script), str(got)])
    result = subprocess.run(
        [sys.executable, "-m", "parsers.cli", "watch", str(runs), "--on", "nan", "--once", "--exec", command],
        capture_output=True, text=True, cwd=tmp_path, env=env(), timeout=120,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    (call,) = [json.loads(line) for line in got.read_text().splitlines()]
    alert, variables = call["stdin"], call["env"]
    assert (alert["run"], alert["rule"], alert["line"], alert["text"]) == (name, "nan", NAN_LINE, NAN_TEXT)
    assert variables["EPOCHSCOPE_RUN"] == name and variables["EPOCHSCOPE_RULE"] == "nan"
    assert variables["EPOCHSCOPE_LINE"] == str(NAN_LINE) and variables["EPOCHSCOPE_TEXT"] == NAN_TEXT
    assert variables["EPOCHSCOPE_LOG"] == str(runs / name / "train.log")
    assert not (tmp_path / "pwned").exists()
    assert result.stdout.count(" ALERT ") == 1 and "handled" not in result.stdout  # its output: stderr
    assert f"handled {name}" in result.stderr


def test_a_failing_exec_is_reported_and_the_alert_still_printed(runs):
    run_folder(runs, "job", real_lines(NAN_LOG))
    command = shlex.join([sys.executable, "-c", "import sys; sys.exit(3)"])
    result = run_watch(runs, "--on", "nan", "--once", "--exec", command)
    assert result.returncode == 1
    assert " ALERT job nan: " in result.stdout
    assert (
        "watch: alert job nan not delivered to --exec: " in result.stderr and "exited with 3" in result.stderr
    )


# --- --once: exit codes ------------------------------------------------------------------------


def test_once_exits_0_when_no_rule_holds(runs):
    run_folder(runs, "job", real_lines(BASIC_LOG))
    result = run_watch(runs, "--on", "nan", "crashed", "overflow=3", "--once")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_once_exits_1_while_a_rule_holds_and_says_it_once(runs):
    run_folder(runs, "job", real_lines(NAN_LOG))
    result = run_watch(runs, "--on", "nan", "--once")
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert " ALERT job nan: " in line and f"train.log:{NAN_LINE}: {NAN_TEXT}" in line
    again = run_watch(runs, "--on", "nan", "--once")
    assert (again.returncode, again.stdout) == (1, "")
    assert "1 alert(s) hold, all sent before" in again.stderr


def test_a_log_file_can_be_watched_by_itself(tmp_path):
    log = run_folder(tmp_path, "job", real_lines(NAN_LOG))
    result = run_watch(log, "--on", "nan", "--once", "--json")
    assert result.returncode == 1
    (alert,) = alerts(result.stdout.splitlines())
    assert (alert["run"], alert["line"], alert["log"]) == ("job", NAN_LINE, str(log))
    assert (tmp_path / "job" / ".epochscope" / "alerts.json").is_file()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--on", "bogus"], "--on 'bogus': unknown rule (known: nan, overflow=N, stalled"),
        (["--on", "overflow=x"], "--on 'overflow=x': 'x' is not a whole number >= 1"),
        (["--on", "cost=200USD"], "--on 'cost=200USD': the price table"),
        (["--on", "nan", "--every", "soon"], "--every 'soon': not a duration"),
        (
            ["--on", "nan", "--webhook", "ftp://example.com/x"],
            "--webhook 'ftp://example.com/x': needs an http",
        ),
        (["--on", "nan", "--exec", "'unclosed"], '--exec "\'unclosed": No closing quotation'),
        ([], "the following arguments are required: --on"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(runs, args, needle):
    run_folder(runs, "job", real_lines(NAN_LOG))
    result = run_watch(runs, *args, "--once")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Error: ") and needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


def test_a_missing_log_is_bad_input(tmp_path):
    result = run_watch(tmp_path / "nowhere.log", "--on", "nan", "--once")
    assert (
        result.returncode == 2
        and result.stderr == f"Error: {tmp_path / 'nowhere.log'}: no such file or folder\n"
    )


# --- the README's commands are commands the CLI takes -------------------------------------------


def readme_watch_calls() -> list[list[str]]:
    """Every ``parse-log watch`` call in the README's indented code lines (cron lines included)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    calls = re.findall(r"^ {4}.*?(parse-log watch .*)$", text, re.MULTILINE)
    return [shlex.split(call, comments=True) for call in calls]


def test_readme_shows_watch_with_webhook_presets_and_every_rule():
    calls = readme_watch_calls()
    assert len(calls) >= 5
    formats = {argv[argv.index("--webhook-format") + 1] for argv in calls if "--webhook-format" in argv}
    assert {"feishu", "dingtalk"} <= formats
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}" in text for name in ALERT_RULES)


@pytest.mark.parametrize("argv", readme_watch_calls(), ids=lambda argv: " ".join(argv[2:4]))
def test_readme_watch_commands_parse(argv):
    args = build_parser("watch").parse_args(argv[2:])
    assert [parse_alert_rule(rule).text for rule in args.rules] == args.rules
    assert parse_every(args.every) > 0
