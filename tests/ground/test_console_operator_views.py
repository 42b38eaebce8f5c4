"""The operator views with NiceGUI's simulated user over the real link (the fixtures of
``test_console_operator``: a real flight segment on wall time, a real link server, the console's core as
``operator``): flight's failure message in the sender and the history, form defaults inside ranges, the
command stack released in order, the parameters view, and rehearsal hidden over a rover flight does not
offer it for."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from tests.ground.test_console_operator import Operator, element, until

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


async def test_a_refused_command_shows_flights_reason_and_message_in_sender_and_history(
    user: User, operator: Operator
) -> None:
    await user.open("/commands?name=drill.spin")
    element(user, "arg-rpm").set_value(100.0)
    user.find(marker="command-send").click()
    user.find(marker="confirm-send").click()
    record = (await until(lambda: operator.records("drill.spin"), "drill.spin sent"))[-1]
    assert await until(lambda: record.terminal, "drill.spin to end") == "failed"
    assert record.reason == "interlock:drill_unanchored" and record.message
    result = element(user, "command-result")
    await until(lambda: "failed — interlock:drill_unanchored" in result.text, "the outcome on the form")
    assert record.message in result.text
    await user.open("/history")
    row = next(r for r in element(user, "command-history").rows if r["id"] == record.id)
    assert row["message"] == record.message and row["args"] == "rpm=100.0" and row["time"][:2] in ("19", "20")


async def test_mission_start_form_starts_inside_the_cycles_range(user: User, operator: Operator) -> None:
    await user.open("/commands?name=mission.start")
    assert element(user, "arg-cycles").value == 1


async def test_stacked_commands_are_released_in_order_each_after_the_previous(user: User, operator: Operator) -> None:
    for name in ("drill.self_test", "imu.self_test"):
        await user.open(f"/commands?name={name}")
        user.find(marker="command-stack-add").click()
        await user.should_see(f"prepared {name}")
    await user.open("/commands?name=drive.twist")  # hazardous: confirmed while preparing
    user.find(marker="command-stack-add").click()
    user.find(marker="confirm-send").click()
    await user.should_see("prepared drive.twist as step 3")
    assert operator.records("drill.self_test") == [] and operator.records("imu.self_test") == []
    await user.open("/stack")
    table = element(user, "stack-table")
    assert [r["name"] for r in table.rows] == ["drill.self_test", "imu.self_test", "drive.twist"]
    assert table.rows[2]["hazard"] == "confirmed" and table.rows[2]["args"] == "v_m_s=0.0, omega_rad_s=0.0"
    user.find(marker="stack-release").click()
    await until(lambda: [e.state for e in operator.ctx.stack.entries] == ["completed"] * 3, "all three completed", 20)
    first, second, third = (operator.records(n)[-1] for n in ("drill.self_test", "imu.self_test", "drive.twist"))
    # Each was sent only after the one before had completed.
    assert first.stages[-1].t <= second.stages[0].t and second.stages[-1].t <= third.stages[0].t
    assert not operator.ctx.stack.releasing


async def test_a_failure_stops_the_release_and_keeps_the_rest(user: User, operator: Operator) -> None:
    stack = operator.ctx.stack
    stack.add("drill.spin", {"rpm": 50.0}, confirmed=True)  # refused by flight: the drill is not anchored
    stack.add("imu.self_test", {})
    await user.open("/stack")
    user.find(marker="stack-release").click()
    await until(lambda: stack.entries[0].state == "failed", "the refusal")
    assert "interlock:drill_unanchored" in stack.entries[0].note
    assert stack.entries[1].state == "prepared" and operator.records("imu.self_test") == []


async def test_parameters_set_shows_unsaved_then_save_clears_it(user: User, operator: Operator) -> None:
    await user.open("/parameters")
    table = element(user, "params-table")
    row = next(r for r in table.rows if r["name"] == "mission.cycles")
    assert row["unit"] == "count" and row["range"] == "1..10000"
    record = operator.core.send("param.set", {"name": "mission.cycles", "value": 3})  # as the pencil's dialog does
    assert await until(lambda: record.terminal, "param.set to end") == "completed"
    await until(lambda: next(r for r in table.rows if r["name"] == "mission.cycles")["value"] == 3, "the new value")
    dirty = element(user, "params-dirty")
    await until(lambda: dirty.visible and "unsaved" in dirty.text, "the unsaved-changes badge")
    user.find(marker="params-save").click()
    save = (await until(lambda: operator.records("param.save"), "param.save sent"))[-1]
    assert await until(lambda: save.terminal, "param.save to end") == "completed"
    await until(lambda: not dirty.visible, "the badge gone after saving")


async def test_rehearsal_is_hidden_when_flight_offers_no_fault_injection(user: User, operator: Operator) -> None:
    await user.open("/")
    await user.should_not_see("Rehearsal")
    await user.open("/rehearsal")
    await user.should_see("Not available: this rover is not simulated")
