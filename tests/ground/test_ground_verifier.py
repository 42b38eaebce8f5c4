"""Command history on the ground: records made before a command leaves, stages in order, commands ground
did not send, bounded memory, and waits with deadlines on the clock."""

from __future__ import annotations

import threading

import pytest

from base.clock import VirtualClock
from ground.errors import WaitTimeout
from ground.verifier import MAX_STAGES, CommandHistory


def status(cid: str, stage: str, t: float = 0.0, **extra: object) -> dict:
    return {
        "id": cid,
        "name": "drill.feed",
        "stage": stage,
        "source": "seq",
        "t": t,
        "reason": "",
        "message": "",
        "progress": None,
        **extra,
    }


def test_stages_accumulate_in_order_with_the_last_reason() -> None:
    history = CommandHistory(VirtualClock())
    record = history.expect("op-1", "drill.feed", {"depth_m": 0.5}, "operator")
    assert (record.stage, record.terminal, record.progress, record.sent_t) == ("sent", None, None, history.clock.now())
    history.update(status("op-1", "accepted", 1.0))
    history.update(status("op-1", "started", 1.0))
    history.update(status("op-1", "progress", 2.0, progress=0.25))
    history.update(status("op-1", "failed", 3.0, reason="device:stall", message="auger stalled"))
    assert [s.stage for s in record.stages] == ["accepted", "started", "progress", "failed"]
    assert (record.terminal, record.reason, record.message, record.progress) == (
        "failed",
        "device:stall",
        "auger stalled",
        0.25,
    )
    as_dict = record.as_dict()
    assert as_dict["args"] == {"depth_m": 0.5} and as_dict["reason"] == "device:stall"
    assert record.statuses()[-1] == {
        "id": "op-1",
        "name": "drill.feed",
        "stage": "failed",
        "source": "operator",
        "t": 3.0,
        "reason": "device:stall",
        "message": "auger stalled",
        "progress": None,
    }


def test_commands_ground_did_not_send_get_records_too() -> None:
    history = CommandHistory(VirtualClock())
    record = history.update(status("seq-7", "accepted"))
    assert record is not None and record.sent_t is None and record.source == "seq" and record.name == "drill.feed"
    assert history.get("seq-7") is record and history.records() == [record]
    assert history.update({"stage": "accepted"}) is None and len(history) == 1


def test_memory_is_bounded_in_records_and_in_progress_reports() -> None:
    history = CommandHistory(VirtualClock(), keep=5)
    for k in range(8):
        history.update(status(f"c{k}", "accepted"))
    assert [r.id for r in history.records()] == ["c3", "c4", "c5", "c6", "c7"]
    assert [r.id for r in history.records(limit=2)] == ["c6", "c7"]
    record = history.get("c7")
    assert record is not None
    for k in range(3 * MAX_STAGES):
        history.update(status("c7", "progress", float(k), progress=k / (3 * MAX_STAGES)))
    history.update(status("c7", "completed", 1e4))
    stages = record.stages
    assert len(stages) == MAX_STAGES + 1 and stages[-2].progress == (3 * MAX_STAGES - 1) / (3 * MAX_STAGES)
    assert record.terminal == "completed" and record.progress == 1.0


def test_waits_end_on_the_stage_or_on_the_clocks_deadline() -> None:
    clock = VirtualClock(auto_advance=False)
    history = CommandHistory(clock)
    record = history.expect("op-2", "imu.calibrate", None, "operator")
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(record.wait_for("started", timeout_s=30.0)))
    waiter.start()
    history.update(status("op-2", "accepted"))
    history.update(status("op-2", "started", 5.0))
    waiter.join(timeout=5.0)
    assert len(got) == 1 and got[0].t == 5.0
    errors: list[Exception] = []

    def wait_end() -> None:
        try:
            record.wait_terminal(timeout_s=10.0)
        except WaitTimeout as exc:
            errors.append(exc)

    waiter = threading.Thread(target=wait_end)
    waiter.start()
    clock.advance(9.0)
    waiter.join(timeout=0.3)
    assert waiter.is_alive()  # 9 of its 10 clock seconds have passed
    clock.advance(1.5)
    waiter.join(timeout=5.0)
    assert not waiter.is_alive() and "timed out after 10.0 s waiting for imu.calibrate (op-2) to end" in str(errors[0])
    history.update(status("op-2", "completed", 20.0))
    assert record.wait_terminal(timeout_s=0.0) == "completed"
    with pytest.raises(WaitTimeout, match="ended completed without reaching failed"):
        record.wait_for("failed", timeout_s=10.0)
