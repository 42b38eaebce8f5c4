"""Configuration schemas of fault protection, the link-loss failsafe, parameters and stored sequences.

``configs/fdir.toml`` holds the watchpoint and actionpoint tables::

    [watchpoints.chamber_hot]
    channel = "extractor.chamber_temp_K"
    op = ">"
    threshold = 720.0
    persistence = 3          # consecutive evaluations before the watchpoint is true
    stale_s = 5.0            # no update for this long: stale (neither true nor false)

    [actionpoints.chamber_overtemp]
    expression = "chamber_hot and not chamber_sensor_bad"
    response = "safe"        # event | hold | safe | retract | fail_step | sequence:<name>
    mode = "active"          # active | passive | disabled
    severity = "critical"
    message = "chamber above 720 K"

    [link]
    policy = "hold"          # what a lost ground link does: continue | hold | safe

Beyond what the schema checks field by field, :func:`check_fdir` checks the table as a whole (names,
expressions, responses) and raises :class:`~base.config_loader.ConfigError` naming the file, the key,
what was expected and what was found.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from base.config_loader import ConfigError, load_file, load_text, setting
from flight import fdir_expression
from link import schema

__all__ = [
    "MODES",
    "OPS",
    "POLICIES",
    "RESPONSES",
    "SEVERITIES",
    "ActionpointConfig",
    "FailsafeConfig",
    "FdirConfig",
    "ParamsConfig",
    "SequencesConfig",
    "WatchpointConfig",
    "check_fdir",
    "default_fdir_path",
    "load_fdir",
    "load_fdir_text",
    "with_thresholds",
]

OPS = ("<", "<=", ">", ">=", "==", "!=")
MODES = ("active", "passive", "disabled")
#: Severities a fault-protection event may have (every event severity but debug).
SEVERITIES = tuple(name for name in schema.SEVERITIES if name != "debug")
#: Fixed responses; ``sequence:<name>`` starts a stored sequence.
RESPONSES = ("event", "hold", "safe", "retract", "fail_step")
POLICIES = ("continue", "hold", "safe")
#: A stored sequence name (used in command ids ``seq:<name>:<run>:<step>``, so no colon).
SEQUENCE_NAME = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class WatchpointConfig:
    """A comparison of one telemetry channel with a threshold."""

    channel: str = setting(doc="telemetry channel, <device>.<field> (e.g. drill.torque_Nm)")
    op: str = setting(choices=OPS, doc="comparison: channel <op> threshold")
    threshold: float = setting(doc="value compared with, in the channel's unit")
    persistence: int = setting(1, lo=1, hi=1_000_000, doc="consecutive true comparisons before it is true")
    stale_s: float = setting(5.0, lo=0.001, hi=86_400.0, unit="s", doc="older data than this is stale")
    description: str = setting("", doc="what the watchpoint means")


@dataclass(frozen=True)
class ActionpointConfig:
    """A boolean expression of watchpoints and what to do when it becomes true."""

    expression: str = setting(doc="watchpoint names with and, or, not and parentheses")
    response: str = setting(doc="event, hold, safe, retract, fail_step or sequence:<name>")
    mode: str = setting("active", choices=MODES, doc="active acts, passive only reports, disabled ignores")
    severity: str = setting("warning", choices=SEVERITIES, doc="severity of the event it raises")
    message: str = setting("", doc="operator text of the event")


@dataclass(frozen=True)
class FailsafeConfig:
    """What the rover does when the ground link is lost."""

    policy: str = setting("hold", choices=POLICIES, doc="continue, hold or safe")


@dataclass(frozen=True)
class FdirConfig:
    """A whole fault protection table (``configs/fdir.toml``)."""

    watchpoints: dict[str, WatchpointConfig] = setting(default_factory=dict, doc="by name")
    actionpoints: dict[str, ActionpointConfig] = setting(default_factory=dict, doc="by name")
    link: FailsafeConfig = field(default_factory=FailsafeConfig)


@dataclass(frozen=True)
class ParamsConfig:
    """Where the parameter store keeps its saved values."""

    path: str = setting("params.json", doc="JSON file of saved parameter values (relative to the working directory)")


@dataclass(frozen=True)
class SequencesConfig:
    """Where stored sequences are loaded from."""

    directory: str = setting("", doc="folder of sequence TOML files ('' = the embedded configs/sequences)")

    def resolved(self) -> Path:
        """The folder to load: ``directory``, or the embedded examples when it is empty."""
        return Path(self.directory) if self.directory else Path(str(resources.files("configs").joinpath("sequences")))


def default_fdir_path() -> Path:
    """The embedded default table, ``configs/fdir.toml``."""
    return Path(str(resources.files("configs").joinpath("fdir.toml")))


def load_fdir(path: str | Path | None = None, *, sequence_names: Collection[str] | None = None) -> FdirConfig:
    """Load and check a fault protection table (the embedded default when ``path`` is None).

    With ``sequence_names``, a ``sequence:<name>`` response must name one of them.
    """
    path = Path(path) if path is not None else default_fdir_path()
    config = load_file(path, FdirConfig)
    check_fdir(config, str(path), sequence_names=sequence_names)
    return config


def load_fdir_text(text: str, source: str = "<string>", *, sequence_names: Collection[str] | None = None) -> FdirConfig:
    """Parse and check a fault protection table from TOML text; ``source`` names it in errors."""
    config = load_text(text, FdirConfig, source)
    check_fdir(config, source, sequence_names=sequence_names)
    return config


def check_fdir(config: FdirConfig, source: str, *, sequence_names: Collection[str] | None = None) -> None:
    """Check what the schema cannot: names, expressions and responses. Raises ``ConfigError``."""
    for table, entries in (("watchpoints", config.watchpoints), ("actionpoints", config.actionpoints)):
        for name in entries:
            if not fdir_expression.NAME_PATTERN.fullmatch(name) or name in fdir_expression.KEYWORDS:
                raise ConfigError(
                    source, f"{table}.{name}", "a name of letters, digits and _ (not and/or/not)", repr(name)
                )
    shared = sorted(set(config.watchpoints) & set(config.actionpoints))
    if shared:
        raise ConfigError(
            source,
            f"actionpoints.{shared[0]}",
            "a name not already used by a watchpoint (telemetry is fdir.<name>.*)",
            f"watchpoint {shared[0]!r} of the same name",
        )
    for name, wp in config.watchpoints.items():
        if not wp.channel or any(c.isspace() for c in wp.channel):
            raise ConfigError(source, f"watchpoints.{name}.channel", "a channel name like drill.rpm", repr(wp.channel))
    for name, ap in config.actionpoints.items():
        _check_expression(name, ap.expression, config, source)
        _check_response(name, ap.response, source, sequence_names)


def _check_expression(name: str, expression: str, config: FdirConfig, source: str) -> None:
    key = f"actionpoints.{name}.expression"
    try:
        tree = fdir_expression.parse(expression)
    except fdir_expression.ExpressionError as exc:
        raise ConfigError(
            source, key, f"{exc.expected} at character {exc.position} of {expression!r}", exc.found
        ) from exc
    unknown = sorted(fdir_expression.names(tree) - set(config.watchpoints))
    if unknown:
        raise ConfigError(
            source,
            key,
            f"watchpoint names among {sorted(config.watchpoints)}",
            f"unknown watchpoint {unknown[0]!r} in actionpoint {name!r}",
        )


def _check_response(name: str, response: str, source: str, sequence_names: Collection[str] | None) -> None:
    key = f"actionpoints.{name}.response"
    if response in RESPONSES:
        return
    expected = f"one of {list(RESPONSES)} or sequence:<name>"
    prefix, _, sequence = response.partition(":")
    if prefix != "sequence" or not SEQUENCE_NAME.fullmatch(sequence):
        raise ConfigError(source, key, expected, repr(response))
    if sequence_names is not None and sequence not in sequence_names:
        raise ConfigError(
            source, key, f"a stored sequence among {sorted(sequence_names)}", f"unknown sequence {sequence!r}"
        )


def with_thresholds(config: FdirConfig, thresholds: Mapping[str, float], source: str) -> FdirConfig:
    """``config`` with the thresholds of the named watchpoints replaced (a rover's or rig's own limits, e.g. the
    chamber pressure limit of a rig in air). Raises ``ConfigError`` at ``flight.fdir_thresholds.<name>`` for a
    name that is not a watchpoint of the table or a threshold that is not a finite number."""
    watchpoints = dict(config.watchpoints)
    for name, threshold in thresholds.items():
        key = f"flight.fdir_thresholds.{name}"
        if name not in watchpoints:
            raise ConfigError(source, key, f"a watchpoint among {sorted(watchpoints)}", repr(name))
        if not math.isfinite(threshold):
            raise ConfigError(source, key, "a finite number", repr(threshold))
        watchpoints[name] = dataclasses.replace(watchpoints[name], threshold=float(threshold))
    return dataclasses.replace(config, watchpoints=watchpoints)
