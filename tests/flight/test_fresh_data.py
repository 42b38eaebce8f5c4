"""Fresh data only: an interlock decision never rests on telemetry older than ``max_age_s``; stale counts as
unsafe. Over the real flight segment and emulators behind ``sim://``, the line cut on the simulated hardware."""

from __future__ import annotations

import pytest

from flight.dispatcher import Stage
from sim_hw.devices.drill import DrillFirmware
from sim_hw.registry import uninstall_world
from tests.flight.test_load_shedding import build

pytestmark = pytest.mark.timeout(300)


def test_a_drill_turning_while_the_anchor_line_is_down_is_stopped_within_the_stated_age() -> None:
    app, world, clock = build(prospect=False)
    drill: DrillFirmware = world.device("drill")  # type: ignore[assignment]
    try:
        status = app.dispatcher.submit("mission.start", {"cycles": 1}, source="test")
        assert status.stage == Stage.COMPLETED, status
        limit = clock.monotonic() + 900
        app.executive.run(
            until=lambda: (
                (app.mission.state == "extract_drill" and drill.mechanics.rpm_cmd > 0.0) or clock.monotonic() > limit
            )
        )
        assert drill.mechanics.rpm_cmd > 0.0 and app.interlocks.anchored
        world.inject("anchor", "disconnect")
        cut = clock.monotonic()
        max_age = app.interlocks.settings.max_age_s
        app.executive.run(until=lambda: drill.mechanics.rpm_cmd == 0.0 or clock.monotonic() > cut + 10 * max_age)
        # the anchor's last values still say "anchored", but they are older than the stated age
        assert app.table.get("anchor.deployed_mask") != 0
        assert drill.mechanics.rpm_cmd == 0.0
        assert clock.monotonic() - cut <= max_age + 1.0
        assert app.interlocks.trips.get("drill_unanchored", 0) >= 1
        refused = app.dispatcher.submit("drill.spin", {"rpm": 60.0}, source="test")
        assert refused.stage == Stage.FAILED and refused.reason == "interlock:drill_unanchored", refused
    finally:
        app.close()
        uninstall_world()
