"""Stored sequence files: the TOML layout, its checks, and loading a directory of them.

A sequence file::

    name = "warm_chamber"                 # letters, digits, _ and -; unique in its directory
    description = "Seal the lid and bring the chamber to 400 K"

    [[steps]]
    command = "extractor.lid"
    args = { sealed = 1 }                 # the command's arguments (a table; may be omitted)

    [[steps]]
    command = "extractor.heater_setpoint"
    args = { kelvin = 400.0 }
    after_s = 5.0                         # relative: seconds after the previous step completed (default 0)

    [[steps]]
    command = "extractor.vent"
    args = { open = 1 }
    at = "2030-01-01T01:00:00Z"           # absolute: an RFC 3339 UTC time

A step has one time tag at most. Every problem raises :class:`~base.config_loader.ConfigError` naming the
file, the key (``steps[2].at``), what was expected and what was found.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from base.config_loader import ConfigError, load_file, setting
from flight.config_fdir import SEQUENCE_NAME

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
#: The longest relative delay accepted, seconds (one week).
MAX_AFTER_S = 7 * 86_400.0


@dataclass(frozen=True)
class StepConfig:
    """One step as written in the file."""

    command: str = setting(doc="command name, e.g. drill.spin")
    args: dict[str, bool | int | float | str] = setting(default_factory=dict, doc="the command's arguments")
    after_s: float | None = setting(
        None, lo=0.0, hi=MAX_AFTER_S, unit="s", doc="seconds after the previous step completed (default 0)"
    )
    at: str | None = setting(None, doc="absolute time, RFC 3339 UTC (e.g. 2030-01-01T01:00:00Z)")


@dataclass(frozen=True)
class SequenceFileConfig:
    """A whole sequence file."""

    name: str = setting(doc="sequence name: letters, digits, _ and -")
    description: str = setting("", doc="what the sequence does")
    steps: list[StepConfig] = setting(default_factory=list, doc="the steps, run in order")


@dataclass(frozen=True)
class Step:
    """A checked step. ``after_s`` is seconds after the previous step completed (0 for an absolute step);
    ``at`` is UTC seconds since the epoch, or None for a relative step."""

    index: int
    command: str
    args: dict[str, Any]
    after_s: float = 0.0
    at: float | None = None
    at_text: str = ""

    def describe(self) -> str:
        """``step <i> (<command>)``, for messages."""
        return f"step {self.index} ({self.command})"


@dataclass(frozen=True)
class Sequence:
    """A checked stored sequence and the file it came from."""

    name: str
    description: str
    steps: tuple[Step, ...]
    source: str


def parse_utc(text: str) -> float:
    """UTC seconds since the epoch from an RFC 3339 time with a ``Z`` or ``+00:00`` offset.

    Raises ``ValueError`` saying what was expected.
    """
    if not _RFC3339.fullmatch(text):
        raise ValueError("an RFC 3339 UTC time like 2030-01-01T01:00:00Z")
    moment = dt.datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    if moment.utcoffset() != dt.timedelta(0):
        raise ValueError("a UTC time (offset Z or +00:00)")
    return moment.timestamp()


def load_sequence(path: str | Path) -> Sequence:
    """Load and check one sequence file."""
    source = str(path)
    config = load_file(path, SequenceFileConfig)
    if not SEQUENCE_NAME.fullmatch(config.name):
        raise ConfigError(source, "name", "a name of letters, digits, _ and -", repr(config.name))
    if not config.steps:
        raise ConfigError(source, "steps", "at least one [[steps]] table", "no steps")
    steps = tuple(_check_step(i, step, source) for i, step in enumerate(config.steps))
    return Sequence(config.name, config.description, steps, source)


def _check_step(index: int, step: StepConfig, source: str) -> Step:
    key = f"steps[{index}]"
    if not step.command.strip():
        raise ConfigError(source, f"{key}.command", "a command name", repr(step.command))
    if step.after_s is not None and step.at is not None:
        raise ConfigError(source, key, "one time tag, after_s or at", f"both after_s = {step.after_s} and at")
    if step.at is None:
        return Step(index, step.command, dict(step.args), step.after_s or 0.0)
    try:
        at = parse_utc(step.at)
    except ValueError as exc:
        raise ConfigError(source, f"{key}.at", str(exc), repr(step.at)) from exc
    return Step(index, step.command, dict(step.args), 0.0, at, step.at)


def load_directory(directory: str | Path) -> dict[str, Sequence]:
    """Every ``*.toml`` sequence in ``directory``, by name; a name used twice is an error."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(str(directory), "", "a directory of sequence TOML files", "no such directory")
    sequences: dict[str, Sequence] = {}
    for path in sorted(directory.glob("*.toml")):
        sequence = load_sequence(path)
        other = sequences.get(sequence.name)
        if other is not None:
            raise ConfigError(
                str(path), "name", f"a name not already used by {other.source}", f"duplicate {sequence.name!r}"
            )
        sequences[sequence.name] = sequence
    return sequences
