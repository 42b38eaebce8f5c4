"""Configuration schema of the ground segment (the ``[ground]`` table)."""

from __future__ import annotations

from dataclasses import dataclass

from base.config_loader import setting


@dataclass(frozen=True)
class GroundConfig:
    """The ground station: archive and console."""

    archive: str = setting("", doc="SQLite archive of everything received ('' = a temporary file)")
    ledger: str = setting("", doc="SQLite ledger log of signed extraction records ('' = beside the archive)")
    retention_days: float = setting(
        30.0, lo=0.0, hi=36500.0, unit="d", doc="drop archive rows older than this (0 = keep all)"
    )
    archive_max_mb: float = setting(
        4096.0, lo=0.0, hi=16_777_216.0, unit="MiB", doc="drop the oldest archive rows past this size (0 = no cap)"
    )
    console_host: str = setting("127.0.0.1", doc="address the console serves on (loopback by default)")
    console_port: int = setting(8080, lo=1, hi=65535, doc="port the console serves on")
