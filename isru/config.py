"""The configuration file as a whole: one TOML file, one typed object.

Each section's schema belongs to the package that uses it; this module only composes them and knows
where the embedded default lives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from flight.config import FlightConfig
from flight.mission_config import MissionConfig
from ground.config import GroundConfig
from hal.config import DeviceConfig, TransportConfig
from hal.config_loader import ConfigError, load_file, setting
from isru.link.config import LinkConfig
from sim_hw.config import SimConfig

__all__ = ["ClockConfig", "ConfigError", "IsruConfig", "default_config_path", "load_config"]


@dataclass(frozen=True)
class ClockConfig:
    """Which clock runs the process."""

    mode: str = setting("real", choices=("real", "scaled", "virtual"), doc="time source")
    warp: float = setting(1.0, lo=0.001, hi=100_000.0, doc="clock seconds per wall second (scaled mode)")


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
    config = load_file(path or default_config_path(), IsruConfig)
    _check_devices(config, str(path or default_config_path()))
    return config


def _check_devices(config: IsruConfig, source: str) -> None:
    from hal.icd import DEVICES

    for name in config.devices:
        if name not in DEVICES:
            raise ConfigError(source, f"devices.{name}", f"a device name among {sorted(DEVICES)}", repr(name))
