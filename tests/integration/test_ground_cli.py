"""The ground station from the terminal and the procedures API, against a whole simulated stack: flight in
its own process, the CURVE-secured link on 127.0.0.1, the ground archive on a real SQLite file."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ground.errors import NeedsConfirmation
from ground.procedures import CommandFailed, ProcedureTimeout
from isru.stack import SimStack

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimStack]:
    with SimStack(tmp_path_factory.mktemp("stack"), warp=2.0) as running:
        yield running


def isru_ground(stack: SimStack, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "isru.cli", "ground", *args[:1], "--config", str(stack.config_path), *args[1:]],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ----------------------------------------------------------------------------------- procedures
def test_procedures_send_waits_for_completion_and_reports_flights_refusal(stack: SimStack) -> None:
    proc = stack.procedures
    done = proc.send("drill.self_test").wait_completed(timeout_s=20)
    assert done["stage"] == "completed"
    with pytest.raises(CommandFailed) as refused:
        proc.send("drill.spin", rpm=100.0).wait_completed(timeout_s=20)
    assert refused.value.reason == "interlock:drill_unanchored"


def test_procedures_searches_match_only_data_newer_than_the_command(stack: SimStack) -> None:
    proc = stack.procedures

    def refusal(event: dict) -> bool:
        return "drill_unanchored" in str(event.get("message", "")) + str(event.get("name", ""))

    proc.send("drill.spin", rpm=20.0).wait_failed(timeout_s=20)
    proc.await_event(predicate=refusal, timeout_s=20)  # the refusal event arrived in this window
    proc.send("imu.self_test").wait_completed(timeout_s=20)  # a new window opens
    with pytest.raises(ProcedureTimeout, match="timed out"):
        proc.await_event(predicate=refusal, timeout_s=1.0)  # the old refusal no longer matches
    value, t = proc.await_telemetry("imu.temp_K", timeout_s=20)
    assert isinstance(value, float) and t > 0


def test_procedures_hazardous_command_needs_explicit_confirmation_when_asked(stack: SimStack) -> None:
    before = len(stack.core.commands)
    with pytest.raises(NeedsConfirmation, match="drill"):
        stack.procedures.send("drill.spin", confirmed=False, rpm=10.0)
    assert len(stack.core.commands) == before


# ------------------------------------------------------------------------------------------ CLI
def test_send_prints_the_stages_and_exits_0_on_completed(stack: SimStack) -> None:
    result = isru_ground(stack, "send", "drill.self_test")
    assert result.returncode == 0, result.stderr
    stages = [line.split()[1] for line in result.stdout.splitlines()]
    assert stages[0] == "accepted" and stages[-1] == "completed"


def test_send_exits_1_with_flights_reason(stack: SimStack) -> None:
    result = isru_ground(stack, "send", "drill.spin", "rpm=100", "--yes")
    assert result.returncode == 1
    assert "interlock:drill_unanchored" in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["drill.spin", "rpm=100"], "hazard"),
        (["drill.spin", "rpm=9999", "--yes"], "rpm"),
        (["drill.spin", "speed=1", "--yes"], "speed"),
        (["no.such.command"], "no.such.command"),
    ],
)
def test_send_refused_on_ground_exits_3_and_says_why(stack: SimStack, args: list[str], expected: str) -> None:
    result = isru_ground(stack, "send", *args)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert expected in result.stderr.lower()


def test_an_observer_key_is_not_admitted_by_flight(stack: SimStack) -> None:
    before = stack.flight_log().count("refused a client key")
    result = isru_ground(stack, "send", "drill.self_test", "--identity", "observer", "--connect-timeout", "3")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "flight admits ground-station keys only" in result.stderr
    assert stack.flight_log().count("refused a client key") > before  # flight's authenticator said no


def test_clients_sharing_the_operator_key_each_get_their_commands_run_once(stack: SimStack) -> None:
    # The CLI (another process with the operator key) moves flight's counter past this core's own.
    assert isru_ground(stack, "send", "imu.self_test").returncode == 0
    handle = stack.procedures.send("drill.self_test")
    handle.wait_completed(timeout_s=20)
    assert handle.stages.count("accepted") == 1 and "failed" not in handle.stages


def test_send_without_flight_exits_2_with_a_hint(stack: SimStack, tmp_path) -> None:
    result = isru_ground(stack, "send", "drill.self_test", "--endpoint", "tcp://127.0.0.1:9", "--connect-timeout", "1")
    assert result.returncode == 2
    assert "is `isru flight` running" in result.stderr


def test_watch_prints_live_values_and_refuses_unknown_channels(stack: SimStack) -> None:
    result = isru_ground(stack, "watch", "drill.rpm", "power.soc", "--duration", "1.5")
    assert result.returncode == 0, result.stderr
    names = {line.split()[1] for line in result.stdout.splitlines()}
    assert names == {"drill.rpm", "power.soc"}
    unknown = isru_ground(stack, "watch", "drill.no_such_channel", "--duration", "0.1")
    assert unknown.returncode == 3 and "drill.no_such_channel" in unknown.stderr


def test_events_follow_commands(stack: SimStack) -> None:
    watcher = subprocess.Popen(
        [sys.executable, "-m", "isru.cli", "ground", "events", "--config", str(stack.config_path), "--duration", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "connected to" in watcher.stderr.readline()
        failed = stack.procedures.send("drill.spin", rpm=50.0).wait_failed(timeout_s=20)
        # Lines until the refusal shows up; the watcher exits by itself after --duration, so this ends.
        lines = iter(watcher.stdout.readline, "")
        shown = next((line for line in lines if failed["id"] in line and "command_failed" in line), "")
    finally:
        watcher.kill()
        watcher.communicate(timeout=10)
    assert failed["reason"] == "interlock:drill_unanchored" and "interlock:drill_unanchored" in shown


def test_export_writes_the_archived_channel_to_csv(stack: SimStack, tmp_path) -> None:
    stack.procedures.await_telemetry("power.soc", timeout_s=20)
    stack.core.flush()
    target = tmp_path / "soc.csv"
    result = isru_ground(
        stack,
        "export",
        "--archive",
        str(stack.archive_path),
        "--channel",
        "power.soc",
        "--from",
        "0",
        "--to",
        "4102444800",
        "--csv",
        str(target),
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(target.open()))
    assert len(rows) > 2
    assert any("power.soc" in cell for cell in rows[0] + rows[1])


def test_export_refuses_a_bad_time_and_a_missing_archive(stack: SimStack, tmp_path) -> None:
    bad = isru_ground(
        stack,
        "export",
        "--archive",
        str(stack.archive_path),
        "--channel",
        "x",
        "--from",
        "yesterday",
        "--to",
        "0",
        "--csv",
        str(tmp_path / "x.csv"),
    )
    assert bad.returncode == 2 and "--from 'yesterday'" in bad.stderr
    missing = isru_ground(
        stack,
        "export",
        "--archive",
        str(tmp_path / "none.sqlite"),
        "--channel",
        "x",
        "--from",
        "0",
        "--to",
        "1",
        "--csv",
        str(tmp_path / "x.csv"),
    )
    assert missing.returncode == 2 and "no archive file" in missing.stderr


# -------------------------------------------------------------------------------- pytest plugin
def test_the_pytest_plugin_gives_users_a_whole_stack(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.isru_stack(warp=2.0)
        def test_mine(isru, isru_stack):
            isru.send("drill.self_test").wait_completed(timeout_s=20)
            assert isru.send("drill.spin", rpm=10.0).wait_failed(timeout_s=20)["reason"].startswith("interlock:")
            assert isru_stack.core.role == "archive"  # the stack's core is the archiving station
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=1)


def test_dictionary_json_prints_every_channel_with_unit_and_description(stack: SimStack) -> None:
    import json

    result = isru_ground(stack, "dictionary", "--json")
    assert result.returncode == 0, result.stderr
    dictionary = json.loads(result.stdout)
    channels = {entry["name"]: entry for entry in dictionary["telemetry"]}
    assert channels["power.soc"]["unit"] == "1" and channels["power.soc"]["alarm_high"] == 1.0
    assert [name for name, entry in channels.items() if not (entry["unit"] and entry["description"])] == []
    assert {c["name"] for c in dictionary["commands"]} >= {"mission.start", "estop"}
    text = isru_ground(stack, "dictionary")
    assert text.returncode == 0 and "power.soc  [1] float  warn [0.4, -] alarm [0.2, 1] 1" in text.stdout


def test_a_stack_stops_flight_even_when_closing_ground_is_interrupted(tmp_path) -> None:
    """A second Ctrl-C (or any error) while ground's cores close must not leave flight running, holding the
    link's port: the next ``isru demo`` could not bind it."""
    running = SimStack(tmp_path / "stack", warp=2.0).start()
    flight = running.flight
    assert flight is not None and flight.poll() is None
    core = running.core
    assert core is not None

    def interrupted() -> None:
        raise KeyboardInterrupt

    core.close = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        running.stop()
    assert flight.poll() is not None, "flight outlived the stack"
