"""Configuration schema of the ground segment (the ``[ground]`` table)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from base.config_loader import setting
from link.config import DEFAULT_HOME


@dataclass(frozen=True)
class GroundConfig:
    """The ground station (the hub): archive, accounts and console."""

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
    rover: str = setting("", doc="the id of the rover this hub's link reaches ('' = flight's own name)")
    accounts: str = setting("", doc="SQLite file of the hub's user accounts ('' = $ISRU_HOME/accounts.sqlite)")
    tls_cert: str = setting("", doc="PEM certificate: the console serves HTTPS with it and tls_key ('' = HTTP)")
    tls_key: str = setting("", doc="PEM private key of tls_cert")
    public_origin: str = setting(
        "", doc="the origin browsers reach the console at, e.g. https://hub.example:8443 ('' = from host and port)"
    )


def resolve_accounts(accounts: str) -> Path:
    """The account file ``accounts`` names, or ``$ISRU_HOME/accounts.sqlite`` when it is empty."""
    if accounts:
        return Path(accounts).expanduser()
    return Path(os.environ.get("ISRU_HOME", DEFAULT_HOME)).expanduser() / "accounts.sqlite"
