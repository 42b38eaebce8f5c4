"""The console's command stack is an operator's tool (a real flight segment on wall time over the real link, the
fixtures of ``test_console_operator``): an observer can neither prepare, reorder, remove, clear, release nor stop
it, each refusal audited; a release goes on from the console's timer, which has no browser session, and sends
every entry as the operator who released it."""

from __future__ import annotations

import time

import pytest

from ground.acting import Actor
from ground.audit import AuditLog
from ground.errors import Forbidden
from tests.ground.test_console_operator import Operator

pytestmark = pytest.mark.timeout(60)

ESA = Actor("esa", "observer")
ANN = Actor("ann", "operator")


def test_an_observer_changes_nothing_in_the_stack_and_each_attempt_is_audited(operator: Operator) -> None:
    core, stack = operator.core, operator.ctx.stack
    core.audit = AuditLog(core.archive.path, core.clock, rover="moon-1")
    with core.acting_as(ANN):
        stack.add("imu.self_test", {})
        stack.add("drill.self_test", {})
    attempts = [
        lambda: stack.add("extractor.heater_power", {"watts": 0.0}, confirmed=True),
        lambda: stack.remove(0),
        lambda: stack.move(1, -1),
        stack.clear_done,
        stack.release,
        stack.stop,
    ]
    with core.acting_as(ESA):
        for attempt in attempts:
            with pytest.raises(Forbidden, match="esa"):
                attempt()
    assert [(e.name, e.prepared_by, e.state) for e in stack.entries] == [
        ("imu.self_test", "ann", "prepared"),
        ("drill.self_test", "ann", "prepared"),
    ]
    assert not stack.releasing and operator.records("imu.self_test") == []
    refused = core.audit.entries(user="esa", action="command_refused")
    assert len(refused) == len(attempts) and all("command stack" in e.target for e in refused)


def test_a_release_goes_on_without_a_session_and_sends_as_the_operator_who_released(operator: Operator) -> None:
    core, stack = operator.core, operator.ctx.stack

    def no_session() -> Actor | None:  # what the console's timer meets: an event loop but no browser session
        raise Forbidden("no console session behind this action; log in first")

    with core.acting_as(ANN):
        for name in ("imu.self_test", "drill.self_test", "anchor.self_test"):
            stack.add(name, {})
        core.actor_source = no_session
        stack.release()  # the click: the first entry leaves at once
    deadline = time.perf_counter() + 30
    while [e.state for e in stack.entries] != ["completed"] * 3:  # the console-wide timer's work
        assert time.perf_counter() < deadline, [(e.name, e.state, e.note) for e in stack.entries]
        stack.advance()
        time.sleep(0.05)
    for name in ("imu.self_test", "drill.self_test", "anchor.self_test"):
        assert [r.source for r in operator.records(name)] == ["ann"]
