"""Checking a fault before it is injected: the device exists (and is fitted, when the caller says which devices
are), it has that kind of fault, and every parameter is one that kind takes with a value in its declared range
or choices (:mod:`sim_hw.fault_params`: the same declaration the emulator's hook checks when called). Used
where faults are parsed (``isru demo --inject``) and scheduled (:meth:`SimWorld.schedule`), so a bad one is
refused before the run, naming what was wrong and what was expected.
"""

from __future__ import annotations

import inspect
from collections.abc import Collection
from typing import Any

from sim_hw.devices import firmware_class
from sim_hw.errors import FaultParameterError, UnknownDeviceError, UnknownFaultError
from sim_hw.fault_params import LINE_FAULTS, SENSOR_PARAMS, FaultParam, check_params, choice, declared_params
from sim_hw.firmware import SENSOR_FAULT_KINDS, Firmware

__all__ = ["LINE_FAULTS", "check_fault", "check_fault_on", "fault_kinds", "fault_params"]


def fault_kinds(device: str) -> list[str]:
    """Every fault kind ``device`` accepts (raises ``UnknownDeviceError`` naming the known devices)."""
    return _kinds(firmware_class(device))


def _kinds(firmware: type[Firmware]) -> list[str]:
    hooks = sorted(name[len("inject_") :] for name in dir(firmware) if name.startswith("inject_"))
    hooks = [h for h in hooks if h not in ("fault", "sensor")]
    return [*LINE_FAULTS, *SENSOR_FAULT_KINDS, *hooks]


def fault_params(device: str, kind: str) -> dict[str, FaultParam]:
    """The parameters fault ``kind`` of ``device`` takes, as declared (raises ``UnknownDeviceError`` or
    ``UnknownFaultError``; an undeclared hook — a test's purpose-built firmware — raises ``UnknownFaultError``)."""
    firmware = firmware_class(device)
    declared = _declared(firmware, device, kind)
    if declared is None:
        raise UnknownFaultError(f"{device}.{kind} declares no parameters")
    return declared


def _declared(firmware: type[Firmware], device: str, kind: str) -> dict[str, FaultParam] | None:
    if kind == "fault":  # a forced fault bit (Firmware.inject_fault): not a symptom of its own, so not listed
        return {"name": choice(firmware.spec.faults)}
    kinds = _kinds(firmware)
    if kind not in kinds:
        raise UnknownFaultError(f"{device} has no fault {kind!r}; expected one of {kinds}")
    if kind in LINE_FAULTS:
        return dict(LINE_FAULTS[kind])
    if kind in SENSOR_FAULT_KINDS:
        fields = sorted(f.name for f in firmware.spec.telemetry)
        return {"field": choice(fields), **SENSOR_PARAMS}
    declared = declared_params(getattr(firmware, f"inject_{kind}"))
    return None if declared is None else dict(declared)


def check_fault(device: str, kind: str, params: dict[str, Any], fitted: Collection[str] | None = None) -> None:
    """Raise ``UnknownDeviceError``, ``UnknownFaultError`` or ``FaultParameterError`` naming what is wrong.

    ``fitted``: the devices the configured rover has (its ``[devices]`` table); a fault on any other device is
    refused naming them (the emulator exists, but nothing would ever talk to it)."""
    firmware = firmware_class(device)
    if fitted is not None and device not in fitted:
        raise UnknownDeviceError(f"this configuration has no {device}; its devices are {sorted(fitted)}")
    check_fault_on(firmware, device, kind, params)


def check_fault_on(firmware: type[Firmware], device: str, kind: str, params: dict[str, Any]) -> None:
    """:func:`check_fault` for emulator class ``firmware`` under the name ``device`` (a world's own device)."""
    declared = _declared(firmware, device, kind)
    required = "field" if kind in SENSOR_FAULT_KINDS else "name" if kind == "fault" else None
    if declared is not None and required is not None and required not in params:
        expected = declared[required].expected()
        raise FaultParameterError(f"{device}.{kind}: {required}=None; expected {required}=<{expected}>")
    if declared is not None:
        check_params(f"{device}.{kind}", declared, params)
        return
    # A hook without a declaration (purpose-built test firmware): its names at least.
    signature = inspect.signature(getattr(firmware, f"inject_{kind}"))
    accepted = [name for name in signature.parameters if name != "self"]
    for name in params:
        if name not in accepted:
            raise FaultParameterError(
                f"{device}.{kind}: no parameter {name!r}; expected one of {sorted(accepted) or 'none'}"
            )
