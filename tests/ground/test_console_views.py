"""The console's pages with NiceGUI's simulated user (no browser), over a real flight segment and a real
ground core with a real archive. The core here is fed through its client callbacks and has no link, so it
is an observer: it sees everything and every control is disabled (and the core refuses anyway)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from nicegui.testing import User, user_simulation

from base.clock import RealClock
from ground.console.app import register_pages
from ground.console.context import ConsoleContext, ConsoleSettings
from ground.errors import Forbidden
from sim_hw.registry import uninstall_world
from tests.support.console_support import BATTERY_CHANNEL, HandlerFeed, archive_only_core, build_flight

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Any, Any, HandlerFeed, ConsoleContext]]:
    app, world, _clock = build_flight()
    core = archive_only_core(tmp_path, RealClock())
    feed = HandlerFeed(app, core)
    ctx = ConsoleContext(core, RealClock(), ConsoleSettings(plot_period_s=0.05, refresh_period_s=0.05))
    feed.run(2.0)
    yield app, world, feed, ctx
    ctx.detach()
    core.close()
    core.archive.close()
    app.close()
    uninstall_world()


@pytest_asyncio.fixture
async def user(stack: tuple[Any, Any, HandlerFeed, ConsoleContext]) -> AsyncIterator[User]:
    async with user_simulation() as simulated:
        register_pages(stack[3])
        yield simulated


def texts(user: User, marker: str) -> list[str]:
    return [getattr(e, "text", "") for e in user.find(marker=marker).elements]


async def test_overview_shows_state_diagram_and_link(user: User, stack) -> None:
    app, _world, _feed, _ctx = stack
    await user.open("/")
    await user.should_see(f"state: {app.mission.state}")
    diagram = next(iter(user.find(marker="diagram").elements))
    assert f"class {app.mission.state} s_active" in diagram.content
    await user.should_see("link: none (archive only)")
    await user.should_see("observer")


async def test_telemetry_table_colours_a_channel_in_its_red_band(user: User, stack) -> None:
    _app, world, feed, _ctx = stack
    world.device("power").inject_low_battery(0.1)
    feed.run(1.0)
    await user.open("/telemetry")
    table = next(iter(user.find(marker="telemetry-table").elements))
    row = next(r for r in table.rows if r["name"] == BATTERY_CHANNEL)
    assert row["level"] == "alarm" and "alarm [0.2, 1]" in row["limits"]
    assert "bg-red-600" in row["css"]
    nominal = next(r for r in table.rows if r["name"] == "drill.depth_m")
    assert nominal["level"] == "nominal" and nominal["unit"] == "m"


async def test_events_filter_by_severity_and_text(user: User, stack) -> None:
    _app, world, feed, _ctx = stack
    world.device("power").inject_low_battery(0.1)
    feed.run(1.0)
    await user.open("/events")
    table = next(iter(user.find(marker="event-table").elements))
    assert any(r["source"] == "fdir" for r in table.rows)
    user.find(marker="event-severity").elements.pop().set_value("critical")
    assert table.rows and all(r["severity"] == "critical" for r in table.rows)
    user.find(marker="event-severity").elements.pop().set_value("debug")
    user.find(marker="event-search").type("load shed")
    assert table.rows and all("load shed" in r["message"] for r in table.rows)


async def test_alarm_shows_violated_limit_and_value_and_observer_cannot_ack(user: User, stack) -> None:
    _app, world, feed, ctx = stack
    world.device("power").inject_low_battery(0.1)
    feed.run(1.0)
    await user.open("/alarms")
    await user.should_see(BATTERY_CHANNEL)
    await user.should_see("violated: alarm_low 0.2")
    ack = [e for e in user.find(marker="alarm-ack").elements]
    assert ack and not any(e.enabled for e in ack)
    with pytest.raises(Forbidden):
        ctx.core.alarms.ack(BATTERY_CHANNEL, "seen")
    assert not ctx.core.alarms.get(BATTERY_CHANNEL).acked


async def test_observer_sees_commands_but_cannot_send(user: User, stack) -> None:
    _app, world, _feed, ctx = stack
    await user.open("/commands?name=drive.twist")
    await user.should_see("role observer: commanding is disabled")
    send = user.find(marker="command-send").elements.pop()
    assert not send.enabled
    assert not user.find(marker="estop").elements.pop().enabled
    user.find(marker="command-send").click()  # a disabled button does nothing
    with pytest.raises(Forbidden):
        ctx.core.send("drive.twist", {"v_m_s": 0.1, "omega_rad_s": 0.0})
    with pytest.raises(Forbidden):
        ctx.core.estop()
    assert len(ctx.core.commands) == 0
    world.device("drive").assert_not_received("twist")


async def test_live_plot_sends_only_new_samples(user: User, stack) -> None:
    _app, _world, feed, _ctx = stack
    await user.open(f"/plots?c={BATTERY_CHANNEL},drill.depth_m")
    sent: list[str] = []
    outbox = user.client.outbox
    emit = outbox._emit

    async def capture(message: Any) -> None:  # what goes over the websocket to the browser
        _target, kind, data = message
        code = data.get("code", "") if kind == "run_javascript" else ""
        match = re.fullmatch(r"isruPlots\.append\((.*)\)", code, re.S)
        if match:
            sent.append(match[1])
        else:
            await emit(message)

    outbox._emit = capture
    plot = next(iter(user.find(marker="plot").elements))
    before = len(feed.core.history(BATTERY_CHANNEL, 0, 4e9))  # the newest of these was on the page at once
    delivered = 0
    for _ in range(4):
        delivered += feed.run(0.5)
        await asyncio.sleep(0.15)
    archived = len(feed.core.history(BATTERY_CHANNEL, 0, 4e9)) - before + 1
    assert delivered > 0 and archived >= 4 * 2
    await _wait(lambda: len(_times(sent, plot.id, 0)) >= archived)
    batches = [json.loads(code) for code in sent]
    assert all(set(batch) == {str(plot.id)} for batch in batches)
    times = _times(sent, plot.id, 0)
    assert times == sorted(set(times)), "each sample of a channel is sent once, in order"
    assert len(times) == archived and len(batches) >= 4


def _times(sent: list[str], plot_id: int, series: int) -> list[float]:
    """Time stamps (ms) of every point sent for one series of one plot."""
    return [
        point[0]
        for code in sent
        for index, points in json.loads(code)[str(plot_id)]["s"]
        if index == series
        for point in points
    ]


async def _wait(condition: Any, timeout_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)
