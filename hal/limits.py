"""Configured operating limits of one device: which a driver understands, their values from the
configuration, the command arguments they bound and the telemetry values beyond them.

Limits are the rig's own bounds, tighter than the ICD's firmware ranges; values are in each limit's unit.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from base.config_loader import ConfigError
from hal.errors import CommandError
from hal.icd import Field
from hal.telemetry import TelemetryBase


@dataclass(frozen=True)
class Limit:
    """An operating limit a driver understands, set per device in the configuration.

    ``args`` are the ``(command, argument)`` pairs it bounds before a command is sent (by absolute value
    for signed arguments); ``telemetry`` names the telemetry attribute it bounds, checked by
    :meth:`OperatingLimits.violations` (flight acts on those). ``kind`` is ``max`` or ``min``.
    """

    name: str
    unit: str
    doc: str
    args: tuple[tuple[str, str], ...] = ()
    telemetry: str | None = None
    kind: str = "max"

    def allows(self, value: float, bound: float) -> bool:
        """True if ``value`` respects this limit set to ``bound``."""
        return abs(value) <= bound if self.kind == "max" else value >= bound


@dataclass(frozen=True)
class LimitViolation:
    """A telemetry value beyond a configured limit."""

    limit: str
    value: float
    bound: float
    text: str


class OperatingLimits:
    """The limits of ``known`` that the configuration sets for device ``device_name``.

    ``values`` maps limit names to values in the limit's unit. Raises
    :class:`~base.config_loader.ConfigError` for a limit the driver does not understand or a value that
    is not a finite number.
    """

    def __init__(self, device_name: str, known: Iterable[Limit], values: Mapping[str, float]) -> None:
        self.device_name = device_name
        self.known = tuple(known)
        self.values: dict[str, float] = self._checked(values)
        self._by_argument: dict[tuple[str, str], list[Limit]] = {}
        for limit in self.known:
            if limit.name in self.values:
                for target in limit.args:
                    self._by_argument.setdefault(target, []).append(limit)

    def _checked(self, values: Mapping[str, float]) -> dict[str, float]:
        known = {limit.name: limit for limit in self.known}
        checked: dict[str, float] = {}
        for key, value in values.items():
            if key not in known:
                raise ConfigError(
                    f"device {self.device_name}", f"limits.{key}", f"one of the limits {sorted(known)}", f"{key!r}"
                )
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise ConfigError(
                    f"device {self.device_name}", f"limits.{key}", f"a finite number in {known[key].unit}", repr(value)
                )
            if known[key].kind == "max" and value <= 0:  # bounds the size of a value: 0 or less allows nothing
                raise ConfigError(
                    f"device {self.device_name}",
                    f"limits.{key}",
                    f"a number above 0 in {known[key].unit} (a maximum of the value's size)",
                    repr(value),
                )
            checked[key] = float(value)
        return checked

    def check_argument(self, command: str, arg: Field, value: float) -> None:
        """Raise :class:`~hal.errors.CommandError` if ``value`` of argument ``arg`` of ``command`` is beyond
        a configured limit."""
        for limit in self._by_argument.get((command, arg.name), ()):
            bound = self.values[limit.name]
            if not limit.allows(value, bound):
                word = "exceeds" if limit.kind == "max" else "is below"
                raise CommandError(
                    f"{self.device_name}.{command}: {arg.name} = {value:g}{unit_suffix(arg.unit)} {word} the "
                    f"configured limit {limit.name} = {bound:g}{unit_suffix(limit.unit)}"
                )

    def violations(self, snapshot: TelemetryBase | None) -> list[LimitViolation]:
        """Configured telemetry limits ``snapshot`` is beyond (empty without a snapshot)."""
        if snapshot is None:
            return []
        out = []
        for limit in self.known:
            if limit.telemetry is None or limit.name not in self.values:
                continue
            value = getattr(snapshot, limit.telemetry)
            if value is None or not isinstance(value, numbers.Real) or math.isnan(value):
                continue
            reading = float(value)
            bound = self.values[limit.name]
            if not limit.allows(reading, bound):
                word = "above" if limit.kind == "max" else "below"
                out.append(
                    LimitViolation(
                        limit.name,
                        reading,
                        bound,
                        f"{self.device_name}: {limit.telemetry} = {value:g} {limit.unit} is {word} "
                        f"the limit {limit.name} = {bound:g} {limit.unit}",
                    )
                )
        return out


def unit_suffix(unit: str) -> str:
    """`` unit`` to append to a number, or "" for a dimensionless value."""
    return f" {unit}" if unit else ""


__all__ = ["Limit", "LimitViolation", "OperatingLimits", "unit_suffix"]
