"""Faults are checked before they are injected: device, kind, parameter names, types and ranges; every kind a
device lists is one :meth:`SimWorld.inject` carries out."""

from __future__ import annotations

from typing import Any

import pytest

from base.clock import VirtualClock
from sim_hw.devices import DEVICE_NAMES, firmware_class
from sim_hw.errors import FaultParameterError, SimError, UnknownDeviceError, UnknownFaultError
from sim_hw.fault_specs import check_fault, fault_kinds
from sim_hw.world import SimWorld


@pytest.mark.parametrize(
    ("device", "kind", "params", "error", "named"),
    [
        ("drill", "stal", {}, UnknownFaultError, "expected one of"),
        ("nodevice", "stall", {}, UnknownDeviceError, "nodevice"),
        ("drill", "stall", {"extra": 3.0}, FaultParameterError, "'extra'"),
        ("drill", "stall", {"extra_Nm": "lots"}, FaultParameterError, "expected a number"),
        ("anchor", "slip", {"active": "maybe"}, FaultParameterError, "true, false"),
        ("drill", "corrupt", {"rate": 2.0}, FaultParameterError, "0..1"),
        ("drill", "disconnect", {"rate": 0.5}, FaultParameterError, "'rate'"),
        ("extractor", "nan", {"field": "temp"}, FaultParameterError, "chamber_temp_K"),
        ("extractor", "noise", {"field": "pressure_Pa", "sigma": -1.0}, FaultParameterError, "sigma"),
    ],
)
def test_a_bad_fault_is_refused_naming_what_was_wrong(
    device: str, kind: str, params: dict[str, Any], error: type[SimError], named: str
) -> None:
    with pytest.raises(error, match=named):
        check_fault(device, kind, params)


@pytest.mark.parametrize("device", DEVICE_NAMES)
def test_every_listed_kind_with_its_defaults_is_accepted_and_injects(device: str) -> None:
    world = SimWorld(VirtualClock(), seed=1)
    for kind in fault_kinds(device):
        params: dict[str, Any] = {}
        if kind in ("dropout", "stuck", "nan", "noise"):
            params = {"field": firmware_class(device).spec.telemetry[0].name, "duration_s": 1.0}
        check_fault(device, kind, params)
        world.inject(device, kind, **params)
