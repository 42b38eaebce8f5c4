"""Fault protection: watchpoints, actionpoint expressions and modes, the TOML table, the link failsafe.

Everything runs on a VirtualClock with the real EventLog, TelemetryTable, Dispatcher and Executive.
Responses are recorded by a plain callback, the same interface the flight app gives.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

from base.clock import VirtualClock
from base.config_loader import ConfigError
from flight import fdir_expression as fx
from flight.commands import CommandRegistry
from flight.config_fdir import OPS, default_fdir_path, load_fdir, load_fdir_text
from flight.dispatcher import Dispatcher, Stage
from flight.events import EventLog, Severity
from flight.executive import Executive
from flight.failsafe import LinkFailsafe
from flight.fdir import Actionpoint, FaultProtection, Watchpoint, WatchState
from flight.telemetry import TelemetryTable
from hal.icd import DEVICES, TELEMETRY_HEADER


class Responses:
    """Records what fault protection asked for, like the app's responder does before acting."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, response: str, reason: str) -> None:
        self.calls.append((response, reason))


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def events(clock: VirtualClock) -> EventLog:
    return EventLog(clock)


@pytest.fixture
def table() -> TelemetryTable:
    return TelemetryTable()


@pytest.fixture
def responses() -> Responses:
    return Responses()


def named(events: EventLog, name: str) -> list:
    return [e for e in events.recent if e.name == name]


def build(text: str, table: TelemetryTable, events: EventLog, clock: VirtualClock, responder) -> FaultProtection:
    return FaultProtection.from_config(load_fdir_text(text), table, events, clock, responder)


def step(fp: FaultProtection, table: TelemetryTable, clock: VirtualClock, values: dict, dt: float = 0.1) -> None:
    """One cycle: advance time, publish fresh telemetry, evaluate."""
    clock.advance(dt)
    table.update(values, clock.now())
    fp.tick(clock.monotonic())


ONE_WATCH = """
[watchpoints.hot]
channel = "extractor.chamber_temp_K"
op = ">"
threshold = 720.0
persistence = 3
stale_s = 1.0

[actionpoints.overtemp]
expression = "hot"
response = "safe"
severity = "critical"
message = "chamber too hot"
"""


# ------------------------------------------------------------------------------------ watchpoints
@pytest.mark.parametrize(
    ("op", "below", "equal", "above"),
    [
        ("<", True, False, False),
        ("<=", True, True, False),
        (">", False, False, True),
        (">=", False, True, True),
        ("==", False, True, False),
        ("!=", True, False, True),
    ],
)
def test_every_comparison_op(op, below, equal, above, table, clock) -> None:
    assert op in OPS
    for value, expected in ((9.5, below), (10, equal), (10.5, above)):
        wp = Watchpoint("w", "dev.x", op, 10.0)
        table.update({"dev.x": value}, clock.now())
        state = wp.evaluate(table, clock.now(), clock.now())
        assert state is (WatchState.TRUE if expected else WatchState.FALSE), (op, value)
        assert wp.evaluations == 1


def test_persistence_counts_consecutive_true_comparisons(table, clock) -> None:
    wp = Watchpoint("w", "dev.x", ">", 5.0, persistence=3)
    since = clock.now()
    states = []
    for value in (6, 7, 4, 6, 6, 6, 6, 1, 6):
        table.update({"dev.x": value}, clock.now())
        states.append(wp.evaluate(table, clock.now(), since).value)
    assert states == ["false", "false", "false", "false", "false", "true", "true", "false", "false"]
    assert wp.evaluations == 9
    assert wp.true_count == 1
    assert wp.consecutive == 1


def test_stale_channel_raises_one_event_per_episode(table, events, clock, responses) -> None:
    fp = build(ONE_WATCH, table, events, clock, responses)
    step(fp, table, clock, {"extractor.chamber_temp_K": 300.0})
    assert fp.watchpoints["hot"].state is WatchState.FALSE
    for _ in range(30):  # 3 s without an update, stale_s = 1 s
        clock.advance(0.1)
        fp.tick()
    assert fp.watchpoints["hot"].state is WatchState.STALE
    assert fp.watchpoints["hot"].truth is None
    stale = named(events, "watchpoint_stale")
    assert len(stale) == 1
    assert "extractor.chamber_temp_K" in stale[0].message and "limit 1 s" in stale[0].message
    step(fp, table, clock, {"extractor.chamber_temp_K": 300.0})
    assert fp.watchpoints["hot"].state is WatchState.FALSE
    assert len(named(events, "watchpoint_recovered")) == 1
    for _ in range(15):
        clock.advance(0.1)
        fp.tick()
    assert len(named(events, "watchpoint_stale")) == 2
    assert fp.watchpoints["hot"].stale_count == 2
    assert fp.telemetry()["fdir.hot.stale_count"] == 2


def test_watchpoints_of_a_device_the_rover_lacks_are_not_evaluated_and_never_stale(
    table, events, clock, responses
) -> None:
    fp = FaultProtection.from_config(load_fdir(default_fdir_path()), table, events, clock, responses)
    skipped = fp.absent_devices({"drive"})  # an asteroid hopper has no wheels
    wheel = {n for n, wp in fp.watchpoints.items() if wp.channel.startswith("drive.")}
    assert wheel and set(skipped) == wheel
    [note] = named(events, "watchpoints_not_applicable")
    assert note.severity is Severity.INFO and all(name in note.message for name in wheel)
    for _ in range(50):  # 5 s: every watchpoint's channel is older than its limit
        clock.advance(0.1)
        fp.tick()
    stale = {e.data["watchpoint"] for e in named(events, "watchpoint_stale")}
    assert stale and not stale & wheel  # the others, never seen, go stale as before
    assert all(fp.watchpoints[name].state is WatchState.UNKNOWN for name in wheel)
    assert fp.telemetry()[f"fdir.{sorted(wheel)[0]}.state"] == "unknown"


def test_stale_exactly_after_stale_s(table, clock) -> None:
    wp = Watchpoint("w", "dev.x", ">", 5.0, stale_s=1.0)
    table.update({"dev.x": 1.0}, clock.now())
    clock.advance(1.0)
    assert wp.evaluate(table, clock.now(), 0.0) is WatchState.FALSE  # age == stale_s is still fresh
    clock.advance(0.001)
    assert wp.evaluate(table, clock.now(), 0.0) is WatchState.STALE


def test_a_stream_slowed_on_purpose_is_not_stale_but_two_missed_samples_are(table, events, clock, responses) -> None:
    fp = build(ONE_WATCH, table, events, clock, responses)
    fp.stream_period("extractor", 1.0)  # the quiet rates: one sample a second against stale_s = 1 s
    for _ in range(5):  # a sample every 1.5 s: late, but within two periods
        step(fp, table, clock, {"extractor.chamber_temp_K": 300.0}, dt=1.5)
    assert fp.watchpoints["hot"].state is WatchState.FALSE
    assert not named(events, "watchpoint_stale")
    clock.advance(2.1)
    fp.tick()
    assert fp.watchpoints["hot"].state is WatchState.STALE
    assert "limit 2 s" in named(events, "watchpoint_stale")[0].message
    fp.stream_period("extractor", 0.1)  # back at the fast period: the configured stale_s governs again
    step(fp, table, clock, {"extractor.chamber_temp_K": 300.0})
    clock.advance(1.05)
    fp.tick()
    assert fp.stale_limit(fp.watchpoints["hot"]) == 1.0
    assert fp.watchpoints["hot"].state is WatchState.STALE


def test_never_seen_channel_is_unknown_then_stale(table, events, clock, responses) -> None:
    fp = build(ONE_WATCH, table, events, clock, responses)
    fp.tick()
    assert fp.watchpoints["hot"].state is WatchState.UNKNOWN
    clock.advance(0.9)
    fp.tick()
    assert fp.watchpoints["hot"].state is WatchState.UNKNOWN
    assert not named(events, "watchpoint_stale")
    clock.advance(0.2)
    fp.tick()
    assert fp.watchpoints["hot"].state is WatchState.STALE
    assert "never updated" in named(events, "watchpoint_stale")[0].message


def test_stale_sample_breaks_persistence(table, events, clock, responses) -> None:
    fp = build(ONE_WATCH, table, events, clock, responses)
    step(fp, table, clock, {"extractor.chamber_temp_K": 800.0})
    step(fp, table, clock, {"extractor.chamber_temp_K": 800.0})
    assert fp.watchpoints["hot"].consecutive == 2
    clock.advance(1.5)
    fp.tick()
    assert fp.watchpoints["hot"].consecutive == 0
    step(fp, table, clock, {"extractor.chamber_temp_K": 800.0})
    step(fp, table, clock, {"extractor.chamber_temp_K": 800.0})
    assert fp.watchpoints["hot"].state is WatchState.FALSE
    assert responses.calls == []
    step(fp, table, clock, {"extractor.chamber_temp_K": 800.0})
    assert fp.watchpoints["hot"].state is WatchState.TRUE
    assert [c[0] for c in responses.calls] == ["safe"]


def test_non_numeric_value_is_an_error_not_a_crash(table, events, clock, responses) -> None:
    fp = build(ONE_WATCH, table, events, clock, responses)
    for _ in range(3):
        step(fp, table, clock, {"extractor.chamber_temp_K": "n/a"})
    assert fp.watchpoints["hot"].state is WatchState.ERROR
    assert len(named(events, "watchpoint_error")) == 1
    step(fp, table, clock, {"extractor.chamber_temp_K": float("nan")})
    assert fp.watchpoints["hot"].state is WatchState.ERROR
    step(fp, table, clock, {"extractor.chamber_temp_K": 100.0})
    assert fp.watchpoints["hot"].state is WatchState.FALSE


def test_watchpoint_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="op must be one of"):
        Watchpoint("w", "dev.x", "=>", 1.0)
    with pytest.raises(ValueError, match="persistence must be >= 1"):
        Watchpoint("w", "dev.x", ">", 1.0, persistence=0)
    with pytest.raises(ValueError, match="stale_s must be > 0"):
        Watchpoint("w", "dev.x", ">", 1.0, stale_s=0.0)


# ------------------------------------------------------------------------------------ expressions
def test_expression_precedence_and_parentheses() -> None:
    assert fx.parse("a or b and c") == fx.Or((fx.Name("a"), fx.And((fx.Name("b"), fx.Name("c")))))
    assert fx.parse("(a or b) and c") == fx.And((fx.Or((fx.Name("a"), fx.Name("b"))), fx.Name("c")))
    assert fx.parse("not a and b") == fx.And((fx.Not(fx.Name("a")), fx.Name("b")))
    assert fx.parse("not (a and b)") == fx.Not(fx.And((fx.Name("a"), fx.Name("b"))))
    assert fx.parse("not not a") == fx.Not(fx.Not(fx.Name("a")))
    assert fx.parse("  ((x_1))  ") == fx.Name("x_1")
    assert fx.names(fx.parse("a or (b and not c) or a")) == {"a", "b", "c"}


EXPRESSIONS = {
    "a and b": lambda a, b, c: a and b,
    "a or b": lambda a, b, c: a or b,
    "not a": lambda a, b, c: not a,
    "a or b and c": lambda a, b, c: a or (b and c),
    "(a or b) and c": lambda a, b, c: (a or b) and c,
    "not a and b or c": lambda a, b, c: ((not a) and b) or c,
    "not (a and b) or not c": lambda a, b, c: (not (a and b)) or (not c),
    "a and (b or not (c or a))": lambda a, b, c: a and (b or not (c or a)),
}


@pytest.mark.parametrize("text", sorted(EXPRESSIONS))
def test_expression_truth_tables(text) -> None:
    tree = fx.parse(text)
    for a, b, c in itertools.product((False, True), repeat=3):
        assert fx.evaluate(tree, {"a": a, "b": b, "c": c}) is EXPRESSIONS[text](a, b, c), (text, a, b, c)


def test_unknown_follows_three_valued_logic() -> None:
    unknown = None
    assert fx.evaluate(fx.parse("a or b"), {"a": True, "b": unknown}) is True
    assert fx.evaluate(fx.parse("a or b"), {"a": False, "b": unknown}) is None
    assert fx.evaluate(fx.parse("a and b"), {"a": False, "b": unknown}) is False
    assert fx.evaluate(fx.parse("a and b"), {"a": True, "b": unknown}) is None
    assert fx.evaluate(fx.parse("not b"), {"b": unknown}) is None


@pytest.mark.parametrize(
    ("text", "found", "position"),
    [
        ("", "the end of the expression", 0),
        ("a and", "the end of the expression", 5),
        ("(a or b", "the end of the expression", 7),
        ("a b", "'b'", 2),
        ("a & b", "'&'", 2),
        ("a or )", "')'", 5),
        ("drill.torque", "'.'", 5),
        ("and", "'and'", 0),
    ],
)
def test_malformed_expressions_are_rejected(text, found, position) -> None:
    with pytest.raises(fx.ExpressionError) as info:
        fx.parse(text)
    assert info.value.found == found
    assert info.value.position == position


def test_nesting_is_bounded() -> None:
    with pytest.raises(fx.ExpressionError, match="levels of nesting"):
        fx.parse("(" * 200 + "a" + ")" * 200)
    with pytest.raises(fx.ExpressionError, match="levels of nesting"):
        fx.parse("not " * 200 + "a")
    assert fx.parse("(" * 20 + "a" + ")" * 20) == fx.Name("a")


_TOKENS = ("a", "b", "and", "or", "not", "(", ")")
_PYTHON_BOOLEAN = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.Name, ast.Load)


def test_parser_agrees_with_python_on_every_short_token_sequence() -> None:
    """Every sequence of up to 6 tokens: the parser accepts exactly the pure boolean expressions Python
    accepts, with the same meaning (Python's grammar is the oracle; flight code never evaluates with it)."""
    checked = accepted = 0
    for length in range(7):
        for tokens in itertools.product(_TOKENS, repeat=length):
            text = " ".join(tokens)
            try:
                python_tree = ast.parse(text, mode="eval")
            except SyntaxError:
                python_tree = None
            pure = python_tree is not None and all(isinstance(n, _PYTHON_BOOLEAN) for n in ast.walk(python_tree))
            try:
                tree = fx.parse(text)
            except fx.ExpressionError as exc:
                assert not pure, text
                assert 0 <= exc.position <= len(text)
                checked += 1
                continue
            assert pure, text
            code = compile(python_tree, "<oracle>", "eval")
            for a, b in itertools.product((False, True), repeat=2):
                expected = bool(eval(code, {"__builtins__": {}}, {"a": a, "b": b}))
                assert fx.evaluate(tree, {"a": a, "b": b}) is expected, (text, a, b)
            checked += 1
            accepted += 1
    assert checked == sum(len(_TOKENS) ** n for n in range(7))
    assert accepted > 100  # not vacuous: hundreds of valid expressions among them


# ----------------------------------------------------------------------------- actionpoint modes
MODES_TEXT = ONE_WATCH.replace("persistence = 3", "persistence = 1")


def test_active_fires_once_and_rearms_when_false(table, events, clock, responses) -> None:
    fp = build(MODES_TEXT, table, events, clock, responses)
    for _ in range(5):
        step(fp, table, clock, {"extractor.chamber_temp_K": 800.0})
    assert len(responses.calls) == 1
    response, reason = responses.calls[0]
    assert response == "safe"
    assert "overtemp" in reason and "chamber too hot" in reason
    fired = named(events, "actionpoint_fired")
    assert len(fired) == 1 and fired[0].severity is Severity.CRITICAL
    assert fp.actionpoints["overtemp"].state == "fired"
    step(fp, table, clock, {"extractor.chamber_temp_K": 500.0})
    assert fp.actionpoints["overtemp"].state == "armed"
    step(fp, table, clock, {"extractor.chamber_temp_K": 800.0})
    assert len(responses.calls) == 2
    assert fp.actionpoints["overtemp"].fires == 2


def test_passive_reports_what_it_would_have_done(table, events, clock, responses) -> None:
    fp = build(
        MODES_TEXT.replace('response = "safe"', 'response = "safe"\nmode = "passive"'), table, events, clock, responses
    )
    for _ in range(3):
        step(fp, table, clock, {"extractor.chamber_temp_K": 800.0})
    assert responses.calls == []
    passive = named(events, "actionpoint_passive")
    assert len(passive) == 1
    assert "would have safe" in passive[0].message
    assert fp.telemetry()["fdir.overtemp.passive_fires"] == 1
    assert fp.telemetry()["fdir.overtemp.fires"] == 0


def test_disabled_is_not_evaluated(table, events, clock, responses) -> None:
    fp = build(
        MODES_TEXT.replace('response = "safe"', 'response = "safe"\nmode = "disabled"'), table, events, clock, responses
    )
    for _ in range(3):
        step(fp, table, clock, {"extractor.chamber_temp_K": 800.0})
    assert responses.calls == []
    assert not named(events, "actionpoint_fired") and not named(events, "actionpoint_passive")
    telemetry = fp.telemetry()
    assert telemetry["fdir.overtemp.state"] == "disabled"
    assert telemetry["fdir.overtemp.result"] == "unknown"
    assert telemetry["fdir.hot.state"] == "true"  # the watchpoint is still evaluated


def test_event_response_does_not_call_the_responder(table, events, clock, responses) -> None:
    fp = build(MODES_TEXT.replace('response = "safe"', 'response = "event"'), table, events, clock, responses)
    step(fp, table, clock, {"extractor.chamber_temp_K": 800.0})
    assert responses.calls == []
    assert len(named(events, "actionpoint_fired")) == 1


def test_sequence_response_is_handed_to_the_responder(table, events, clock, responses) -> None:
    fp = build(
        MODES_TEXT.replace('response = "safe"', 'response = "sequence:cool_down"'), table, events, clock, responses
    )
    step(fp, table, clock, {"extractor.chamber_temp_K": 800.0})
    assert [c[0] for c in responses.calls] == ["sequence:cool_down"]


def test_a_failing_responder_is_reported_and_checking_goes_on(table, events, clock) -> None:
    def broken(response: str, reason: str) -> None:
        raise RuntimeError("mission busy")

    fp = build(MODES_TEXT, table, events, clock, broken)
    step(fp, table, clock, {"extractor.chamber_temp_K": 800.0})
    failed = named(events, "response_failed")
    assert len(failed) == 1 and "mission busy" in failed[0].message
    step(fp, table, clock, {"extractor.chamber_temp_K": 500.0})
    assert fp.actionpoints["overtemp"].state == "armed"


COMBINED = """
[watchpoints.slip]
channel = "anchor.slip_mask"
op = "!="
threshold = 0
[watchpoints.deep]
channel = "drill.depth_m"
op = ">"
threshold = 0.02
[watchpoints.torque]
channel = "drill.torque_Nm"
op = ">"
threshold = 45.0
[actionpoints.slip_while_drilling]
expression = "slip and (deep or torque) and not manual"
response = "retract"
[watchpoints.manual]
channel = "ops.manual"
op = "=="
threshold = 1
"""


def test_combined_expression_against_live_telemetry(table, events, clock, responses) -> None:
    fp = build(COMBINED, table, events, clock, responses)
    base = {"anchor.slip_mask": 0, "drill.depth_m": 0.5, "drill.torque_Nm": 10.0, "ops.manual": 0}
    step(fp, table, clock, base)
    assert responses.calls == []
    step(fp, table, clock, {**base, "ops.manual": 1, "anchor.slip_mask": 2})
    assert responses.calls == []
    step(fp, table, clock, {**base, "anchor.slip_mask": 2, "drill.depth_m": 0.0})
    assert responses.calls == []
    step(fp, table, clock, {**base, "anchor.slip_mask": 2, "drill.depth_m": 0.0, "drill.torque_Nm": 50.0})
    assert [c[0] for c in responses.calls] == ["retract"]


def test_unknown_result_neither_fires_nor_rearms(table, events, clock, responses) -> None:
    text = COMBINED.replace("threshold = 0.02", "threshold = 0.02\nstale_s = 0.5")
    fp = build(text, table, events, clock, responses)
    base = {"anchor.slip_mask": 2, "drill.depth_m": 0.5, "drill.torque_Nm": 10.0, "ops.manual": 0}
    step(fp, table, clock, base)
    assert len(responses.calls) == 1
    # depth goes stale: "slip and (deep or torque)" is unknown, so the actionpoint stays fired
    for _ in range(10):
        step(fp, table, clock, {k: v for k, v in base.items() if k != "drill.depth_m"})
    assert fp.actionpoints["slip_while_drilling"].result is None
    assert fp.actionpoints["slip_while_drilling"].state == "fired"
    # a decisive true operand makes it known again: still true, still fired only once
    step(fp, table, clock, {**base, "drill.torque_Nm": 60.0})
    assert fp.actionpoints["slip_while_drilling"].result is True
    assert len(responses.calls) == 1


# --------------------------------------------------------------------------------------- commands
def registered(fp: FaultProtection, clock: VirtualClock, events: EventLog) -> Dispatcher:
    registry = CommandRegistry()
    registry.register(fp)
    return Dispatcher(registry, clock, events)


def test_reset_command_rearms_and_it_fires_again(table, events, clock, responses) -> None:
    fp = build(MODES_TEXT, table, events, clock, responses)
    dispatcher = registered(fp, clock, events)
    step(fp, table, clock, {"extractor.chamber_temp_K": 800.0})
    step(fp, table, clock, {"extractor.chamber_temp_K": 800.0})
    assert len(responses.calls) == 1
    status = dispatcher.submit("fdir.reset", {"actionpoint": "overtemp"}, source="operator")
    assert status.stage is Stage.COMPLETED
    assert fp.actionpoints["overtemp"].state == "armed"
    step(fp, table, clock, {"extractor.chamber_temp_K": 800.0})
    assert len(responses.calls) == 2


def test_set_mode_command(table, events, clock, responses) -> None:
    fp = build(
        MODES_TEXT.replace('response = "safe"', 'response = "safe"\nmode = "passive"'), table, events, clock, responses
    )
    dispatcher = registered(fp, clock, events)
    step(fp, table, clock, {"extractor.chamber_temp_K": 800.0})
    assert responses.calls == []
    status = dispatcher.submit("fdir.set_mode", {"actionpoint": "overtemp", "mode": "active"})
    assert status.stage is Stage.COMPLETED
    assert fp.telemetry()["fdir.overtemp.mode"] == "active"
    step(fp, table, clock, {"extractor.chamber_temp_K": 800.0})
    assert [c[0] for c in responses.calls] == ["safe"]  # re-armed by the mode change, still true
    unknown = dispatcher.submit("fdir.set_mode", {"actionpoint": "nope", "mode": "active"})
    assert unknown.stage is Stage.FAILED and unknown.reason == "invalid_argument"
    assert "'nope'" in unknown.message and "overtemp" in unknown.message
    bad_mode = dispatcher.submit("fdir.set_mode", {"actionpoint": "overtemp", "mode": "loud"})
    assert bad_mode.stage is Stage.FAILED and bad_mode.reason == "out_of_range"
    disabled = dispatcher.submit("fdir.set_mode", {"actionpoint": "overtemp", "mode": "disabled"})
    assert disabled.stage is Stage.COMPLETED
    assert fp.telemetry()["fdir.overtemp.state"] == "disabled"


def test_telemetry_and_channel_dictionary_agree(table, events, clock, responses) -> None:
    fp = FaultProtection.from_config(load_fdir(), table, events, clock, responses)
    fp.tick()
    telemetry = fp.telemetry()
    assert {c.name for c in fp.channels()} == set(telemetry)
    assert telemetry["fdir.chamber_hot.state"] == "unknown"
    assert telemetry["fdir.chamber_overtemp.state"] == "armed"
    assert telemetry["fdir.load_high_hold.mode"] == "passive"


def test_fault_protection_in_the_executive(clock, events, table, responses) -> None:
    """A chamber heating at 20 K/s crosses 720 K; with persistence 3 at 10 Hz the third sample above fires."""
    fp = build(ONE_WATCH, table, events, clock, responses)
    executive = Executive(clock, events, {"control": 0.1})

    def chamber(now: float) -> None:
        table.update({"extractor.chamber_temp_K": 705.0 + 20.0 * now}, clock.now())

    executive.add_task("control", "chamber", chamber)
    executive.add_task("control", "fdir", fp.tick)
    executive.run(until=lambda: bool(responses.calls) or clock.monotonic() > 5.0)
    # 720 K is crossed at t = 0.75 s: samples above it at 0.8, 0.9 and 1.0 s; the third one fires
    assert clock.monotonic() == pytest.approx(1.0, abs=1e-9)
    assert [c[0] for c in responses.calls] == ["safe"]


# ----------------------------------------------------------------------------------------- config
def test_default_table_loads_and_watches_icd_channels() -> None:
    config = load_fdir()
    assert config.link.policy in ("continue", "hold", "safe")
    for name, wp in config.watchpoints.items():
        device, _, field = wp.channel.partition(".")
        assert device in DEVICES, (name, wp.channel)
        fields = {f.name for f in TELEMETRY_HEADER + DEVICES[device].telemetry}
        assert field in fields, (name, wp.channel)
    responses = {ap.response for ap in config.actionpoints.values()}
    assert {"safe", "retract", "hold", "event"} <= responses
    assert {ap.mode for ap in config.actionpoints.values()} >= {"active", "passive"}
    assert default_fdir_path().name == "fdir.toml"


def _config_error(text: str, tmp_path: Path, **kwargs) -> ConfigError:
    path = tmp_path / "fdir.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_fdir(path, **kwargs)
    assert str(path) in str(info.value)
    return info.value


def test_unknown_watchpoint_in_expression_names_actionpoint_and_name(tmp_path) -> None:
    error = _config_error(ONE_WATCH.replace('expression = "hot"', 'expression = "hot or cold"'), tmp_path)
    assert error.key == "actionpoints.overtemp.expression"
    assert "'cold'" in error.found and "'overtemp'" in error.found
    assert "hot" in error.expected


@pytest.mark.parametrize(
    ("old", "new", "key", "fragment"),
    [
        ('op = ">"', 'op = "=>"', "watchpoints.hot.op", "'<', '<=', '>', '>=', '==', '!='"),
        ("threshold = 720.0", 'threshold = "hot"', "watchpoints.hot.threshold", "a number"),
        ("threshold = 720.0\n", "", "watchpoints.hot.threshold", "required"),
        ("persistence = 3", "persistence = 0", "watchpoints.hot.persistence", "1..1000000"),
        ('response = "safe"', 'response = "explode"', "actionpoints.overtemp.response", "sequence:<name>"),
        ('response = "safe"', 'response = "sequence:a:b"', "actionpoints.overtemp.response", "sequence:<name>"),
        ('severity = "critical"', 'severity = "bad"', "actionpoints.overtemp.severity", "critical"),
        ('expression = "hot"', 'expression = "hot and"', "actionpoints.overtemp.expression", "end of the"),
        ('expression = "hot"', 'expression = "(hot"', "actionpoints.overtemp.expression", "')'"),
        ("stale_s = 1.0", "stale_s = 1.0\nlimit = 3", "watchpoints.hot.limit", "unknown key"),
        ("[actionpoints.overtemp]", "[actionpoints.hot]", "actionpoints.hot", "same name"),
        ("[watchpoints.hot]", "[watchpoints.and]", "watchpoints.and", "not and/or/not"),
    ],
)
def test_bad_tables_name_file_key_expected_found(tmp_path, old, new, key, fragment) -> None:
    assert old in ONE_WATCH
    error = _config_error(ONE_WATCH.replace(old, new), tmp_path)
    assert error.key == key
    assert fragment in str(error)


def test_sequence_response_checked_against_known_sequences(tmp_path) -> None:
    text = ONE_WATCH.replace('response = "safe"', 'response = "sequence:cool_down"')
    error = _config_error(text, tmp_path, sequence_names={"warm_chamber"})
    assert error.key == "actionpoints.overtemp.response"
    assert "'cool_down'" in error.found and "warm_chamber" in error.expected
    path = tmp_path / "fdir.toml"
    assert load_fdir(path, sequence_names={"cool_down"}).actionpoints["overtemp"].response == "sequence:cool_down"


def test_construction_in_code_checks_names(table, events, clock, responses) -> None:
    hot = Watchpoint("hot", "dev.t", ">", 1.0)
    with pytest.raises(ValueError, match="unknown watchpoint 'cold'"):
        FaultProtection([hot], [Actionpoint("ap", "hot or cold", "safe")], table, events, clock, responses)
    with pytest.raises(ValueError, match="actionpoint ap: expression"):
        Actionpoint("ap", "hot or", "safe")
    with pytest.raises(ValueError, match="response must be one of"):
        Actionpoint("ap", "hot", "reboot")


# ------------------------------------------------------------------------------- link failsafe
@pytest.mark.parametrize("policy", ["hold", "safe"])
def test_failsafe_acts_on_loss_and_clears_on_restore(policy, events, responses) -> None:
    failsafe = LinkFailsafe(policy, responses, events)
    assert failsafe.link_lost("no heartbeat for 5 s")
    assert responses.calls == [(policy, "link lost: no heartbeat for 5 s")]  # applied within the call
    assert failsafe.telemetry()["failsafe.active"] is True
    assert not failsafe.link_lost("still nothing")
    assert len(responses.calls) == 1
    assert failsafe.link_restored()
    cleared = named(events, "failsafe_cleared")
    assert len(cleared) == 1 and "failsafe cleared" in cleared[0].message
    assert not failsafe.link_restored()
    failsafe.link_lost("again")
    assert len(responses.calls) == 2
    assert failsafe.telemetry()["failsafe.losses"] == 2


def test_failsafe_continue_only_reports(events, responses) -> None:
    failsafe = LinkFailsafe("continue", responses, events)
    failsafe.link_lost("no heartbeat")
    assert responses.calls == []
    lost = named(events, "link_lost")
    assert len(lost) == 1 and "continue" in lost[0].message
    failsafe.link_restored()
    assert len(named(events, "failsafe_cleared")) == 1


def test_failsafe_policy_checked_and_settable(events, responses, clock) -> None:
    with pytest.raises(ValueError, match="'continue', 'hold', 'safe'"):
        LinkFailsafe("panic", responses, events)
    failsafe = LinkFailsafe("continue", responses, events)
    registry = CommandRegistry()
    registry.register(failsafe)
    dispatcher = Dispatcher(registry, clock, events)
    assert dispatcher.submit("failsafe.set_policy", {"policy": "safe"}).stage is Stage.COMPLETED
    assert dispatcher.submit("failsafe.set_policy", {"policy": "panic"}).reason == "out_of_range"
    failsafe.link_lost("heartbeat")
    assert [c[0] for c in responses.calls] == ["safe"]


def test_failsafe_survives_a_failing_responder(events) -> None:
    def broken(response: str, reason: str) -> None:
        raise RuntimeError("no mission")

    failsafe = LinkFailsafe("safe", broken, events)
    assert failsafe.link_lost("heartbeat")
    assert "no mission" in named(events, "response_failed")[0].message
    assert failsafe.active
