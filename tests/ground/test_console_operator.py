"""The console's operator controls with NiceGUI's simulated user, over the real link: a real flight segment
on wall time serves a real link server (CURVE keys), the console's ground core connects as ``operator``.
The confirmation flow of hazardous commands, validation messages on the form, alarm acknowledgement with
a comment, shelving and E-STOP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from nicegui.testing import User, user_simulation

from base.clock import RealClock
from flight.link_server import LinkServer
from ground.archive import Archive
from ground.console.app import register_pages
from ground.console.context import ConsoleContext, ConsoleSettings
from ground.core import GroundCore
from link.keys import init_keys
from sim_hw.registry import uninstall_world
from tests.support.console_support import BATTERY_CHANNEL, FlightThread, build_flight

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]
WAIT_S = 10.0


@dataclass
class Operator:
    app: Any
    world: Any
    flight: FlightThread
    core: GroundCore
    ctx: ConsoleContext

    def records(self, name: str) -> list[Any]:
        return [r for r in self.core.commands.records() if r.name == name]


@pytest.fixture
def operator(tmp_path: Path) -> Iterator[Operator]:
    keys = init_keys(tmp_path / "keys")
    app, world, _clock = build_flight(clock=RealClock())
    server = LinkServer.attach(app, endpoint="tcp://127.0.0.1:0", keys_dir=keys)
    flight = FlightThread(app).start()
    clock = RealClock()
    core = GroundCore.connect(
        server.endpoint, Archive(tmp_path / "archive.sqlite"), clock, keys_dir=keys, identity="operator"
    )
    core.client.run_in_thread()
    ctx = ConsoleContext(core, clock, ConsoleSettings(plot_period_s=0.05, refresh_period_s=0.1))
    try:
        deadline = time.perf_counter() + WAIT_S
        while core.role != "operator" or BATTERY_CHANNEL not in core.latest:
            assert time.perf_counter() < deadline, f"link not acquired: {core.link}"
            time.sleep(0.05)
        yield Operator(app, world, flight, core, ctx)
    finally:
        ctx.detach()
        core.client.stop()
        core.client.close()
        core.close()
        core.archive.close()
        flight.stop()
        server.close()
        app.close()
        uninstall_world()


@pytest_asyncio.fixture
async def user(operator: Operator) -> AsyncIterator[User]:
    async with user_simulation() as simulated:
        register_pages(operator.ctx)
        yield simulated


async def until(condition: Any, what: str, timeout_s: float = WAIT_S) -> Any:
    """Await ``condition()`` becoming true while the event loop (and the page timers) keep running."""
    deadline = time.perf_counter() + timeout_s
    while not (result := condition()):
        assert time.perf_counter() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return result


def element(user: User, marker: str) -> Any:
    return next(iter(user.find(marker=marker).elements))


async def test_hazardous_command_cancel_then_confirm(user: User, operator: Operator) -> None:
    await user.open("/commands?name=drive.twist")
    element(user, "arg-v_m_s").set_value(0.05)
    element(user, "arg-omega_rad_s").set_value(0.0)
    user.find(marker="command-send").click()
    await user.should_see(operator.core.dictionary.hazard("drive.twist"))
    user.find(marker="confirm-cancel").click()
    await user.should_see("nothing sent")
    await asyncio.sleep(0.3)
    assert operator.records("drive.twist") == []
    operator.flight.call(lambda: operator.world.device("drive").assert_not_received("twist"))
    user.find(marker="command-send").click()
    user.find(marker="confirm-send").click()
    record = (await until(lambda: operator.records("drive.twist"), "the command record"))[-1]
    assert await until(lambda: record.terminal, "the command to end") == "completed", record.statuses()
    assert record.args == {"v_m_s": 0.05, "omega_rad_s": 0.0}
    await user.open("/history")
    table = element(user, "command-history")
    row = next(r for r in table.rows if r["id"] == record.id)
    assert row["stage"] == "completed" and row["stages"].startswith("accepted")


async def test_out_of_range_argument_is_named_on_its_field_and_nothing_is_sent(user: User, operator: Operator) -> None:
    await user.open("/commands?name=drive.twist")
    element(user, "arg-v_m_s").set_value(5.0)
    element(user, "arg-omega_rad_s").set_value(0.0)
    user.find(marker="command-send").click()
    field = element(user, "arg-v_m_s")
    assert "error" in field.props and "-0.3..0.3" in field.props["error-message"]
    await user.should_see("argument 'v_m_s'")
    assert operator.records("drive.twist") == []


async def test_non_hazardous_command_goes_without_confirmation(user: User, operator: Operator) -> None:
    await user.open("/commands?name=drive.stop")
    user.find(marker="command-send").click()
    record = (await until(lambda: operator.records("drive.stop"), "drive.stop sent"))[-1]
    assert await until(lambda: record.terminal, "drive.stop to end") == "completed"


async def test_alarm_needs_a_comment_then_acknowledges_and_can_be_shelved(user: User, operator: Operator) -> None:
    operator.flight.call(lambda: operator.world.device("power").inject_low_battery(0.1))
    await until(lambda: operator.core.alarms.get(BATTERY_CHANNEL), "the battery alarm")
    await user.open("/alarms")
    await user.should_see("violated: alarm_low 0.2")
    card = f"alarm-{BATTERY_CHANNEL}"
    with user.scope(marker=card):
        user.find(marker="alarm-ack").click()
    user.find(marker="ack-submit").click()  # no comment yet
    await user.should_see("not acknowledged")
    assert not operator.core.alarms.get(BATTERY_CHANNEL).acked
    user.find(marker="ack-comment").type("load shed, recharging")
    user.find(marker="ack-submit").click()
    alarm = operator.core.alarms.get(BATTERY_CHANNEL)
    assert alarm.acked and alarm.ack_comment == "load shed, recharging" and alarm.ack_by == "operator"
    await user.should_see("ack by operator")
    await asyncio.sleep(0.3)  # the board redraws after the acknowledgement
    with user.scope(marker=card):
        user.find(marker="alarm-shelve").click()
        user.find("5 min").click()
    await user.should_see(f"{BATTERY_CHANNEL} shelved for 5 min")
    assert operator.core.alarms.get(BATTERY_CHANNEL).shelved


async def test_estop_button_stops_the_rover(user: User, operator: Operator) -> None:
    record = operator.core.send("drive.twist", {"v_m_s": 0.1, "omega_rad_s": 0.0}, confirmed=True)
    await until(lambda: record.terminal, "drive.twist to end")
    await until(lambda: operator.flight.call(lambda: operator.world.device("drive").is_actuating()), "driving")
    await user.open("/")
    user.find(marker="estop").click()
    stop = (await until(lambda: operator.records("estop"), "the e-stop record"))[-1]
    assert await until(lambda: stop.terminal, "the e-stop to end") == "completed"
    await until(lambda: not operator.flight.call(lambda: operator.world.device("drive").is_actuating()), "stopped")


async def test_sequence_load_run_and_progress(user: User, operator: Operator) -> None:
    await user.open("/sequences")
    for name in ("seq.pause", "seq.resume", "seq.abort", "seq.reload"):
        user.find(marker=f"form-{name}")
    with user.scope(marker="form-seq.reload"):
        user.find(marker="command-send").click()
    reload = (await until(lambda: operator.records("seq.reload"), "seq.reload sent"))[-1]
    assert await until(lambda: reload.terminal, "seq.reload to end") == "completed"
    # Chosen from flight's list, previewed, and confirmed: its steps spin the drill and hammer.
    user.find(marker="seq-picker").click()
    user.find("drill_safe").click()
    steps = element(user, "seq-steps")
    commands = ["drill.percussion", "drill.spin", "drill.retract"]
    await until(lambda: [row["command"] for row in steps.rows] == commands, "the step preview")
    assert [bool(row["hazard"]) for row in steps.rows] == [True, True, False]
    user.find(marker="seq-run").click()
    await user.should_see("drill_safe: 2 of 3 steps are hazardous")
    assert operator.records("seq.run") == []  # nothing sent before the confirmation
    user.find(marker="seq-confirm-run").click()
    run = (await until(lambda: operator.records("seq.run"), "seq.run sent"))[-1]
    assert run.args == {"name": "drill_safe"}
    assert await until(lambda: run.terminal, "seq.run to end") == "completed", run.statuses()
    await until(lambda: operator.core.value("seq.state") == "completed", "the sequence to complete", 20.0)
    progress = element(user, "seq-progress")
    await until(lambda: progress.value == 1.0, "the progress bar full")
    await user.should_see("drill_safe")
