"""Checking a fault before it is injected: the device exists, it has that kind of fault, and the parameters are
the ones that kind takes, with values of the right type and range (what :meth:`SimWorld.inject` would do with
them, checked without a world). Used where faults are parsed (``isru demo --inject``) so a bad one is refused
before the run, naming what was wrong and what was expected.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from sim_hw.devices import firmware_class
from sim_hw.errors import FaultParameterError, UnknownFaultError
from sim_hw.firmware import SENSOR_FAULT_KINDS

#: Line faults (any device): kind → {parameter: (lowest, highest)}.
LINE_FAULTS: dict[str, dict[str, tuple[float, float]]] = {
    "corrupt": {"rate": (0.0, 1.0)},
    "drop": {"rate": (0.0, 1.0)},
    "latency": {"seconds": (0.0, 60.0)},
    "disconnect": {},
    "reconnect": {},
    "clear_line": {},
}
#: Sensor symptoms (any device, ``field`` one of its telemetry fields): numeric parameters and their ranges.
SENSOR_PARAMS: dict[str, tuple[float, float]] = {"duration_s": (0.0, math.inf), "sigma": (0.0, math.inf)}


def fault_kinds(device: str) -> list[str]:
    """Every fault kind ``device`` accepts (raises ``UnknownDeviceError`` naming the known devices)."""
    firmware = firmware_class(device)
    hooks = sorted(name[len("inject_") :] for name in dir(firmware) if name.startswith("inject_"))
    hooks = [h for h in hooks if h not in ("fault", "sensor")]
    return [*LINE_FAULTS, *SENSOR_FAULT_KINDS, *hooks]


def check_fault(device: str, kind: str, params: dict[str, Any]) -> None:
    """Raise ``UnknownDeviceError``, ``UnknownFaultError`` or ``FaultParameterError`` naming what is wrong."""
    kinds = fault_kinds(device)
    if kind not in kinds:
        raise UnknownFaultError(f"{device} has no fault {kind!r}; expected one of {kinds}")
    if kind in LINE_FAULTS:
        _check_numbers(device, kind, params, LINE_FAULTS[kind])
        return
    if kind in SENSOR_FAULT_KINDS:
        fields = sorted(f.name for f in firmware_class(device).spec.telemetry)
        if params.get("field") not in fields:
            raise FaultParameterError(
                f"{device}.{kind}: field={params.get('field')!r}; expected field=<one of {fields}>"
            )
        _check_numbers(device, kind, {k: v for k, v in params.items() if k != "field"}, SENSOR_PARAMS)
        return
    signature = inspect.signature(getattr(firmware_class(device), f"inject_{kind}"))
    accepted = {name: p for name, p in signature.parameters.items() if name != "self"}
    for name, value in params.items():
        if name not in accepted:
            raise FaultParameterError(
                f"{device}.{kind}: no parameter {name!r}; expected one of {sorted(accepted) or 'none'}"
            )
        annotation = str(accepted[name].annotation)
        if "bool" in annotation:
            if value not in (0.0, 1.0):  # True and False included
                raise FaultParameterError(f"{device}.{kind}: {name}={value!r}; expected true, false, 1 or 0")
        elif "float" in annotation and not isinstance(value, float):
            raise FaultParameterError(f"{device}.{kind}: {name}={value!r}; expected a number")


def _check_numbers(device: str, kind: str, params: dict[str, Any], ranges: dict[str, tuple[float, float]]) -> None:
    for name, value in params.items():
        if name not in ranges:
            raise FaultParameterError(
                f"{device}.{kind}: no parameter {name!r}; expected one of {sorted(ranges) or 'none'}"
            )
        lo, hi = ranges[name]
        if not isinstance(value, float) or not lo <= value <= hi:
            raise FaultParameterError(f"{device}.{kind}: {name}={value!r}; expected a number in {lo:g}..{hi:g}")
