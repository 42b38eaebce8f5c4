"""Faults are checked before they are injected: device, kind, parameter names, types and ranges; every kind a
device lists is one :meth:`SimWorld.inject` carries out."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from base.clock import VirtualClock
from sim_hw.devices import DEVICE_NAMES, firmware_class
from sim_hw.errors import FaultParameterError, SimError, UnknownDeviceError, UnknownFaultError
from sim_hw.fault_params import FaultParam, declares, number
from sim_hw.fault_specs import check_fault, fault_kinds, fault_params
from sim_hw.firmware import SENSOR_FAULT_KINDS
from sim_hw.world import SimWorld


@pytest.mark.parametrize(
    ("device", "kind", "params", "error", "named"),
    [
        ("drill", "stal", {}, UnknownFaultError, "expected one of"),
        ("nodevice", "stall", {}, UnknownDeviceError, "nodevice"),
        ("drill", "stall", {"extra": 3.0}, FaultParameterError, "'extra'"),
        ("drill", "stall", {"extra_Nm": "lots"}, FaultParameterError, "expected a finite number > 0"),
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


# --------------------------------------------------------------------------- one declaration, both sides
@pytest.mark.parametrize(
    ("device", "kind", "params", "named"),
    [
        ("power", "low_battery", {"soc": -1.0}, "soc=-1.0; expected a finite number in 0..1"),
        ("drive", "wheel_stall", {"side": "up"}, "side='up'; expected one of ['left', 'right', 'both']"),
        ("drill", "overtemp", {"kelvin": math.nan}, "kelvin=nan; expected a finite number > 0"),
    ],
)
def test_the_reported_bad_values_are_refused_by_the_check_and_by_the_emulator(
    device: str, kind: str, params: dict[str, Any], named: str
) -> None:
    with pytest.raises(FaultParameterError, match=re.escape(f"{device}.{kind}: {named}")):
        check_fault(device, kind, params)
    world = SimWorld(VirtualClock(), seed=1)
    with pytest.raises(FaultParameterError, match=re.escape(named)):
        world.schedule(10.0, device, kind, **params)  # refused when scheduled, not when it falls due
    with pytest.raises(FaultParameterError, match=re.escape(named)):
        world.inject(device, kind, **params)


def test_a_fault_on_a_device_the_configuration_does_not_fit_is_refused_naming_those_it_has() -> None:
    fitted = ("anchor", "drill", "drive", "extractor", "imu", "power", "scoop")
    with pytest.raises(UnknownDeviceError, match=r"no hopper; its devices are \['anchor', 'drill', 'drive'"):
        check_fault("hopper", "failed_hop", {}, fitted)
    check_fault("hopper", "failed_hop", {}, (*fitted, "hopper"))


def _sample(device: str, kind: str) -> dict[str, Any]:
    """Parameters a check needs whatever is tested (a sensor symptom names its field)."""
    if kind in SENSOR_FAULT_KINDS:
        return {"field": firmware_class(device).spec.telemetry[0].name}
    return {}


def _refused_numbers(param: FaultParam) -> list[float]:
    """Values just outside ``param``'s declared range, and the non-finite ones it does not take."""
    values = [math.nan, -math.inf]
    values.append(param.lo if param.above else math.nextafter(param.lo, -math.inf))
    if math.isfinite(param.hi):
        values.append(math.nextafter(param.hi, math.inf))
    if not param.forever:
        values.append(math.inf)
    return values


def _accepted_number(param: FaultParam) -> float:
    lo = param.lo if math.isfinite(param.lo) else 0.0
    return (lo + param.hi) / 2.0 if math.isfinite(param.hi) else lo + 1.0


@pytest.mark.parametrize("device", DEVICE_NAMES)
def test_every_declared_parameter_refuses_nan_and_out_of_range_at_parse_time_as_the_emulator_does(
    device: str,
) -> None:
    numbers = 0
    for kind in fault_kinds(device):
        declared = fault_params(device, kind)  # every kind has a declaration (UnknownFaultError if not)
        base = _sample(device, kind)
        for name, param in declared.items():
            if name in base:
                continue
            if param.type == "number":
                numbers += 1
                for value in _refused_numbers(param):
                    with pytest.raises(FaultParameterError, match=f"{device}.{kind}: {name}="):
                        check_fault(device, kind, {**base, name: value})
                    world = SimWorld(VirtualClock(), seed=1)
                    with pytest.raises(FaultParameterError, match=f"{name}="):
                        world.inject(device, kind, **{**base, name: value})
                good = {**base, name: _accepted_number(param)}
                check_fault(device, kind, good)
                SimWorld(VirtualClock(), seed=1).inject(device, kind, **good)
            else:
                refused: tuple[object, ...] = ("maybe", 2.0, math.nan)
                for bad in refused:
                    with pytest.raises(FaultParameterError, match=re.escape(param.expected())):
                        check_fault(device, kind, {**base, name: bad})
    assert numbers >= 4  # each device has the line faults' and sensor symptoms' numbers at least


def test_a_hook_whose_declaration_disagrees_with_its_parameters_is_refused_at_import() -> None:
    with pytest.raises(TypeError, match=r"takes \['soc'\] but declares \['charge'\]"):

        @declares(charge=number(0.0, 1.0))
        def inject_low_battery(self: Any, soc: float = 0.15) -> None:
            """A hook naming one parameter and declaring another."""


def test_a_forced_fault_bit_names_one_of_the_device_s_faults() -> None:
    check_fault("power", "fault", {"name": "sensor"})
    with pytest.raises(FaultParameterError, match=r"power.fault: name='sensr'; expected one of \["):
        check_fault("power", "fault", {"name": "sensr"})
    with pytest.raises(FaultParameterError, match=re.escape("power.fault: name=None; expected name=<one of")):
        check_fault("power", "fault", {})
