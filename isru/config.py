"""The configuration file as a whole: one TOML file, one typed object.

Each section's schema belongs to the package that uses it; this module only composes them and knows
where the embedded default lives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from base.config_loader import ConfigError, load_file, load_text, read_toml, setting
from flight.config import FlightConfig
from flight.mission_config import MissionConfig
from ground.config import GroundConfig
from hal.config import DeviceConfig, TransportConfig
from link.config import LinkConfig
from sim_hw.config import SimConfig

__all__ = ["ClockConfig", "ConfigError", "IsruConfig", "default_config_path", "derived_config_text", "load_config"]


@dataclass(frozen=True)
class ClockConfig:
    """Which clock runs the process."""

    mode: str = setting(
        "real",
        choices=("real", "scaled", "paced", "virtual"),
        doc="time source (paced: lock-step simulated time for flight with in-process simulated devices)",
    )
    warp: float = setting(1.0, lo=0.001, hi=100_000.0, doc="clock seconds per wall second (scaled, paced)")


@dataclass(frozen=True)
class IsruConfig:
    """A whole isru configuration file."""

    name: str = setting("isru", doc="name of this rover or rig")
    clock: ClockConfig = field(default_factory=ClockConfig)
    transport: TransportConfig = field(default_factory=TransportConfig)
    devices: dict[str, DeviceConfig] = field(default_factory=dict)
    sim: SimConfig = field(default_factory=SimConfig)
    flight: FlightConfig = field(default_factory=FlightConfig)
    mission: MissionConfig = field(default_factory=MissionConfig)
    link: LinkConfig = field(default_factory=LinkConfig)
    ground: GroundConfig = field(default_factory=GroundConfig)


def default_config_path() -> Path:
    """The embedded default configuration, ``configs/sim.toml``."""
    return Path(str(resources.files("configs").joinpath("sim.toml")))


def load_config(path: str | Path | None = None) -> IsruConfig:
    """Load and validate a configuration file (the embedded default when ``path`` is None)."""
    source = path or default_config_path()
    config = load_file(source, IsruConfig)
    for check in (_check_devices, _check_faults, _check_flight):
        check(config, str(source))
    return config


def _check_flight(config: IsruConfig, source: str) -> None:
    """What flight would refuse at start-up, refused at load with the file named: rates that do not fit together,
    a fault protection table (``[flight] fdir``) that does not load, and ``[flight.fdir_thresholds]`` naming a
    watchpoint the table does not have. (Stored sequences are read, and checked, when flight starts.)"""
    config.flight.rates.check(source)
    if config.flight.fdir_thresholds or config.flight.fdir:
        from flight.config_fdir import default_fdir_path, load_fdir, with_thresholds

        with_thresholds(load_fdir(config.flight.fdir or default_fdir_path()), config.flight.fdir_thresholds, source)


def _check_devices(config: IsruConfig, source: str) -> None:
    """Every device is one the ICD knows, and its ``limits`` are ones its driver understands, with values it
    takes (as the driver checks them when flight starts), refused at load with the file named."""
    from hal.devices import driver_class
    from hal.icd import DEVICES
    from hal.limits import OperatingLimits

    for name, device in config.devices.items():
        if name not in DEVICES:
            raise ConfigError(source, f"devices.{name}", f"a device name among {sorted(DEVICES)}", repr(name))
        try:
            OperatingLimits(name, driver_class(name).LIMITS, device.limits)
        except ConfigError as exc:
            raise ConfigError(source, f"devices.{name}.{exc.key}", exc.expected, exc.found) from None


def _check_faults(config: IsruConfig, source: str) -> None:
    """Each ``[[sim.faults]]`` entry must be one the configured devices take (sim_hw/fault_specs.py), so a bad one
    is refused at load, not when it falls due in the run."""
    if not config.sim.faults:
        return
    from sim_hw.errors import SimError
    from sim_hw.fault_specs import check_fault

    for index, fault in enumerate(config.sim.faults):
        try:
            # No [devices] table (a simulator-only file for `isru sim`): every emulator is there to take it.
            check_fault(fault.device, fault.kind, dict(fault.params), tuple(config.devices) or None)
        except SimError as exc:
            key = f"sim.faults[{index}]"
            raise ConfigError(source, key, "a fault the configured devices take", str(exc.args[0])) from exc


def derived_config_text(overrides: dict[str, Any], base: str | Path | None = None) -> str:
    """TOML text of configuration ``base`` (the embedded default when None) with ``overrides`` merged in.

    ``overrides`` is nested like the file (``{"clock": {"mode": "scaled", "warp": 20.0}}``). Tools that start
    a flight process with a variant of a configuration (the demo, the test stack) write this to a file; the
    result is validated as a whole, so a bad override fails with the usual :class:`ConfigError`.
    """
    source = Path(base) if base else default_config_path()
    data = read_toml(source)
    merge_overrides(data, overrides)
    text = _dump_table(data, ())
    load_text(text, IsruConfig, source=f"{source} + overrides")
    return text


def merge_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> None:
    """Merge ``overrides`` into ``data`` in place, table by table."""
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            merge_overrides(data[key], value)
        else:
            data[key] = value


def _dump_table(table: dict[str, Any], path: tuple[str, ...]) -> str:
    scalars = [f"{_key(k)} = {_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
    parts = []
    if scalars:
        header = f"[{'.'.join(_key(p) for p in path)}]\n" if path else ""
        parts.append(header + "\n".join(scalars) + "\n")
    for key, value in table.items():
        if isinstance(value, dict):
            parts.append(_dump_table(value, (*path, key)))
    return "\n".join(parts)


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):  # inside a list (an array of tables, e.g. [[sim.faults]]): an inline table
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as a TOML value")
