"""Configuration schema of the flight segment (the ``[flight]`` table)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from base.config_loader import setting
from base.errors import ConfigError
from flight.limits import LimitBand
from flight.mission_config import MissionConfig
from hal.config import DeviceConfig, TransportConfig
from link.config import LinkConfig


@dataclass(frozen=True)
class RatesConfig:
    """Rate-group frequencies, hertz."""

    control_hz: float = setting(50.0, lo=1.0, hi=1000.0, unit="Hz", doc="device polling, interlocks, commands")
    mission_hz: float = setting(10.0, lo=0.1, hi=100.0, unit="Hz", doc="mission machine and sequences")
    telemetry_hz: float = setting(10.0, lo=0.1, hi=100.0, unit="Hz", doc="telemetry publication, fault protection")
    housekeeping_hz: float = setting(1.0, lo=0.01, hi=10.0, unit="Hz", doc="health pings, persistence")
    adaptive: bool = setting(True, doc="slow the loop and the devices' streams while nothing moves (flight.rates)")
    quiet_control_hz: float = setting(2.0, lo=0.5, hi=1000.0, unit="Hz", doc="control rate while nothing moves")
    quiet_mission_hz: float = setting(1.0, lo=0.1, hi=100.0, unit="Hz", doc="mission rate while nothing moves")
    quiet_telemetry_hz: float = setting(1.0, lo=0.1, hi=100.0, unit="Hz", doc="telemetry rate while nothing moves")
    quiet_device_period_s: float = setting(
        1.0, lo=0.01, hi=10.0, unit="s", doc="devices' streaming period while nothing moves"
    )
    quiet_deadman_s: float = setting(
        5.0, lo=0.05, hi=60.0, unit="s", doc="devices' dead-man while nothing moves (>= 4 quiet control periods)"
    )
    quiet_after_s: float = setting(2.0, lo=0.0, hi=600.0, unit="s", doc="stillness before the quiet rates apply")

    def check(self, source: str, prefix: str = "flight.rates.") -> None:
        """Raise :class:`ConfigError` (naming ``source`` and ``prefix`` + the key) for settings that are each in
        range but do not fit together: the quiet dead-man must outlast four quiet control periods, so the host's
        keep-alives always arrive in time."""
        least = 4.0 / self.quiet_control_hz
        if self.quiet_deadman_s < least:
            raise ConfigError(
                source,
                f"{prefix}quiet_deadman_s",
                f"at least four quiet control periods ({least:g} s)",
                repr(self.quiet_deadman_s),
            )


@dataclass(frozen=True)
class InterlockConfig:
    """Thresholds of the interlock rules."""

    max_chamber_temp_K: float = setting(700.0, lo=300.0, hi=1200.0, unit="K")
    heater_margin_K: float = setting(10.0, lo=0.0, hi=100.0, unit="K")
    min_preload_N: float = setting(200.0, lo=0.0, hi=2000.0, unit="N")
    drill_deployed_depth_m: float = setting(0.02, lo=0.0, hi=1.0, unit="m")
    low_battery_soc: float = setting(0.2, lo=0.0, hi=1.0)
    max_age_s: float = setting(2.0, lo=0.05, hi=60.0, unit="s", doc="older device telemetry counts as unsafe")
    max_hop_speed_m_s: float = setting(
        0.5, lo=0.0, hi=0.5, unit="m/s", doc="fastest hop launch allowed: well under the body's escape speed"
    )
    contact_needs_anchor: bool = setting(
        False, doc="microgravity: the scoop digs only anchored (its reaction would push the rover off the ground)"
    )


@dataclass(frozen=True)
class FlightConfig:
    """The flight segment."""

    rates: RatesConfig = field(default_factory=RatesConfig)
    interlocks: InterlockConfig = field(default_factory=InterlockConfig)
    store: str = setting("", doc="SQLite file of mission state, ledger and command ids ('' = none, nothing kept)")
    params: str = setting("", doc="JSON file of saved parameter values ('' = a temporary file)")
    fdir: str = setting("", doc="fault protection table ('' = the embedded configs/fdir.toml)")
    fdir_thresholds: dict[str, float] = setting(
        default_factory=dict,
        doc="watchpoint thresholds of this rover or rig, by watchpoint name (override the table's; a rig in air)",
    )
    sequences: str = setting("", doc="folder of stored sequences ('' = the embedded configs/sequences)")
    licence: str = setting("", doc="mission authorisation (licence) id written into every extraction record")
    ledger_key: str = setting(
        "", doc="the rover's record-signing key ('' = ledger/rover.skey in [link] keys; missing: a key for this run)"
    )
    limits: dict[str, LimitBand] = setting(
        default_factory=dict, doc="limit bands by channel name (added to, and overriding, the derived ones)"
    )


class FlightSegmentConfig(Protocol):
    """What the flight process reads from a whole configuration file: its own tables and those of the parts it
    runs. The composition root's ``isru.config.IsruConfig`` provides it; flight never imports that."""

    @property
    def name(self) -> str:
        """Name of this rover or rig."""
        ...

    @property
    def transport(self) -> TransportConfig:
        """Serial transport settings shared by every device."""
        ...

    @property
    def devices(self) -> Mapping[str, DeviceConfig]:
        """Per-device port and settings, by device name."""
        ...

    @property
    def flight(self) -> FlightConfig:
        """The ``[flight]`` table."""
        ...

    @property
    def mission(self) -> MissionConfig:
        """The ``[mission]`` table."""
        ...

    @property
    def link(self) -> LinkConfig:
        """The ``[link]`` table."""
        ...
