"""Configuration schema of the flight ↔ ground link (the ``[link]`` table)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from base.config_loader import setting


@dataclass(frozen=True)
class LinkConfig:
    """Where flight listens, how the link is secured, and its timing."""

    endpoint: str = setting("tcp://127.0.0.1:7700", doc="ZeroMQ endpoint flight binds and ground connects to")
    keys: str = setting(
        "", doc="key directory made by `isru keys init` ('' = $ISRU_HOME/keys, ISRU_HOME defaulting to .isru)"
    )
    reserved_endpoint: str = setting(
        "",
        doc="a second endpoint for the ground station only, e.g. on its private network ('' = none): a flood of "
        "the public endpoint cannot fill its listen queue",
    )
    insecure: bool = setting(False, doc="plaintext link without CURVE (logs a warning; never on a real mission)")
    light_time_s: float = setting(0.0, lo=0.0, hi=3600.0, unit="s", doc="one-way delay added in each direction")
    heartbeat_s: float = setting(1.0, lo=0.05, hi=60.0, unit="s", doc="heartbeat period, both directions")
    los_missed: int = setting(3, lo=1, hi=100, doc="missed heartbeats before loss of signal is declared")
    client_max_mb: float = setting(
        8.0,
        lo=1.0,
        hi=4096.0,
        unit="MiB",
        doc="bytes one ground key may hold sent and not yet acknowledged (flight's memory for a slow reader); under "
        "a light time L a key receives at most this much per 2 L, so raise it for a distant rover (docs/link.md); "
        "at least 1 MiB, so the dictionary and a packet always fit",
    )
    spool_max_mb: float = setting(
        1024.0, lo=0.0, hi=1_048_576.0, unit="MiB", doc="spool size cap: past it the oldest unacknowledged packets go"
    )
    admit: str = setting(
        "archive,operator,safety",
        doc="client roles flight lets in (comma-separated): ground stations only; observers and other partners "
        "log in to the ground hub, never to flight",
    )
    spool: str = setting(
        "", doc="SQLite spool of unacknowledged telemetry, events and command counters ('' = $ISRU_HOME/spool.sqlite)"
    )


#: Where the keys live when ``[link] keys`` is empty: ``$ISRU_HOME/keys``, ``ISRU_HOME`` defaulting to ``.isru``
#: in the working directory (what ``make demo`` creates; a rig names its own directory in rig.toml).
DEFAULT_HOME = ".isru"


def resolve_keys_dir(keys: str) -> Path:
    """The key directory ``keys`` names, or the default one when it is empty."""
    if keys:
        return Path(keys).expanduser()
    return Path(os.environ.get("ISRU_HOME", DEFAULT_HOME)).expanduser() / "keys"


def resolve_spool(spool: str) -> Path:
    """The spool file ``spool`` names, or ``$ISRU_HOME/spool.sqlite`` when it is empty: the spool keeps the
    command counters when flight has no store, so it is never a temporary file for ``isru flight`` (a replayed
    command must not run after a restart, whatever the configuration)."""
    if spool:
        return Path(spool).expanduser()
    return Path(os.environ.get("ISRU_HOME", DEFAULT_HOME)).expanduser() / "spool.sqlite"
