"""What the console tests stand on: a real flight segment over the simulated rover (sim:// devices) and a
real ground core with a real archive.

:class:`HandlerFeed` carries flight's telemetry, events and command statuses into the ground core through
the core's client-callback handlers, the same calls the link client makes, in packets with one sequence
counter. It carries nothing down: a core fed this way has no link, so its role is ``observer``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import Clock, VirtualClock
from flight.app import FlightApp
from ground.archive import Archive
from ground.core import GroundCore
from isru.config import load_config
from sim_hw.registry import install_world
from sim_hw.world import SimWorld

#: The battery channel the alarm scenarios push into its red band, and the sim device that sets it.
BATTERY_CHANNEL = "power.soc"


def flight_config(seed: int = 7) -> Any:
    """The embedded configuration, one short cycle, no prospecting (as tests/test_flight_stack.py)."""
    config = load_config()
    mission = dataclasses.replace(
        config.mission,
        prospect=False,
        cycles=1,
        heat_min_s=600.0,
        heat_max_s=1200.0,
        hopper_target_kg=3.0,
        vent_s=10.0,
    )
    return dataclasses.replace(config, mission=mission, sim=dataclasses.replace(config.sim, seed=seed))


def build_flight(clock: Clock | None = None, seed: int = 7) -> tuple[FlightApp, SimWorld, Clock]:
    """A started flight segment over a simulated world on ``clock`` (a fresh VirtualClock by default)."""
    clock = clock or VirtualClock()
    config = flight_config(seed)
    world = install_world(SimWorld(clock, seed=seed, site=0))
    app = FlightApp(config, clock)
    # Console tests count samples and events per second: every stream at its full rate (the quiet rates have
    # their own tests in tests/flight/test_rates.py).
    app.rates.set_enabled(False)
    failed = app.start()
    assert failed == [], failed
    return app, world, clock


class HandlerFeed:
    """Flight → ground core through the core's ``handle_*`` callbacks, one packet per :meth:`pump`."""

    def __init__(self, app: FlightApp, core: GroundCore) -> None:
        self.app = app
        self.core = core
        self.seq = 0
        self._samples: list[tuple[str, float, Any]] = []
        self._events: list[dict[str, Any]] = []
        self._statuses: list[dict[str, Any]] = []
        app.table.subscribe(lambda name, value, t: self._samples.append((name, t, value)))
        app.events.subscribe(lambda event: self._events.append(event.as_dict()))
        app.dispatcher.on_status(lambda status: self._statuses.append(status.as_dict()))
        core.handle_dictionary(app.dictionary())

    def pump(self) -> int:
        """Deliver what flight produced since the last pump; returns the samples delivered."""
        samples, self._samples = self._samples, []
        events, self._events = self._events, []
        statuses, self._statuses = self._statuses, []
        if samples:
            self.seq += 1
            self.core.handle_telemetry(self.seq, samples)
        for event in events:
            self.seq += 1
            self.core.handle_event(self.seq, event)
        for status in statuses:
            self.core.handle_command_status(status)
        return len(samples)

    def run(self, seconds: float) -> int:
        """Run flight for ``seconds`` of its clock, then pump; returns the samples delivered."""
        self.app.executive.run(duration_s=seconds)
        return self.pump()


def archive_only_core(folder: Path, clock: Clock) -> GroundCore:
    """A ground core with a real archive in ``folder`` and no link (role ``observer``)."""
    return GroundCore(None, Archive(folder / "archive.sqlite"), clock)


class FlightThread:
    """Runs a flight segment's executive in a background thread (for a clock that is not virtual).

    :meth:`call` runs a function on that thread between two control ticks and returns its result, so a
    test touches flight and the simulated world only where flight itself does.
    """

    def __init__(self, app: FlightApp) -> None:
        import queue
        import threading

        self.app = app
        self._calls: queue.Queue = queue.Queue()
        app.executive.add_task("control", "test-calls", self._drain)
        self._thread = threading.Thread(target=app.executive.run, name="flight", daemon=True)

    def start(self) -> FlightThread:
        """Start the executive."""
        self._thread.start()
        return self

    def _drain(self, _now: float) -> None:
        while not self._calls.empty():
            function, done = self._calls.get_nowait()
            try:
                done.set_result(function())
            except Exception as exc:  # handed to the caller of call()
                done.set_exception(exc)

    def call(self, function: Any, timeout_s: float = 10.0) -> Any:
        """``function()`` run on the flight thread; its result (or its exception, raised here)."""
        from concurrent.futures import Future

        done: Future = Future()
        self._calls.put((function, done))
        return done.result(timeout=timeout_s)

    def stop(self) -> None:
        """Stop the executive and wait for the thread."""
        self.app.executive.stop()
        self._thread.join(timeout=10.0)
        assert not self._thread.is_alive(), "flight thread did not stop"
