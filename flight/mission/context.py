"""What every phase and skill of the mission works through, and the shape of an activity.

An *activity* is a generator that issues device commands through the interlocks and yields once per tick
while it waits; when it returns, it names the trigger to fire and the reason. Phases hand the machine one
activity factory per leaf state (:class:`Phase`); skills are the steps activities are built from.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Mapping
from typing import Any, Protocol

from flight.errors import FlightError
from flight.events import EventLog
from flight.interlocks import Interlocks
from flight.mission.params import LiveMissionConfig
from flight.mission.progress import MissionProgress
from flight.mission.resting_gyro import RestingGyro
from flight.mission_config import MissionConfig
from flight.telemetry import TelemetryTable
from hal.devices.imu import ImuTelemetry

#: A leaf's work: yields once per tick, returns (trigger, reason).
Activity = Generator[None, None, tuple[str, str]]

#: The set points the mission reads: the configuration, or its live parameter values.
MissionSettings = MissionConfig | LiveMissionConfig


class MissionFailure(FlightError):
    """An activity could not go on; the machine goes to SAFE with this reason."""


class UnrecoverableFailure(MissionFailure):
    """An activity failed in a way no retry mends and the hardware must be made safe (a rover lost off the
    surface): the recovery ladder goes straight to SAFE."""


class Phase(Protocol):
    """A top-level state's work: an activity factory for each of its leaves."""

    def activities(self) -> Mapping[str, Callable[[], Activity]]:
        """Leaf name (``extract_drill``) → a function starting that leaf's activity."""
        ...


class MissionContext:
    """The interlocks (the only path to the actuators), telemetry, events, clock, set points and progress.

    ``progress`` is replaced when the mission is restored after a restart, so phases and skills read it
    from here each time rather than keeping their own reference.
    """

    def __init__(
        self,
        io: Interlocks,
        table: TelemetryTable,
        events: EventLog,
        config: MissionSettings,
        progress: MissionProgress,
    ) -> None:
        self.io = io
        self.table = table
        self.events = events
        self.clock = events.clock
        self.config = config
        self.progress = progress
        #: The gyro's yaw bias measured while the rover rests (:mod:`flight.mission.resting_gyro`).
        self.gyro = RestingGyro(lambda channel: float(self.get(channel, math.nan)), self._imu_uptime, self.now)

    def imu_sample(self) -> ImuTelemetry | None:
        """The IMU's latest snapshot; None without an IMU or before its first."""
        rig = self.io.rig
        return rig.device("imu").telemetry if "imu" in rig else None

    def _imu_uptime(self) -> float | None:
        """The IMU's uptime (s) in its latest snapshot; None without an IMU or before its first."""
        sample = self.imu_sample()
        return sample.uptime_s if sample is not None else None

    def get(self, channel: str, default: Any = 0.0) -> Any:
        """The latest value of telemetry ``channel`` (``default`` if it has none yet)."""
        value = self.table.get(channel, default)
        return default if value is None else value

    def now(self) -> float:
        """Monotonic clock time, s."""
        return self.clock.monotonic()
