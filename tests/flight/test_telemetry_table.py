"""The flight telemetry table: latest values and times, per-sample and batch listeners, new channels described."""

from __future__ import annotations

from typing import Any

import pytest

from flight.telemetry import TelemetryTable


def test_a_batch_listener_hears_every_update_whole_in_order() -> None:
    table = TelemetryTable()
    heard: list[tuple[dict[str, Any], float]] = []
    table.subscribe_batch(lambda values, t: heard.append((dict(values), t)))
    table.update({"drill.rpm": 120.0, "drill.state": "ACTIVE"}, 10.0)
    table.update({"drill.rpm": 121.5}, 10.1)
    assert heard == [({"drill.rpm": 120.0, "drill.state": "ACTIVE"}, 10.0), ({"drill.rpm": 121.5}, 10.1)]
    assert table.get("drill.rpm") == 121.5 and table.get("drill.state") == "ACTIVE"
    assert table.age("drill.rpm", 10.6) == pytest.approx(0.5) and table.age("drill.state", 10.6) == pytest.approx(0.6)


def test_batch_and_per_sample_listeners_hear_the_same_samples() -> None:
    table = TelemetryTable()
    batches: list[tuple[str, Any, float]] = []
    samples: list[tuple[str, Any, float]] = []
    table.subscribe_batch(lambda values, t: batches.extend((name, value, t) for name, value in values.items()))
    table.subscribe(lambda name, value, t: samples.append((name, value, t)))
    table.update({"a.x": 1, "a.y": 2.5}, 1.0)
    table.update({"a.x": 3, "b.z": "on"}, 2.0)
    assert samples == batches == [("a.x", 1, 1.0), ("a.y", 2.5, 1.0), ("a.x", 3, 2.0), ("b.z", "on", 2.0)]
    assert table.snapshot() == {"a.x": 3, "a.y": 2.5, "b.z": "on"}


def test_a_channel_first_seen_in_an_update_gets_a_dictionary_entry_from_its_type() -> None:
    table = TelemetryTable()
    table.subscribe_batch(lambda values, t: None)
    table.update({"new.count": 4, "new.flag": True}, 0.0)
    entries = {entry["name"]: entry for entry in table.dictionary()}
    assert set(entries) == {"new.count", "new.flag"}
    assert entries["new.count"]["type"] == "int" and entries["new.flag"]["type"] == "bool"
