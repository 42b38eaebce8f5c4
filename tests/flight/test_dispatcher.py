"""The command dispatcher: validation, verification stages, long-running jobs, ids never run twice."""

from __future__ import annotations

import math
from collections.abc import Generator

import pytest

from base.clock import VirtualClock
from flight.commands import ArgSpec, CommandRegistry, CommandSpec, command
from flight.dispatcher import CommandStatus, Dispatcher, Stage
from flight.errors import CommandRejected
from flight.events import EventLog


class Arm:
    """A test component: commands that record what they did."""

    def __init__(self) -> None:
        self.moves: list[float] = []

    @command(
        "arm.move",
        "Move the arm.",
        ArgSpec("angle", "float", "rad", -1.0, 1.0),
        hazardous=True,
        hazard="The arm swings.",
        resource="arm",
    )
    def move(self, angle: float) -> Generator[float, None, None]:
        for step in range(4):
            yield (step + 1) / 4
        self.moves.append(angle)

    @command("arm.zero", "Zero the encoder.", ArgSpec("offset", "int", "", 0, 10, default=0))
    def zero(self, offset: int) -> None:
        self.moves.append(float(offset))

    @command("arm.jam", "A command whose job fails half way.", resource="arm")
    def jam(self) -> Generator[float, None, None]:
        yield 0.5
        raise CommandRejected("device:blocked", "the arm hit something")


@pytest.fixture
def setup() -> tuple[Dispatcher, Arm, list[CommandStatus]]:
    clock = VirtualClock()
    registry = CommandRegistry()
    arm = Arm()
    registry.register(arm)
    dispatcher = Dispatcher(registry, clock, EventLog(clock))
    reports: list[CommandStatus] = []
    dispatcher.on_status(reports.append)
    return dispatcher, arm, reports


def stages(reports: list[CommandStatus], command_id: str) -> list[str]:
    return [r.stage.value for r in reports if r.id == command_id]


def test_immediate_command_reports_accepted_started_completed(setup) -> None:
    dispatcher, arm, reports = setup
    status = dispatcher.submit("arm.zero", {"offset": 3}, command_id="c1", source="operator")
    assert status.stage == Stage.COMPLETED
    assert stages(reports, "c1") == ["accepted", "started", "completed"]
    assert arm.moves == [3.0]


def test_long_running_command_reports_progress_until_completed(setup) -> None:
    dispatcher, arm, reports = setup
    dispatcher.submit("arm.move", {"angle": 0.5}, command_id="m1")
    for _ in range(5):
        dispatcher.tick()
    assert stages(reports, "m1") == ["accepted", "started", "progress", "progress", "progress", "progress", "completed"]
    assert [r.progress for r in reports if r.stage == Stage.PROGRESS] == [0.25, 0.5, 0.75, 1.0]
    assert arm.moves == [0.5]


def test_a_command_id_is_never_executed_twice(setup) -> None:
    dispatcher, arm, _reports = setup
    dispatcher.submit("arm.zero", {}, command_id="same")
    again = dispatcher.submit("arm.zero", {}, command_id="same")
    assert again.stage == Stage.FAILED and again.reason == "duplicate_id"
    assert arm.moves == [0.0]


@pytest.mark.parametrize(
    ("name", "args", "reason"),
    [
        ("arm.fly", {}, "unknown_command"),
        ("arm.move", {}, "invalid_argument"),
        ("arm.move", {"angle": 2.0}, "out_of_range"),
        ("arm.move", {"angle": "left"}, "invalid_argument"),
        ("arm.move", {"angle": float("nan")}, "invalid_argument"),
        ("arm.move", {"angle": 0.1, "speed": 3}, "invalid_argument"),
        ("arm.zero", {"offset": 1.5}, "invalid_argument"),
        ("arm.zero", {"offset": True}, "invalid_argument"),
    ],
)
def test_invalid_commands_fail_with_a_reason_and_run_nothing(setup, name, args, reason) -> None:
    dispatcher, arm, reports = setup
    status = dispatcher.submit(name, args, command_id="bad")
    assert status.stage == Stage.FAILED
    assert status.reason == reason
    assert status.message  # says what was wrong
    assert arm.moves == []
    assert stages(reports, "bad") == ["failed"]


_CHECKED = CommandSpec(
    "arm.move",
    "",
    (
        ArgSpec("angle", "float", "rad", -1.0, 1.0),
        ArgSpec("mode", "str", choices=("a", "b"), default="a"),
        ArgSpec("n", "int", lo=0, hi=5, default=1),
        ArgSpec("on", "bool", default=False),
        ArgSpec("value", "scalar"),
    ),
)


@pytest.mark.parametrize(
    ("args", "reason", "message"),
    [
        ({}, "invalid_argument", "arm.move: missing argument 'angle'"),
        ({"angle": 2, "value": 1}, "out_of_range", "angle: expected -1.0..1.0 rad, found 2.0"),
        ({"angle": "x", "value": 1}, "invalid_argument", "angle: expected float, found str 'x'"),
        ({"angle": True, "value": 1}, "invalid_argument", "angle: expected float, found bool True"),
        ({"angle": math.inf, "value": 1}, "invalid_argument", "angle: expected a finite number, found inf"),
        (
            {"angle": 0.1, "value": None},
            "invalid_argument",
            "value: expected a string, number or boolean, found NoneType None",
        ),
        (
            {"angle": 0.1, "value": 1, "zz": 1, "aa": 2},
            "invalid_argument",
            "arm.move has no argument 'aa'; expected among ['angle', 'mode', 'n', 'on', 'value']",
        ),
        ({"angle": 0.1, "value": 1, "mode": "c"}, "out_of_range", "mode: expected one of ['a', 'b'], found 'c'"),
        ({"angle": 0.1, "value": 1, "n": -1}, "out_of_range", "n: expected 0..5, found -1"),
        ({"angle": 0.1, "value": 1, "on": 1}, "invalid_argument", "on: expected bool, found int 1"),
    ],
)
def test_flight_words_each_refusal_with_its_reason_code(args, reason, message) -> None:
    with pytest.raises(CommandRejected) as info:
        _CHECKED.validate(args)
    assert (info.value.reason, info.value.message) == (reason, message)


def test_valid_arguments_are_converted_and_defaults_filled() -> None:
    values = _CHECKED.validate({"angle": 1, "value": "v"})
    assert values == {"angle": 1.0, "mode": "a", "n": 1, "on": False, "value": "v"}
    assert type(values["angle"]) is float


def test_resource_busy_and_job_failure(setup) -> None:
    dispatcher, _arm, reports = setup
    dispatcher.submit("arm.jam", {}, command_id="j1")
    busy = dispatcher.submit("arm.move", {"angle": 0.0}, command_id="m2")
    assert busy.stage == Stage.FAILED and busy.reason == "busy"
    dispatcher.tick()
    assert reports[-1].id == "j1" and reports[-1].stage == Stage.FAILED and reports[-1].reason == "device:blocked"
    assert dispatcher.submit("arm.move", {"angle": 0.0}, command_id="m3").stage == Stage.PROGRESS


def test_cancel_fails_the_running_command(setup) -> None:
    dispatcher, arm, reports = setup
    dispatcher.submit("arm.move", {"angle": 0.2}, command_id="m1")
    assert dispatcher.cancel_all("abort") == 1
    assert reports[-1].stage == Stage.FAILED and reports[-1].reason == "abort"
    dispatcher.tick()
    assert arm.moves == []


def test_dictionary_is_generated_from_the_handlers(setup) -> None:
    dispatcher, _, _ = setup
    entries = {e["name"]: e for e in dispatcher.registry.dictionary()}
    assert set(entries) == {"arm.move", "arm.zero", "arm.jam"}
    move = entries["arm.move"]
    assert move["hazardous"] is True and move["hazard"] == "The arm swings."
    assert move["args"] == [
        {"name": "angle", "type": "float", "unit": "rad", "description": "", "min": -1.0, "max": 1.0}
    ]
    assert entries["arm.zero"]["args"][0]["default"] == 0


def test_hazardous_command_without_hazard_text_is_a_definition_error() -> None:
    with pytest.raises(ValueError, match="hazard description"):
        command("x", "y", hazardous=True)
