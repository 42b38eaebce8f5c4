"""The flight ↔ ground schema: one definition both sides use. Over the whole dictionary a real flight app
publishes (carried through the wire codec), ground's dictionary accepts exactly the argument maps flight
accepts — with the same converted values — and refuses the others for the same argument and reason."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flight.app import FlightApp
from flight.commands import CommandSpec as FlightCommandSpec
from flight.errors import CommandRejected
from ground.dictionary import GroundDictionary
from ground.errors import ValidationError
from link import wire
from link.errors import ArgumentProblem, InvalidArgument
from link.schema import (
    REQUIRED,
    SEVERITIES,
    STAGES,
    ArgSpec,
    ChannelSpec,
    CommandSpec,
    Severity,
    Stage,
    type_of,
    validate_args,
)
from sim_hw.registry import uninstall_world
from tests.support.flight_stack import build

#: Examples per command (every command of the dictionary is checked).
EXAMPLES_PER_COMMAND = 40
_BIG = 1e9


@pytest.fixture(scope="module")
def flight() -> Iterator[FlightApp]:
    app, _world, _clock = build()
    yield app
    app.close()
    uninstall_world()


@pytest.fixture(scope="module")
def published(flight: FlightApp) -> dict[str, Any]:
    """The dictionary as ground receives it: encoded and decoded by the wire codec."""
    message = wire.decode(wire.encode(wire.DictionaryMessage(flight.dictionary())))
    assert isinstance(message, wire.DictionaryMessage)
    return message.dictionary


# --------------------------------------------------------------------------------------- strategies
def _valid(arg: ArgSpec) -> st.SearchStrategy[Any]:
    """Values ``arg`` accepts."""
    if arg.choices is not None:
        return st.sampled_from(arg.choices)
    if arg.type == "float":
        lo = -_BIG if arg.lo is None else arg.lo
        hi = _BIG if arg.hi is None else arg.hi
        floats = st.floats(lo, hi, allow_nan=False)
        whole = (math.ceil(lo), math.floor(hi))
        return floats | st.integers(*whole) if whole[0] <= whole[1] else floats  # an int is a valid float
    if arg.type == "int":
        lo = -(10**6) if arg.lo is None else math.ceil(arg.lo)
        hi = 10**6 if arg.hi is None else math.floor(arg.hi)
        return st.integers(lo, hi)
    if arg.type == "bool":
        return st.booleans()
    if arg.type == "str":
        return st.text(max_size=12)
    return st.text(max_size=12) | st.integers() | st.floats(allow_nan=False) | st.booleans()  # scalar


def _wrong_type(arg: ArgSpec) -> st.SearchStrategy[Any]:
    """Values of a type ``arg`` refuses (and non-scalars, which no argument takes)."""
    others: dict[str, st.SearchStrategy[Any]] = {
        "float": st.text(max_size=5) | st.booleans(),
        "int": st.floats(allow_nan=False) | st.text(max_size=5) | st.booleans(),
        "bool": st.integers() | st.floats() | st.text(max_size=5),
        "str": st.integers() | st.floats() | st.booleans(),
        "scalar": st.nothing(),
    }
    return others[arg.type] | st.none() | st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(), st.none())


def _not_finite(arg: ArgSpec) -> st.SearchStrategy[Any] | None:
    return st.sampled_from([math.nan, math.inf, -math.inf]) if arg.type == "float" else None


def _out_of_range(arg: ArgSpec) -> st.SearchStrategy[Any] | None:
    """Numbers of ``arg``'s type below or above its range (None without one)."""
    if arg.type not in ("float", "int") or (arg.lo is None and arg.hi is None):
        return None
    step = st.floats(1e-6, _BIG) if arg.type == "float" else st.integers(1, 10**6)
    options: list[st.SearchStrategy[Any]] = []
    if arg.lo is not None:
        lo = arg.lo if arg.type == "float" else math.ceil(arg.lo)
        options.append(step.map(lambda d: lo - d))
    if arg.hi is not None:
        hi = arg.hi if arg.type == "float" else math.floor(arg.hi)
        options.append(step.map(lambda d: hi + d))
    return st.one_of(options)


def _bad_choice(arg: ArgSpec) -> st.SearchStrategy[Any] | None:
    """Values of ``arg``'s type that are not among its choices (None without choices)."""
    if arg.choices is None:
        return None
    choices = arg.choices
    return _valid(ArgSpec(arg.name, arg.type, lo=arg.lo, hi=arg.hi)).filter(lambda v: v not in choices)


_FAULTS = {
    "wrong type": _wrong_type,
    "not finite": _not_finite,
    "out of range": _out_of_range,
    "bad choice": _bad_choice,
}


@st.composite
def _arg_maps(draw: st.DrawFn, specs: tuple[ArgSpec, ...]) -> dict[str, Any]:
    """Argument maps for a command taking ``specs``: every argument valid (optional ones sometimes left out),
    then one way of being wrong or none: a value of the wrong type, not finite, out of range or not among the
    choices, a required argument missing, an unknown argument — or several arguments wrong at once."""
    args = {arg.name: draw(_valid(arg)) for arg in specs if arg.default is REQUIRED or draw(st.booleans())}
    fault = draw(st.sampled_from(["none", "value", "missing", "extra", "several"]))
    if fault == "extra":
        known = {arg.name for arg in specs}
        args[draw(st.text(min_size=1, max_size=8).filter(lambda k: k not in known))] = draw(st.integers())
    elif fault == "several":
        for arg in specs:
            wrong = [f(arg) for f in _FAULTS.values()]
            args[arg.name] = draw(st.one_of([_valid(arg), *(w for w in wrong if w is not None)]))
    elif specs and fault in ("value", "missing"):
        target = draw(st.sampled_from(specs))
        if fault == "missing":
            args.pop(target.name, None)
        else:
            faults = [f(target) for f in _FAULTS.values()]
            args[target.name] = draw(st.sampled_from([f for f in faults if f is not None]).flatmap(lambda f: f))
    return args


# --------------------------------------------------------------------------------------------- tests
def _same_verdict(ground: GroundDictionary, spec: FlightCommandSpec, tally: Counter[str]) -> Callable[[], None]:
    """A property over the argument maps of ``spec``: ground's verdict is flight's."""

    @settings(
        max_examples=EXAMPLES_PER_COMMAND,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
    )
    @given(args=_arg_maps(spec.args))
    def same_verdict(args: dict[str, Any]) -> None:
        try:
            expected: Any = spec.validate(dict(args))
        except CommandRejected as exc:
            expected = exc
        try:
            got: Any = ground.validate(spec.name, dict(args))
        except ValidationError as exc:
            got = exc
        if isinstance(expected, CommandRejected):
            assert isinstance(got, ValidationError), (spec.name, args, expected.message)
            flight_cause, ground_cause = expected.__cause__, got.__cause__
            assert isinstance(flight_cause, InvalidArgument) and isinstance(ground_cause, InvalidArgument)
            assert (ground_cause.argument, ground_cause.problem) == (flight_cause.argument, flight_cause.problem)
            assert expected.reason == ground_cause.reason
            tally[f"refused {ground_cause.problem}"] += 1
        else:
            assert not isinstance(got, ValidationError), (spec.name, args, str(got))
            assert got == expected, (spec.name, args)
            assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]
            tally["accepted"] += 1

    return same_verdict


def test_ground_accepts_exactly_what_flight_accepts_over_the_whole_dictionary(
    flight: FlightApp, published: dict[str, Any]
) -> None:
    ground = GroundDictionary(published)
    commands = ground.commands()
    assert sorted(c["name"] for c in commands) == flight.registry.names()
    tally: Counter[str] = Counter()
    for entry in commands:
        spec = flight.registry.spec(entry["name"])
        assert CommandSpec.from_dict(entry) == CommandSpec.from_dict(spec.as_dict())
        _same_verdict(ground, spec, tally)()
    # every way of being wrong was tried somewhere in the dictionary, and valid maps were too
    impossible = {ArgumentProblem.NOT_A_MAP, ArgumentProblem.UNKNOWN_TYPE}  # the wire carries maps; flight's types
    assert set(tally) == {"accepted"} | {f"refused {p}" for p in ArgumentProblem if p not in impossible}, tally
    assert tally["accepted"] > len(commands), tally


@pytest.mark.parametrize(
    ("args", "problem", "reason"),
    [
        ({"rpm": 700.0}, ArgumentProblem.OUT_OF_RANGE, "out_of_range"),
        ({"rpm": "fast"}, ArgumentProblem.WRONG_TYPE, "invalid_argument"),
        ({"rpm": math.nan}, ArgumentProblem.NOT_FINITE, "invalid_argument"),
        ({}, ArgumentProblem.MISSING, "invalid_argument"),
        ({"rpm": 1.0, "torque": 2}, ArgumentProblem.UNKNOWN, "invalid_argument"),
        (["rpm"], ArgumentProblem.NOT_A_MAP, "invalid_argument"),
    ],
)
def test_one_error_names_argument_problem_and_reason(args: Any, problem: ArgumentProblem, reason: str) -> None:
    specs = (ArgSpec("rpm", "float", "rpm", 0.0, 600.0),)
    with pytest.raises(InvalidArgument) as info:
        validate_args("drill.spin", specs, args)
    assert info.value.problem is problem and info.value.reason == reason
    assert str(info.value).startswith(f"drill.spin: argument {info.value.argument!r}: expected ")


def test_choices_are_out_of_range_and_defaults_fill_in() -> None:
    specs = (ArgSpec("policy", "str", choices=("hold", "safe")), ArgSpec("n", "int", default=3))
    assert validate_args("p", specs, {"policy": "hold"}) == {"policy": "hold", "n": 3}
    with pytest.raises(InvalidArgument) as info:
        validate_args("p", specs, {"policy": "panic"})
    assert info.value.problem is ArgumentProblem.BAD_CHOICE and info.value.reason == "out_of_range"
    assert info.value.expected == "one of ['hold', 'safe']" and info.value.found == "'panic'"


def test_entries_round_trip_through_their_dictionary_form() -> None:
    arg = ArgSpec("rpm", "float", "rpm", 0.0, 600.0, None, "spin speed", 100.0)
    assert ArgSpec.from_dict(arg.as_dict()) == arg
    required = ArgSpec("mode", "str", choices=("a", "b"))
    assert ArgSpec.from_dict(required.as_dict()) == required and required.default is REQUIRED
    command = CommandSpec("drill.spin", "spin", (arg, required), hazardous=True, hazard="it turns")
    assert CommandSpec.from_dict(command.as_dict()) == command
    assert ChannelSpec("drill.rpm", "rpm", warn_high=500.0).as_dict() == {
        "name": "drill.rpm",
        "unit": "rpm",
        "description": "",
        "type": "float",
        "warn_high": 500.0,
    }


def test_value_types_severities_and_stages() -> None:
    assert [type_of(v) for v in (True, 1, 1.5, "x", None)] == ["bool", "int", "float", "str", "str"]
    assert SEVERITIES == ("debug", "info", "warning", "error", "critical")
    assert [s.name.lower() for s in sorted(Severity)] == list(SEVERITIES)
    assert STAGES == ("accepted", "started", "progress", "completed", "failed")
    assert [s.value for s in Stage] == list(STAGES)
