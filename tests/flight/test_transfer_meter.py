"""The water a transfer books: the tank's rise, cross-checked against the cold trap's fall, so that a stuck
tank gauge never books a cycle's water as nothing, and any disagreement is reported."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from base.clock import VirtualClock
from flight.events import EventLog
from flight.mission.process import metered_water


def _metered(tank_rise_kg: float, trap_fall_kg: float) -> tuple[float, list[tuple[str, str]]]:
    events = EventLog(VirtualClock())
    ctx: Any = SimpleNamespace(events=events)
    return metered_water(ctx, tank_rise_kg, trap_fall_kg), [(e.name, e.message) for e in events.recent]


def test_agreeing_meters_book_the_tank_quietly() -> None:
    assert _metered(0.110, 0.111) == (0.110, [])
    assert _metered(0.0, 0.0) == (0.0, [])  # nothing to transfer, nothing to say


def test_a_stuck_tank_gauge_books_the_trap_and_says_so() -> None:
    booked, said = _metered(0.0, 0.110)
    assert booked == 0.110
    assert said == [
        (
            "transfer_meter_suspect",
            "the tank reading did not move while the cold trap gave 0.110 kg: booked the trap's figure "
            "(check extractor.tank_kg)",
        )
    ]


@pytest.mark.parametrize(("tank", "trap"), [(0.110, 0.050), (0.050, 0.110), (0.110, 0.0)])
def test_meters_that_disagree_book_the_tank_and_report_both(tank: float, trap: float) -> None:
    booked, said = _metered(tank, trap)
    assert booked == tank
    assert [name for name, _ in said] == ["transfer_mismatch"]
    assert f"the tank rose {tank:.3f} kg but the cold trap gave {trap:.3f} kg" in said[0][1]
