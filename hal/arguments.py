"""Host-side checks of a command before a byte is sent: its name, its arguments' names and types, the
ICD's firmware ranges and the configured operating limits."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from hal.errors import CommandError
from hal.icd import Command, DeviceSpec, Field
from hal.limits import OperatingLimits, unit_suffix


def validate_command(
    spec: DeviceSpec, limits: OperatingLimits, device_name: str, name: str, args: Mapping[str, Any]
) -> tuple[Command, dict[str, int | float]]:
    """The command ``name`` of ``spec`` and its argument values, coerced to the ICD types.

    Raises :class:`~hal.errors.CommandError` for an unknown command, missing, extra or ill-typed
    arguments, a value outside the ICD range or beyond a configured limit (``device_name`` names the
    device in the message).
    """
    try:
        command = spec.command(name)
    except KeyError as exc:
        raise CommandError(exc.args[0]) from None
    expected = [a.name for a in command.args]
    missing = [a for a in expected if a not in args]
    extra = sorted(set(args) - set(expected))
    if missing or extra:
        raise CommandError(f"{device_name}.{name} takes arguments {expected}; missing {missing}, unexpected {extra}")
    values = {arg.name: _coerce(device_name, command, arg, args[arg.name]) for arg in command.args}
    for arg in command.args:
        value = values[arg.name]
        if not arg.in_range(value):
            raise CommandError(
                f"{device_name}.{name}: {arg.name} = {value:g}{unit_suffix(arg.unit)} is outside the ICD range "
                f"{_range_text(arg)}"
            )
        limits.check_argument(name, arg, value)
    return command, values


def _coerce(device_name: str, command: Command, arg: Field, value: Any) -> int | float:
    """``value`` as the ICD type of ``arg``: a finite float for ``f`` fields, an integer otherwise."""
    where = f"{device_name}.{command.name}: {arg.name}"
    if isinstance(value, bool):
        value = int(value)
    if arg.fmt == "f":
        if not isinstance(value, numbers.Real):
            raise CommandError(f"{where} must be a number in {arg.unit or 'no unit'}, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise CommandError(f"{where} must be finite, got {value!r}")
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        real = float(value)
        if not math.isfinite(real) or not real.is_integer():
            raise CommandError(f"{where} must be an integer, got {value!r}")
        value = int(real)
    if not isinstance(value, numbers.Integral):
        raise CommandError(f"{where} must be an integer, got {value!r}")
    return int(value)


def _range_text(arg: Field) -> str:
    """The ICD range of ``arg`` in words, e.g. ``0..600 rpm``."""
    lo = "-inf" if arg.lo is None else f"{arg.lo:g}"
    hi = "inf" if arg.hi is None else f"{arg.hi:g}"
    return f"{lo}..{hi}{unit_suffix(arg.unit)}"


__all__ = ["validate_command"]
