"""Test hooks of every emulated device, in the manner of gpiozero's mock pins: the history of commands a
device received (:meth:`FirmwareHooks.assert_received`) and telemetry symptoms forced on its sensors
(:meth:`FirmwareHooks.inject_sensor`). :class:`~sim_hw.firmware.Firmware` inherits them."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from hal.icd import DeviceSpec
from sim_hw.errors import FaultParameterError
from sim_hw.fault_params import SENSOR_PARAMS, check_params
from sim_hw.world_view import WorldView


@dataclass(frozen=True)
class Received:
    """One command as the device received it (the test-visible history)."""

    t: float
    name: str
    args: dict[str, Any]
    outcome: str  # "ack", "started", or the NACK code name


@dataclass
class SensorFault:
    """A telemetry symptom forced on one field: ``dropout`` (0), ``stuck``, ``nan`` or ``noise``."""

    kind: str
    until: float
    value: float = 0.0
    sigma: float = 0.0


SENSOR_FAULT_KINDS = ("dropout", "stuck", "nan", "noise")


class FirmwareHooks:
    """History assertions and sensor symptoms; the firmware provides the attributes declared here."""

    spec: DeviceSpec
    world: WorldView
    rng: random.Random
    history: list[Received]
    _sensor_faults: dict[str, SensorFault]

    def telemetry_values(self) -> dict[str, float]:
        """Current value of every device telemetry field, by name (the firmware defines it)."""
        raise AttributeError(f"{type(self).__name__} must define telemetry_values()")

    def inject_sensor(self, field: str, kind: str, duration_s: float = math.inf, sigma: float = 1.0) -> None:
        """Force a telemetry symptom on ``field``: ``dropout`` (reads 0), ``stuck`` (keeps its current
        value), ``nan``, or ``noise`` (adds Gaussian noise of ``sigma`` in the field's unit) for
        ``duration_s`` seconds."""
        if kind not in SENSOR_FAULT_KINDS:
            raise FaultParameterError(f"sensor fault kind {kind!r}; expected one of {SENSOR_FAULT_KINDS}")
        names = {f.name for f in self.spec.telemetry}
        if field not in names:
            raise FaultParameterError(
                f"{self.spec.name} has no telemetry field {field!r}; expected one of {sorted(names)}"
            )
        check_params(f"{self.spec.name}.{kind}", SENSOR_PARAMS, {"duration_s": duration_s, "sigma": sigma})
        current = float(self.telemetry_values()[field])
        self._sensor_faults[field] = SensorFault(kind, self.world.t + duration_s, current, sigma)

    def clear_sensor_faults(self) -> None:
        """Remove every injected sensor symptom."""
        self._sensor_faults.clear()

    def sensed(self, field: str, value: float) -> float:
        """What the firmware reads from sensor ``field`` whose true value is ``value``: the value with any
        injected symptom applied (dropout 0, stuck, NaN, or Gaussian noise)."""
        fault = self._sensor_faults.get(field)
        if fault is None or self.world.t >= fault.until:
            return value
        if fault.kind == "dropout":
            return 0.0
        if fault.kind == "stuck":
            return fault.value
        if fault.kind == "nan":
            return math.nan
        return value + self.rng.gauss(0.0, fault.sigma)

    def _apply_sensor_faults(self, values: dict[str, float]) -> dict[str, float]:
        values = dict(values)
        for name, fault in list(self._sensor_faults.items()):
            if self.world.t >= fault.until:
                del self._sensor_faults[name]
                continue
            fmt = next(f.fmt for f in self.spec.telemetry if f.name == name)
            if fmt == "f":
                values[name] = self.sensed(name, values[name])
            elif fault.kind == "dropout":
                values[name] = 0
            elif fault.kind == "stuck":
                values[name] = int(fault.value)
        return values

    def received(self, name: str) -> list[Received]:
        """Every recorded command called ``name``."""
        return [r for r in self.history if r.name == name]

    def assert_received(self, name: str, outcome: str | None = None, **args: Any) -> Received:
        """Assert the device received command ``name`` (with these argument values and outcome, if
        given; floats compared to 1e-6 relative) and return the latest such record."""
        for record in reversed(self.history):
            if record.name != name or (outcome is not None and record.outcome != outcome):
                continue
            if all(_close(record.args.get(k), v) for k, v in args.items()):
                return record
        seen = [(r.name, r.args, r.outcome) for r in self.history[-10:]]
        raise AssertionError(f"{self.spec.name} never received {name} {args} ({outcome}); last: {seen}")

    def assert_not_received(self, name: str) -> None:
        """Assert the device never received command ``name``."""
        hits = self.received(name)
        if hits:
            raise AssertionError(f"{self.spec.name} received {name} {len(hits)} time(s): {hits[-1]}")


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9)
    return a == b
