"""The ground dictionary over the real flight dictionary: the same verdicts as flight's own validation on
every command, messages that name the argument, what was expected and what was found, and key=value parsing."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from flight.app import FlightApp
from flight.errors import CommandRejected
from ground.dictionary import GroundDictionary
from ground.errors import UnknownChannel, UnknownCommand, ValidationError
from sim_hw.registry import uninstall_world
from tests.support.flight_stack import build


@pytest.fixture(scope="module")
def flight() -> Iterator[FlightApp]:
    app, _world, _clock = build()
    app.executive.run(duration_s=0.5)  # the first telemetry tick defines the mission and executive channels
    yield app
    app.close()
    uninstall_world()


@pytest.fixture(scope="module")
def dictionary(flight: FlightApp) -> GroundDictionary:
    return GroundDictionary(flight.dictionary())


def _variants(entry: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Argument sets around every edge of every argument of a command."""
    args = entry["args"]
    good: dict[str, Any] = {}
    for a in args:
        if "choices" in a:
            good[a["name"]] = a["choices"][0]
        elif a["type"] == "float":
            good[a["name"]] = (a.get("min", 0.0) + a.get("max", 1.0)) / 2
        elif a["type"] == "int":
            good[a["name"]] = int(a.get("min", 0))
        elif a["type"] == "bool":
            good[a["name"]] = True
        else:
            good[a["name"]] = "x"
    yield dict(good)
    yield {**good, "bogus": 1}
    for a in args:
        name = a["name"]
        yield {k: v for k, v in good.items() if k != name}
        for bad in (True, "7", None, 3.5, 2, math.nan, math.inf, "zzz"):
            yield {**good, name: bad}
        for edge in ("min", "max"):
            if edge in a:
                step = 1 if a["type"] == "int" else 1e-6
                yield {**good, name: a[edge]}
                yield {**good, name: a[edge] + (step if edge == "max" else -step)}


def test_ground_gives_flights_verdict_on_every_command(flight: FlightApp, dictionary: GroundDictionary) -> None:
    checked = refused = stricter = 0
    for entry in dictionary.commands():
        spec = flight.registry.spec(entry["name"])
        scalars = {a.name for a in spec.args if a.type == "scalar"}
        for args in _variants(entry):
            try:
                expected: Any = spec.validate(args)
            except CommandRejected as exc:
                expected = exc
            try:
                got: Any = dictionary.validate(entry["name"], args)
            except ValidationError as exc:
                got = exc
            checked += 1
            if isinstance(expected, CommandRejected):
                refused += 1
                assert isinstance(got, ValidationError), (entry["name"], args, expected.message)
            elif isinstance(got, ValidationError) and got.argument in scalars:
                # flight's dictionary lists a scalar argument (any of str/number/bool) as "str": ground is stricter
                assert not isinstance(args[got.argument], str)
                stricter += 1
            else:
                assert got == expected, (entry["name"], args)
                assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]
    assert checked > 500 and 0 < refused < checked and stricter <= 10


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("drill.spin", {"rpm": 700.0}, "drill.spin: argument 'rpm': expected float 0..600 rpm, found 700.0 rpm"),
        ("drill.spin", {"rpm": "fast"}, "drill.spin: argument 'rpm': expected float 0..600 rpm, found str 'fast'"),
        ("drill.spin", {"rpm": True}, "drill.spin: argument 'rpm': expected float 0..600 rpm, found bool True"),
        (
            "drill.spin",
            {},
            "drill.spin: argument 'rpm': expected float 0..600 rpm, found nothing (the argument is required)",
        ),
        (
            "drill.spin",
            {"rpm": 1.0, "torque": 2},
            "drill.spin: argument 'torque': expected one of ['rpm'], found an argument flight does not know",
        ),
        ("estop", {"now": 1}, "estop: argument 'now': expected no arguments, found an argument flight does not know"),
        (
            "failsafe.set_policy",
            {"policy": "panic"},
            "failsafe.set_policy: argument 'policy': expected one of ['continue', 'hold', 'safe'], found 'panic'",
        ),
        ("power.bus", {"index": 9, "on": 1}, "power.bus: argument 'index': expected int 0..7, found 9"),
        (
            "drill.spin",
            {"rpm": math.nan},
            "drill.spin: argument 'rpm': expected a finite number (float 0..600 rpm), found nan",
        ),
        ("drill.spin", ["rpm"], "drill.spin: argument 'args': expected a mapping of argument names to values"),
    ],
)
def test_validation_messages_name_argument_expected_and_found(
    dictionary: GroundDictionary, name: str, args: Any, message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        dictionary.validate(name, args)
    assert str(info.value).startswith(message)


def test_defaults_are_filled_and_ints_become_floats(dictionary: GroundDictionary) -> None:
    assert dictionary.validate("mission.start", {}) == {"cycles": 0}
    assert dictionary.validate("drill.spin", {"rpm": 100}) == {"rpm": 100.0}
    assert type(dictionary.validate("drill.spin", {"rpm": 100})["rpm"]) is float


def test_key_value_strings_become_typed_arguments(dictionary: GroundDictionary) -> None:
    assert dictionary.parse_args("drill.spin", ["rpm=1.2e2"]) == {"rpm": 120.0}
    assert dictionary.parse_args("power.bus", ["index=0x3", "on = 1"]) == {"index": 3, "on": 1}
    assert dictionary.parse_args("failsafe.set_policy", ["policy=hold"]) == {"policy": "hold"}
    assert dictionary.parse_args("param.set", ["name=mission.x", "value=a=b"]) == {"name": "mission.x", "value": "a=b"}
    assert dictionary.parse_args("mission.start", []) == {"cycles": 0}


@pytest.mark.parametrize(
    ("name", "tokens", "message"),
    [
        ("drill.spin", ["rpm"], "drill.spin: argument 'rpm': expected key=value with a key among ['rpm'], found 'rpm'"),
        ("drill.spin", ["=5"], "drill.spin: argument '=5': expected key=value"),
        ("drill.spin", ["rpm=fast"], "drill.spin: argument 'rpm': expected float 0..600 rpm, found 'fast'"),
        ("power.bus", ["index=1.5", "on=1"], "power.bus: argument 'index': expected int 0..7, found '1.5'"),
        ("drill.spin", ["speed=3"], "drill.spin: argument 'speed': expected one of ['rpm']"),
        (
            "drill.spin",
            ["rpm=1", "rpm=2"],
            "drill.spin: argument 'rpm': expected one value, found the argument given twice",
        ),
        ("drill.spin", ["rpm=601"], "drill.spin: argument 'rpm': expected float 0..600 rpm, found 601.0 rpm"),
    ],
)
def test_bad_key_value_strings_are_explained(
    dictionary: GroundDictionary, name: str, tokens: list[str], message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        dictionary.parse_args(name, tokens)
    assert str(info.value).startswith(message)


def test_bool_arguments_parse_the_usual_spellings() -> None:
    raw = {
        "commands": [
            {
                "name": "lamp",
                "description": "",
                "hazardous": False,
                "hazard": "",
                "args": [{"name": "on", "type": "bool", "unit": "", "description": ""}],
            }
        ]
    }
    lamp = GroundDictionary(raw)
    for text, value in (("yes", True), ("ON", True), ("1", True), ("false", False), ("off", False)):
        assert lamp.parse_args("lamp", [f"on={text}"]) == {"on": value}
    with pytest.raises(ValidationError, match="expected bool"):
        lamp.parse_args("lamp", ["on=maybe"])
    with pytest.raises(ValidationError, match="expected bool, found int 1"):
        lamp.validate("lamp", {"on": 1})
    with pytest.raises(UnknownCommand, match="no command 'estop' in the flight dictionary"):
        _ = lamp.estop_command


def test_lookups_come_from_the_flight_dictionary(flight: FlightApp, dictionary: GroundDictionary) -> None:
    raw = flight.dictionary()
    assert [c["name"] for c in dictionary.commands()] == sorted(c["name"] for c in raw["commands"])
    assert dictionary.channel_names() == sorted(t["name"] for t in raw["telemetry"])
    assert "mission.state" in dictionary.channel_names()
    assert dictionary.channel("mission.state")["type"] == "str"
    assert "stateDiagram-v2" in dictionary.diagram and dictionary.diagram == raw["diagram"]
    assert len(dictionary.parameters()) == len(raw["parameters"])
    assert dictionary.estop_command == "estop"
    assert dictionary.hazard("estop") is None
    assert dictionary.hazard("drill.spin") == flight.registry.spec("drill.spin").hazard
    assert dictionary.events == ["debug", "info", "warning", "error", "critical"]
    with pytest.raises(UnknownCommand, match=r"no command 'drill\.spinn'.*expected one of: drill\.clear_fault"):
        dictionary.command("drill.spinn")
    with pytest.raises(UnknownChannel, match=r"no channel 'drill\.rpmm'"):
        dictionary.channel("drill.rpmm")
    with pytest.raises(ValidationError, match="expected a dict with commands"):
        GroundDictionary(["not", "a", "dict"])  # type: ignore[arg-type]
