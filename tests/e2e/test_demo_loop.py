"""The live demo's operator loop over a whole simulated stack (flight process, real link, ground core): it keeps
the station running through an emergency stop and SAFE, says which commands recover, and starts cycles again
after recovery."""

from __future__ import annotations

import pytest

from ground.procedures import Procedures
from isru.demo_loop import CycleLoop, RecoveryHint
from isru.stack import SimStack

pytestmark = pytest.mark.slow


def _until(loop: CycleLoop, isru: Procedures, channel: str, wanted: object, timeout_s: float) -> None:
    """Step the loop (as the demo does each second) until ``channel`` reads ``wanted``."""
    clock = loop.core.clock
    deadline = clock.monotonic() + timeout_s
    while loop.core.value(channel) != wanted:
        assert clock.monotonic() < deadline, f"{channel} never became {wanted!r} (is {loop.core.value(channel)!r})"
        loop.step()
        clock.sleep(0.2)


@pytest.mark.isru_stack(warp=5.0)
def test_an_emergency_stop_is_reported_with_its_recovery_and_cycles_resume(isru_stack: SimStack, isru: Procedures):
    said: list[str] = []
    hint = RecoveryHint(endpoint=isru_stack.endpoint, keys_dir=str(isru_stack.keys_dir))
    loop = CycleLoop(isru_stack.ground, hint, said.append)
    isru.await_telemetry("mission.state", lambda state: state == "idle", timeout_s=30)

    loop.step()
    assert loop.cycles_started == 1
    isru.await_telemetry("mission.state", lambda state: state != "idle", timeout_s=30)

    isru.send("estop").wait_completed(timeout_s=20)
    _until(loop, isru, "mission.state", "safe", timeout_s=30)
    loop.step()
    estop_lines = [line for line in said if "EMERGENCY STOP" in line]
    safe_lines = [line for line in said if "SAFE" in line and "EMERGENCY" not in line]
    assert len(estop_lines) == 1 and "estop.reset --yes" in estop_lines[0]
    assert len(safe_lines) == 1 and "mission.recover --yes" in safe_lines[0]
    assert "Once the emergency stop is released, recover with" in safe_lines[0]  # a sentence starts upper-case
    assert isru_stack.endpoint in safe_lines[0]
    for _ in range(3):  # reported once per episode, not every step
        loop.step()
    assert len(said) == 2
    assert loop.cycles_started == 1  # nothing starts while stopped

    isru.send("estop.reset").wait_completed(timeout_s=20)
    isru.send("mission.recover").wait_completed(timeout_s=20)
    _until(loop, isru, "mission.state", "idle", timeout_s=30)
    loop.step()
    assert "cycles resume" in said[-1]
    assert loop.cycles_started == 2
    isru.await_telemetry("mission.state", lambda state: state != "idle", timeout_s=30)


@pytest.mark.isru_stack(warp=5.0)
def test_a_hold_is_reported_once_with_the_commands_that_go_on_and_again_after_a_resume(
    isru_stack: SimStack, isru: Procedures
):
    said: list[str] = []
    hint = RecoveryHint(endpoint=isru_stack.endpoint, keys_dir=str(isru_stack.keys_dir), console=False)
    loop = CycleLoop(isru_stack.ground, hint, said.append)
    isru.await_telemetry("mission.state", lambda state: state == "idle", timeout_s=30)
    loop.step()
    isru.await_telemetry("mission.state", lambda state: state != "idle", timeout_s=30)

    isru.send("mission.hold").wait_completed(timeout_s=20)
    _until(loop, isru, "mission.state", "hold", timeout_s=30)
    for _ in range(3):  # once per episode, not every step
        loop.step()
    assert len(said) == 1, said
    assert "holds for the ground" in said[0] and "Flight and ground keep running." in said[0]
    assert f"mission.resume --yes --endpoint {isru_stack.endpoint}" in said[0] and "mission.abort --yes" in said[0]

    isru.send("mission.resume").wait_completed(timeout_s=20)
    isru.await_telemetry("mission.state", lambda state: state != "hold", timeout_s=30)
    loop.step()
    isru.send("mission.hold").wait_completed(timeout_s=20)
    _until(loop, isru, "mission.state", "hold", timeout_s=30)
    loop.step()
    assert len(said) == 2 and "holds for the ground" in said[1]  # a second hold is a second episode
    assert loop.cycles_started == 1
