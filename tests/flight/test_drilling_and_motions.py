"""Drilling and motions under conditions the happy path never meets.

The real flight segment over emulators behind ``sim://`` on a virtual clock, with the short mission of
``test_fault_each_state`` (settings overridden per test):

* a stall that arrives between bites is climbed by the stall ladder, and a hole that ends with a short batch
  is topped up from another hole before heating;
* the torque limiter acts once per fresh drill sample, not once per mission tick on a stale one;
* after each motion the mission reads the device's next sample, so a mission ticking faster than the
  devices stream does not act on the state from before the motion ended.
"""

from __future__ import annotations

import itertools

from flight.dispatcher import Stage
from flight.events import Event
from flight.mission.extract import SHORT_BATCH_SHARE
from sim_hw.registry import uninstall_world
from tests.flight.test_fault_each_state import CASES, build

LIMIT_S = 3600.0


def test_a_short_batch_is_topped_up_from_another_hole_before_heating() -> None:
    app, world, clock = build(CASES["extract-drill-stall"], hopper_target_kg=3.0, drill_depth_m=1.0)
    events: list[Event] = []
    app.events.subscribe(events.append)
    target = app.config.mission.hopper_target_kg
    try:
        status = app.dispatcher.submit("mission.start", {"cycles": 1}, source="test")
        assert status.stage == Stage.COMPLETED, status
        limit = clock.monotonic() + LIMIT_S
        extractor = world.device("extractor")
        app.executive.run(until=lambda: extractor.chamber.loaded_kg > 0.0 or clock.monotonic() > limit)
        first = extractor.chamber.loaded_kg
        assert 0.0 < first < SHORT_BATCH_SHARE * target, first
        world.inject("drill", "stall")  # the ground turns too hard for the auger from here on, in this hole
        app.executive.run(until=lambda: app.mission.state == "prospect_travel" or clock.monotonic() > limit)
        short = [e for e in events if e.name == "batch_short"]
        assert app.mission.state == "prospect_travel" and len(short) == 1, [e.message for e in events][-8:]
        assert "another hole fills it before heating" in short[0].message
        world.inject("drill", "stall", active=False)
        app.executive.run(until=lambda: app.mission.state == "process_seal" or clock.monotonic() > limit)
        assert app.mission.state == "process_seal"
        assert extractor.chamber.loaded_kg >= SHORT_BATCH_SHARE * target > first
        assert app.mission.progress.hole_offset == 1
    finally:
        app.close()
        uninstall_world()


def test_the_torque_limiter_slows_the_feed_once_per_fresh_drill_sample() -> None:
    """With the mission ticking five times per drill sample, a torque over the limit halves the feed once per
    sample that arrived after the last change, not once per tick on the same stale reading."""
    app, _world, clock = build(
        CASES["extract-drill-stall"],
        torque_limit_Nm=1.0,
        rates={"mission_hz": 50.0},
        drill_depth_m=1.0,
        hopper_target_kg=3.0,
    )
    events: list[Event] = []
    app.events.subscribe(events.append)
    drill = app.rig.device("drill")
    samples: set[float] = set()
    slowed_at: list[int] = []  # distinct samples seen when each feed_slowed came

    def watch() -> bool:
        if drill.telemetry is not None and app.mission.state == "extract_drill":
            samples.add(drill.telemetry.t)
        slowed = sum(1 for e in events if e.name == "feed_slowed")
        while len(slowed_at) < slowed:
            slowed_at.append(len(samples))
        return len(slowed_at) >= 4 or clock.monotonic() > limit

    try:
        assert app.dispatcher.submit("mission.start", {"cycles": 1}, source="test").stage == Stage.COMPLETED
        limit = clock.monotonic() + LIMIT_S
        app.executive.run(until=watch)
        assert len(slowed_at) >= 4, [e.message for e in events][-5:]
        assert all(later > earlier for earlier, later in itertools.pairwise(slowed_at)), slowed_at
    finally:
        app.close()
        uninstall_world()


def test_a_mission_ticking_faster_than_the_devices_stream_reads_what_its_motions_left() -> None:
    """At 50 Hz the mission used to heat on the lid sample from before the seal ended, and the interlocks (on
    fresh data) refused the heater and sent it SAFE; after each motion it now waits for the device's next
    sample, so the cycle completes."""
    app, _world, clock = build(CASES["extract-drill-stall"], rates={"mission_hz": 50.0})
    try:
        assert app.dispatcher.submit("mission.start", {"cycles": 1}, source="test").stage == Stage.COMPLETED
        limit = clock.monotonic() + LIMIT_S
        app.executive.run(until=lambda: app.mission.state in ("idle", "safe", "hold") or clock.monotonic() > limit)
        assert app.mission.state == "idle", [e.message for e in app.events.recent if e.source == "mission"][-4:]
        assert app.mission.progress.cycle == 1 and app.mission.progress.regolith_kg > 0.0  # a minute of heating
    finally:
        app.close()
        uninstall_world()


def test_a_fresh_batch_waits_for_the_chamber_to_cool_before_the_first_cuttings() -> None:
    """After a heat the chamber is hot; icy cuttings falling into it through the open lid would sublime and
    leave. The next cycle's first bite waits until the chamber is below ``load_max_K``."""
    app, world, clock = build(CASES["extract-drill-stall"], load_max_K=260.0, heat_max_s=600.0)
    events: list[Event] = []
    app.events.subscribe(events.append)
    extractor, drill = world.device("extractor"), world.device("drill")
    first_feed: list[float] = []

    def watch() -> bool:
        if app.mission.progress.cycle == 1 and drill.motion == "feed" and not first_feed:
            first_feed.append(extractor.chamber.temp_K)
        return bool(first_feed) or app.mission.state in ("safe", "hold") or clock.monotonic() > limit

    try:
        assert app.dispatcher.submit("mission.start", {"cycles": 2}, source="test").stage == Stage.COMPLETED
        limit = clock.monotonic() + 6 * 3600.0
        app.executive.run(until=watch)
        cooling = [e.message for e in events if e.name == "chamber_cooling"]
        assert len(cooling) == 1 and "below 260 K" in cooling[0], [e.message for e in events][-5:]
        assert first_feed and first_feed[0] <= 260.0
    finally:
        app.close()
        uninstall_world()


def test_a_worked_out_trench_ends_the_scooping_and_the_batch_is_heated() -> None:
    """A dig that ends BLOCKED because the trench is as deep as the arm reaches ends the scooping for this
    batch: the bucket is lifted and what the hopper holds is heated (before, the dig failed twice and the
    mission held for the ground — seen in cycle 8 of an asteroid campaign)."""
    from sim_hw.devices.scoop import MAX_REACH_DEPTH_M

    app, world, clock = build(CASES["extract-drill-stall"], hopper_target_kg=3.0)
    events: list[Event] = []
    app.events.subscribe(events.append)
    scoop = world.device("scoop")
    try:
        assert app.dispatcher.submit("mission.start", {"cycles": 1}, source="test").stage == Stage.COMPLETED
        limit = clock.monotonic() + LIMIT_S
        app.executive.run(until=lambda: app.mission.state == "extract_scoop" or clock.monotonic() > limit)
        assert app.mission.state == "extract_scoop"
        site = world.site
        assert site is not None
        scoop.trench_m[site.index] = MAX_REACH_DEPTH_M  # type: ignore[attr-defined]
        app.executive.run(until=lambda: app.mission.state != "extract_scoop" or clock.monotonic() > limit)
        assert app.mission.state == "process_seal", [e.message for e in events if e.source == "mission"][-4:]
        ended = [e.message for e in events if e.name == "trench_ended"]
        assert len(ended) == 1 and "BLOCKED on pass 1" in ended[0]
        assert world.device("extractor").chamber.loaded_kg > 0.0
    finally:
        app.close()
        uninstall_world()


def test_a_worked_out_trench_with_an_empty_hopper_moves_the_mission_to_the_next_site() -> None:
    """The drill gave nothing (it stalls from the first bite, so the mission scoops instead) and the trench
    is as deep as the arm reaches: with the hopper empty there is nothing to heat, so the mission withdraws
    and moves to the next site that holds water (before, it held for the ground: the tenth cycle of an
    asteroid campaign)."""
    from sim_hw.devices.scoop import MAX_REACH_DEPTH_M

    app, world, clock = build(CASES["extract-drill-stall"], hopper_target_kg=3.0)
    transitions: list[Event] = []
    app.events.subscribe(lambda e: transitions.append(e) if e.name == "transition" else None)
    try:
        assert app.dispatcher.submit("mission.start", {"cycles": 1}, source="test").stage == Stage.COMPLETED
        limit = clock.monotonic() + LIMIT_S
        app.executive.run(until=lambda: app.mission.state == "extract_drill" or clock.monotonic() > limit)
        progress = app.mission.progress
        assert app.mission.state == "extract_drill" and world.site is not None
        worked = progress.site
        # the other candidate (2.5 m away) probed as holding water, ranked below this one
        progress.scores = {worked: 1.0, 1 - worked: 0.5}
        world.device("scoop").trench_m[world.site.index] = MAX_REACH_DEPTH_M  # type: ignore[attr-defined]
        world.inject("drill", "stall")
        app.executive.run(
            until=lambda: app.mission.state in ("prospect_travel", "hold", "safe") or clock.monotonic() > limit
        )
        messages = [e.message for e in transitions]
        assert app.mission.state == "prospect_travel", messages[-5:]
        assert f"trench at site {worked} worked out with the hopper empty; moving to site" in messages[-1]
        assert messages[-1].startswith("extract_scoop → prospect_travel")
        assert progress.site != worked and progress.hole_offset == 0 and progress.hole_m == 0.0
        assert world.device("extractor").chamber.loaded_kg == 0.0
    finally:
        app.close()
        uninstall_world()
