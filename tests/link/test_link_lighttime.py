"""Light-time delay lines and the loss-of-signal timeout they imply."""

from __future__ import annotations

import pytest

from link.lighttime import DelayLine, los_timeout_s


def test_items_come_out_after_the_delay_in_order() -> None:
    line: DelayLine[str] = DelayLine(1.3)
    line.push("a", 10.0)
    line.push("b", 10.5)
    assert line.next_due() == pytest.approx(11.3)
    assert line.due(11.29) == []
    assert line.due(11.3) == ["a"]
    assert len(line) == 1
    assert line.due(100.0) == ["b"] and line.next_due() is None


def test_no_delay_passes_at_once_and_a_negative_delay_is_refused() -> None:
    line: DelayLine[int] = DelayLine(0.0)
    line.push(1, 5.0)
    assert line.due(5.0) == [1]
    with pytest.raises(ValueError, match=">= 0"):
        DelayLine(-1.0)


def test_loss_of_signal_waits_for_the_missed_heartbeats_plus_the_round_trip() -> None:
    assert los_timeout_s(1.0, 3, 0.0) == 3.0
    assert los_timeout_s(1.0, 3, 1.3) == pytest.approx(5.6)
