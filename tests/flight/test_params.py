"""Flight parameters: typed validation, commands, listeners, atomic saves on real files, reload, bad saves."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from base.clock import VirtualClock
from flight.commands import CommandRegistry
from flight.dispatcher import Dispatcher, Stage
from flight.errors import ParameterError, PersistenceError
from flight.events import EventLog
from flight.params import ParameterStore, ParamSpec

REPO_ROOT = Path(__file__).resolve().parents[2]

SPECS = (
    ParamSpec("yield_rate_min", "float", "kg/h", 0.0, 10.0, 0.05, "below this water yield rate a site is abandoned"),
    ParamSpec("drill_passes", "int", "", 1, 20, 3, "drill passes per site"),
    ParamSpec("auto_retract", "bool", "", None, None, True, "retract the drill on a stall"),
    ParamSpec("site_label", "str", "", None, None, "alpha", "label written into products"),
    ParamSpec("chamber.setpoint_K", "float", "K", 250.0, 700.0, 400.0, "extraction temperature"),
)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def events(clock: VirtualClock) -> EventLog:
    return EventLog(clock)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "params.json"


def named(events: EventLog, name: str) -> list:
    return [e for e in events.recent if e.name == name]


# ---------------------------------------------------------------------------------- validation
def test_defaults_and_typed_get(path, events) -> None:
    store = ParameterStore(SPECS, path, events)
    assert store.get("yield_rate_min") == 0.05
    assert store.get("drill_passes") == 3
    assert store.get("auto_retract") is True
    assert store.get("site_label") == "alpha"
    assert len(named(events, "params_defaults")) == 1
    with pytest.raises(ParameterError, match="no parameter 'nope'; expected one of"):
        store.get("nope")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("yield_rate_min", "0.3", 0.3),
        ("yield_rate_min", 2, 2.0),
        ("yield_rate_min", " 1e-1 ", 0.1),
        ("drill_passes", "7", 7),
        ("drill_passes", 5.0, 5),
        ("drill_passes", "4.0", 4),
        ("auto_retract", "off", False),
        ("auto_retract", "TRUE", True),
        ("auto_retract", 0, False),
        ("auto_retract", False, False),
        ("site_label", "beta 2", "beta 2"),
        ("chamber.setpoint_K", "650", 650.0),
    ],
)
def test_set_converts_by_type(path, events, name, value, expected) -> None:
    store = ParameterStore(SPECS, path, events)
    assert store.set(name, value) == expected
    assert store.get(name) == expected
    assert type(store.get(name)) is type(expected)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("yield_rate_min", 11.0, "a number in 0..10 kg/h"),
        ("yield_rate_min", -0.1, "a number in 0..10 kg/h"),
        ("yield_rate_min", "fast", "a number in 0..10 kg/h"),
        ("yield_rate_min", "nan", "a number in 0..10 kg/h"),
        ("yield_rate_min", True, "a number in 0..10 kg/h"),
        ("drill_passes", 2.5, "an integer in 1..20"),
        ("drill_passes", "0", "an integer in 1..20"),
        ("drill_passes", [3], "an integer in 1..20"),
        ("auto_retract", "maybe", "true or false"),
        ("auto_retract", 2, "true or false"),
        ("site_label", 4, "a string"),
        ("chamber.setpoint_K", 900, "a number in 250..700 K"),
    ],
)
def test_invalid_values_name_parameter_expectation_and_value(path, events, name, value, expected) -> None:
    store = ParameterStore(SPECS, path, events)
    before = store.get(name)
    with pytest.raises(ParameterError) as info:
        store.set(name, value)
    message = str(info.value)
    assert message.startswith(f"parameter {name}: expected {expected}, found")
    assert repr(value) in message
    assert store.get(name) == before
    assert not store.dirty


def test_spec_declarations_are_checked() -> None:
    with pytest.raises(ParameterError, match=r"expected a number in 0\.\.1, found float 2\.0"):
        ParamSpec("gain", "float", "", 0.0, 1.0, 2.0)
    with pytest.raises(ParameterError, match="type must be one of"):
        ParamSpec("gain", "double", "", None, None, 1.0)
    with pytest.raises(ParameterError, match="lo 2 is above hi 1"):
        ParamSpec("gain", "float", "", 2.0, 1.0, 1.5)
    with pytest.raises(ParameterError, match="has no range"):
        ParamSpec("flag", "bool", "", 0, 1, True)
    with pytest.raises(ParameterError, match="each starting lower-case"):
        ParamSpec("Bad Name", "int", "", None, None, 1)
    with pytest.raises(ParameterError, match="declared twice"):
        ParameterStore([SPECS[0], SPECS[0]], "unused.json", EventLog(VirtualClock()))


# ----------------------------------------------------------------------------------- listeners
def test_listeners_hear_changes(path, events) -> None:
    store = ParameterStore(SPECS, path, events)
    heard_all: list[tuple[str, object]] = []
    heard_yield: list[object] = []
    store.subscribe(lambda n, v: heard_all.append((n, v)))
    store.subscribe(lambda n, v: heard_yield.append(v), name="yield_rate_min")
    store.set("yield_rate_min", "0.2")
    store.set("drill_passes", 4)
    store.set("drill_passes", 4)  # unchanged: nobody is told
    assert heard_all == [("yield_rate_min", 0.2), ("drill_passes", 4)]
    assert heard_yield == [0.2]
    with pytest.raises(ParameterError, match="no parameter"):
        store.subscribe(lambda n, v: None, name="nope")


def test_a_failing_listener_does_not_undo_the_change(path, events) -> None:
    store = ParameterStore(SPECS, path, events)

    def broken(name: str, value: object) -> None:
        raise RuntimeError("mission not ready")

    store.subscribe(broken)
    store.set("drill_passes", 9)
    assert store.get("drill_passes") == 9
    assert "mission not ready" in named(events, "listener_failed")[0].message


# ------------------------------------------------------------------------------- save and reload
def test_save_writes_atomically_and_reloads(path, events, clock) -> None:
    store = ParameterStore(SPECS, path, events)
    store.set("yield_rate_min", 0.4)
    store.set("site_label", "crater rim")
    store.set("auto_retract", "no")
    assert store.dirty
    store.save()
    assert not store.dirty
    assert sorted(p.name for p in path.parent.iterdir()) == ["params.json"]  # no temporary file left
    document = json.loads(path.read_text())
    assert document["format"] == 1
    assert document["saved_t"] == clock.now()
    assert document["values"]["yield_rate_min"] == 0.4
    heard: list[tuple[str, object]] = []
    reloaded_events = EventLog(clock)
    again = ParameterStore(SPECS, path, reloaded_events)
    again.subscribe(lambda n, v: heard.append((n, v)))
    assert again.values() == store.values()
    assert again.get("auto_retract") is False
    assert "5 saved parameter values loaded" in named(reloaded_events, "params_loaded")[0].message
    # load() on an existing store tells the listeners of what changed
    store.set("drill_passes", 11)
    store.save()
    assert again.load() == 5
    assert heard == [("drill_passes", 11)]


def test_concurrent_reader_only_ever_sees_a_whole_file(path, events) -> None:
    """While saves replace the file 60 times, a reader in another thread always parses a complete
    document holding one of the values written (never a torn or empty file)."""
    store = ParameterStore(SPECS, path, events)
    store.save()
    stop = threading.Event()
    seen: list[int] = []
    problems: list[str] = []

    def reader() -> None:
        while not stop.is_set() and len(problems) < 5:
            try:
                seen.append(json.loads(path.read_text())["values"]["drill_passes"])
            except (OSError, ValueError, KeyError) as exc:
                problems.append(repr(exc))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        for i in range(60):
            store.set("drill_passes", 1 + i % 20)
            store.save()
    finally:
        stop.set()
        thread.join(timeout=10)
    assert problems == []
    assert seen and set(seen) <= set(range(1, 21))
    assert sorted(p.name for p in path.parent.iterdir()) == ["params.json"]


def test_failed_save_leaves_old_file_and_no_temporary(tmp_path, events) -> None:
    """A real write failure: the process file-size limit (RLIMIT_FSIZE) makes write() fail with EFBIG."""
    path = tmp_path / "params.json"
    store = ParameterStore(SPECS, path, events)
    store.save()
    old = path.read_bytes()
    script = f"""
import resource, signal, sys
sys.path.insert(0, {str(REPO_ROOT)!r})
from flight.errors import PersistenceError
from flight.events import EventLog
from flight.params import ParameterStore, ParamSpec
from base.clock import VirtualClock
specs = [ParamSpec("site_label", "str", "", None, None, "alpha")]
store = ParameterStore(specs, {str(path)!r}, EventLog(VirtualClock()))
store.set("site_label", "x" * 100_000)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    store.save()
except PersistenceError as exc:
    print("PersistenceError:", exc)
    sys.exit(3)
sys.exit(0)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    assert f"cannot save parameters to {path}" in result.stdout
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.json"]


def test_save_to_an_impossible_path_is_a_clear_error(tmp_path, events) -> None:
    blocker = tmp_path / "params.json"
    blocker.mkdir()  # a directory where the file should go: os.replace fails
    store = ParameterStore(SPECS, blocker, events)
    assert named(events, "params_unreadable")
    with pytest.raises(PersistenceError, match=f"cannot save parameters to {blocker}"):
        store.save()
    assert [p.name for p in tmp_path.iterdir()] == ["params.json"]
    assert list(blocker.iterdir()) == []


# --------------------------------------------------------------------------------- bad saved data
def write_saved(path: Path, values: dict, fmt: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": fmt, "saved_t": 0.0, "values": values}))


def test_saved_value_that_no_longer_validates_keeps_the_default(path, events) -> None:
    write_saved(path, {"yield_rate_min": 50.0, "drill_passes": 6, "auto_retract": "sometimes", "gone": 1})
    store = ParameterStore(SPECS, path, events)
    assert store.get("yield_rate_min") == 0.05
    assert store.get("drill_passes") == 6
    assert store.get("auto_retract") is True
    invalid = named(events, "saved_invalid")
    assert len(invalid) == 2
    assert "yield_rate_min: expected a number in 0..10 kg/h, found float 50.0" in invalid[0].message
    assert "0.05 kept" in invalid[0].message
    assert "'gone' is not declared" in named(events, "saved_unknown")[0].message


@pytest.mark.parametrize(
    "content",
    ["{not json", "[1, 2]", '{"format": 99, "values": {}}', '{"format": 1, "values": [1]}', "", "\udcff"],
)
def test_corrupt_saved_file_keeps_defaults(path, events, content) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    store = ParameterStore(SPECS, path, events)
    assert store.values() == {s.name: ParameterStore(SPECS, "/nonexistent/p.json", events).get(s.name) for s in SPECS}
    assert named(events, "params_corrupt") or named(events, "params_unreadable")


# -------------------------------------------------------------------------------------- commands
def test_commands_through_the_dispatcher(path, events, clock) -> None:
    store = ParameterStore(SPECS, path, events)
    registry = CommandRegistry()
    registry.register(store)
    dispatcher = Dispatcher(registry, clock, events)
    assert dispatcher.submit("param.set", {"name": "yield_rate_min", "value": "0.25"}).stage is Stage.COMPLETED
    assert dispatcher.submit("param.set", {"name": "drill_passes", "value": 8}).stage is Stage.COMPLETED
    assert store.get("yield_rate_min") == 0.25 and store.get("drill_passes") == 8
    bad = dispatcher.submit("param.set", {"name": "drill_passes", "value": "lots"})
    assert bad.stage is Stage.FAILED and bad.reason == "invalid_parameter"
    assert "drill_passes: expected an integer in 1..20, found str 'lots'" in bad.message
    unknown = dispatcher.submit("param.set", {"name": "warp", "value": 1})
    assert unknown.reason == "invalid_parameter" and "no parameter 'warp'" in unknown.message
    not_scalar = dispatcher.submit("param.set", {"name": "drill_passes", "value": [1]})
    assert not_scalar.reason == "invalid_argument" and "string, number or boolean" in not_scalar.message
    assert dispatcher.submit("param.save").stage is Stage.COMPLETED
    assert json.loads(path.read_text())["values"]["drill_passes"] == 8
    names = {entry["name"] for entry in registry.dictionary()}
    assert names == {"param.set", "param.save"}


def test_failed_save_command_reports_the_reason(tmp_path, events, clock) -> None:
    blocker = tmp_path / "p.json"
    blocker.mkdir()
    store = ParameterStore(SPECS, blocker, events)
    registry = CommandRegistry()
    registry.register(store)
    status = Dispatcher(registry, clock, events).submit("param.save")
    assert status.stage is Stage.FAILED and status.reason == "save_failed"
    assert str(blocker) in status.message


def test_dictionary_and_telemetry(path, events) -> None:
    store = ParameterStore(SPECS, path, events)
    store.set("drill_passes", 5)
    entries = {e["name"]: e for e in store.dictionary()}
    assert entries["drill_passes"] == {
        "name": "drill_passes",
        "type": "int",
        "unit": "",
        "default": 3,
        "description": "drill passes per site",
        "min": 1,
        "max": 20,
        "value": 5,
    }
    assert "min" not in entries["auto_retract"]
    assert [e["name"] for e in store.dictionary()] == sorted(entries)
    telemetry = store.telemetry()
    assert telemetry["param.drill_passes"] == 5
    assert telemetry["params.dirty"] is True
    assert {c.name for c in store.channels()} == set(telemetry)
