"""base.clock: real, scaled and virtual time. Wall waits are tiny and every wait is bounded."""

from __future__ import annotations

import threading
import time

import pytest

from base.clock import VIRTUAL_EPOCH_S, PacedClock, RealClock, ScaledClock, VirtualClock, make_clock


def test_real_clock_follows_wall_time() -> None:
    clock = RealClock()
    assert abs(clock.now() - time.time()) < 1.0
    before_wall, before = time.perf_counter(), clock.monotonic()
    clock.sleep(0.02)
    slept, wall = clock.monotonic() - before, time.perf_counter() - before_wall
    assert 0.019 <= slept <= wall + 0.01
    assert clock.warp == 1.0
    assert clock.wall_timeout(0.5) == 0.5


def test_real_clock_ignores_non_positive_sleeps() -> None:
    clock = RealClock()
    start = time.perf_counter()
    clock.sleep(0)
    clock.sleep(-5)
    clock.sleep_until(clock.monotonic() - 1.0)
    assert time.perf_counter() - start < 0.05


def test_scaled_clock_runs_warp_times_faster() -> None:
    clock = ScaledClock(50.0, epoch=1000.0)
    start_wall, start = time.perf_counter(), clock.monotonic()
    clock.sleep(1.0)  # one clock second: 20 ms of wall time
    wall = time.perf_counter() - start_wall
    elapsed = clock.monotonic() - start
    assert 0.015 <= wall < 0.5
    assert 1.0 <= elapsed <= wall * 50 + 0.5
    assert clock.now() == pytest.approx(1000.0 + clock.monotonic(), abs=0.5)
    assert clock.warp == 50.0
    assert clock.wall_timeout(5.0) == pytest.approx(0.1)


@pytest.mark.parametrize("warp", [0, -1.0, float("nan")])
def test_scaled_clock_refuses_a_bad_warp(warp: float) -> None:
    with pytest.raises(ValueError, match="warp must be > 0"):
        ScaledClock(warp)


def test_virtual_clock_auto_advance_sleeps_instantly() -> None:
    clock = VirtualClock(start=10.0)
    start = time.perf_counter()
    clock.sleep(3600.0)  # an hour of simulated time
    clock.sleep_until(7200.0)
    assert time.perf_counter() - start < 0.05
    assert clock.monotonic() == 7200.0
    assert clock.now() == VIRTUAL_EPOCH_S + 7200.0
    clock.sleep(-1.0)
    assert clock.monotonic() == 7200.0


def test_call_at_runs_in_deadline_order_at_the_right_time() -> None:
    clock = VirtualClock()
    fired: list[tuple[str, float]] = []
    for name, when in [("c", 3.0), ("a", 1.0), ("b", 2.0), ("b2", 2.0), ("late", 10.0)]:
        clock.call_at(when, lambda n=name: fired.append((n, clock.monotonic())))
    clock.advance(2.5)
    assert fired == [("a", 1.0), ("b", 2.0), ("b2", 2.0)]  # equal deadlines keep their order
    assert clock.monotonic() == 2.5
    clock.advance_to(5.0)
    assert fired[-1] == ("c", 3.0)
    assert ("late", 10.0) not in fired


def test_a_callback_may_schedule_another() -> None:
    clock = VirtualClock()
    ticks: list[float] = []

    def tick() -> None:
        ticks.append(clock.monotonic())
        if len(ticks) < 5:
            clock.call_at(clock.monotonic() + 0.5, tick)

    clock.call_at(0.5, tick)
    clock.advance(10.0)
    assert ticks == [0.5, 1.0, 1.5, 2.0, 2.5]


def test_virtual_clock_refuses_to_go_backwards() -> None:
    clock = VirtualClock(start=5.0)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-0.1)
    clock.advance_to(1.0)
    assert clock.monotonic() == 5.0


def test_manual_clock_blocks_a_sleeper_until_advanced() -> None:
    clock = VirtualClock(auto_advance=False)
    woke: list[float] = []
    started = threading.Event()

    def sleeper() -> None:
        started.set()
        clock.sleep(1.0)
        woke.append(clock.monotonic())

    thread = threading.Thread(target=sleeper, daemon=True)
    cpu_before = time.process_time()
    thread.start()
    assert started.wait(1.0)
    thread.join(timeout=0.2)
    assert thread.is_alive() and not woke  # blocked: nobody advanced the clock
    clock.advance(0.6)
    thread.join(timeout=0.1)
    assert thread.is_alive() and not woke  # woken, saw 0.6 < 1.0, waits again
    cpu_used = time.process_time() - cpu_before
    assert cpu_used < 0.1, f"the sleeper burned {cpu_used:.3f} s of CPU while blocked: a busy wait"
    clock.advance(0.4)
    thread.join(timeout=1.0)
    assert not thread.is_alive()
    assert woke == [1.0]


def test_make_clock() -> None:
    assert isinstance(make_clock("real"), RealClock)
    scaled = make_clock("scaled", 20.0)
    assert isinstance(scaled, ScaledClock) and scaled.warp == 20.0
    assert isinstance(make_clock("virtual"), VirtualClock)
    with pytest.raises(ValueError, match="unknown clock mode 'fast'; expected one of: real, scaled, paced, virtual"):
        make_clock("fast")
    with pytest.raises(ValueError, match="warp must be > 0"):
        make_clock("scaled", 0.0)


def test_paced_clock_moves_only_when_slept_and_never_faster_than_warp() -> None:
    wall = RealClock()
    clock = PacedClock(100.0, epoch=1000.0)
    start = wall.monotonic()
    clock.sleep(2.0)
    assert clock.monotonic() == 2.0
    assert wall.monotonic() - start >= 0.019  # paced: 2 s of clock take 2 s / warp of wall
    wall.sleep(0.05)  # the wall runs on; the clock does not
    assert clock.monotonic() == 2.0 and clock.now() == 1002.0
    assert clock.slowdowns == 0


def test_a_starved_paced_clock_slows_down_instead_of_bursting_to_catch_up() -> None:
    wall = RealClock()
    clock = PacedClock(10.0, max_lag_s=0.05)
    clock.sleep(0.1)
    wall.sleep(0.3)  # the owner was starved for 0.3 s of wall (3 s of clock at warp 10)
    clock.sleep(0.1)
    assert clock.slowdowns == 1
    assert clock.monotonic() == pytest.approx(0.2)  # it saw no gap: only what it slept
    start = wall.monotonic()
    clock.sleep(1.0)
    assert wall.monotonic() - start >= 0.09  # paced again from here (no catch-up burst)


def test_paced_io_wait_advances_by_the_wall_time_that_passed() -> None:
    clock = PacedClock(10.0)
    waited: list[float] = []
    clock.wait_io(1.0, waited.append)  # a poll that returns at once: hardly any clock time passes
    assert waited and 0.0 < waited[0] <= 0.1
    assert clock.monotonic() < 0.5
    clock.wait_io(1.0, RealClock().sleep)  # a poll that sleeps its full time: the whole second passes
    assert clock.monotonic() == pytest.approx(1.0 + 0.0, abs=0.5)
    assert isinstance(make_clock("paced", 4.0), PacedClock) and make_clock("paced", 4.0).warp == 4.0
