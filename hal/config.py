"""Configuration schema of the serial layer: transport settings and the device ports."""

from __future__ import annotations

from dataclasses import dataclass

from base.config_loader import setting


@dataclass(frozen=True)
class TransportConfig:
    """How the host talks to every device (per-device values may override some of these)."""

    baud: int = setting(921_600, lo=300, hi=4_000_000, unit="baud", doc="line rate for real serial ports")
    timeout_s: float = setting(0.1, lo=0.001, hi=10.0, unit="s", doc="wait for a response before a retry")
    retries: int = setting(2, lo=0, hi=10, doc="resends of a request after its first timeout")
    reconnect_min_s: float = setting(0.1, lo=0.01, hi=60.0, unit="s", doc="first reconnect backoff")
    reconnect_max_s: float = setting(5.0, lo=0.01, hi=600.0, unit="s", doc="longest reconnect backoff")
    silence_timeout_s: float = setting(
        0.5, lo=0.05, hi=60.0, unit="s", doc="no byte from a streaming device for this long marks it stale"
    )


@dataclass(frozen=True)
class DeviceConfig:
    """One device: where it is plugged in and how it is run."""

    port: str = setting(doc="pyserial URL: /dev/serial/by-id/..., sim://drill, socket://host:port, spy://...")
    enabled: bool = setting(True, doc="false leaves the device out")
    baud: int | None = setting(None, lo=300, hi=4_000_000, unit="baud", doc="overrides transport.baud")
    telemetry_period_s: float = setting(0.1, lo=0.0, hi=60.0, unit="s", doc="streaming period, 0 = off")
    deadman_s: float = setting(1.0, lo=0.05, hi=60.0, unit="s", doc="device stops its actuators after this silence")
    event_resend_s: float = setting(
        0.25, lo=0.0, hi=60.0, unit="s", doc="device resends an unacknowledged reliable event this often, 0 = never"
    )
    limits: dict[str, float] = setting(
        default_factory=dict, doc="operating limits checked before a command is sent (names per device)"
    )
