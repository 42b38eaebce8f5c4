"""The flight ↔ ground contract, defined once: what the flight dictionary says and how ground and flight read it.

Flight declares its commands, telemetry channels and parameters with the specs below and publishes their
``as_dict()`` entries as its dictionary; ground reads the entries back with ``from_dict``. Both sides check a
command's arguments with :func:`validate_args` (types, ranges, choices, required and unknown arguments), so
ground refuses before sending exactly what flight would refuse on receipt; a refusal is one
:class:`~link.errors.InvalidArgument` that each side words as its own error. Event severities, command
verification stages and the fields of an event and of a command status are the records :mod:`link.wire`
carries.

Value types: ``float`` (an int is accepted and converted), ``int``, ``bool``, ``str``; a command argument may
also be ``scalar`` (any of them, converted by its handler). Ranges are inclusive, in the spec's ``unit``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from link.errors import ArgumentProblem, InvalidArgument

__all__ = [
    "ARG_TYPES",
    "DIMENSIONLESS_UNITS",
    "EVENT_FIELDS",
    "FALSE_WORDS",
    "REQUIRED",
    "SCALAR_TYPES",
    "SEVERITIES",
    "STAGES",
    "STATUS_FIELDS",
    "TERMINAL_STAGES",
    "TRUE_WORDS",
    "VALUE_TYPES",
    "ArgSpec",
    "ChannelSpec",
    "CommandSpec",
    "ParameterSpec",
    "Severity",
    "Stage",
    "channel_gaps",
    "show",
    "type_of",
    "validate_args",
]

# ------------------------------------------------------------------------------------------- value types
#: The Python types a telemetry value, a parameter value or a command argument value may have.
SCALAR_TYPES: tuple[type, ...] = (bool, int, float, str)
#: Types of telemetry channels and parameters.
VALUE_TYPES = ("float", "int", "bool", "str")
#: Types of command arguments and the Python types that satisfy them (``bool`` only satisfies bool and scalar).
ARG_TYPES: dict[str, type | tuple[type, ...]] = {
    "float": (int, float),
    "int": int,
    "bool": bool,
    "str": str,
    "scalar": (str, int, float, bool),  # flight converts it (e.g. a parameter value by the parameter's type)
}
#: Spellings of true and false accepted where a bool is written as text (lower-case, stripped).
TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})


def type_of(value: Any) -> str:
    """The value type of ``value``: ``bool``, ``int``, ``float``, or ``str`` for anything else."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str"


# ------------------------------------------------------------------------------------ events and statuses
class Severity(enum.IntEnum):
    """How much an event matters; an event carries its name in lower case."""

    DEBUG = 0
    INFO = 1
    WARNING = 2
    ERROR = 3
    CRITICAL = 4


#: Severity names in increasing order.
SEVERITIES = tuple(severity.name.lower() for severity in Severity)


class Stage(enum.StrEnum):
    """Verification stages of a command: ``accepted`` → ``started`` → ``progress``… → ``completed``,
    or ``failed`` at any point."""

    ACCEPTED = "accepted"
    STARTED = "started"
    PROGRESS = "progress"
    COMPLETED = "completed"
    FAILED = "failed"


#: Stage names in the order a command passes them.
STAGES = tuple(stage.value for stage in Stage)
#: The stages that end a command.
TERMINAL_STAGES = (Stage.COMPLETED, Stage.FAILED)

#: Fields of an event record and their types (``float`` accepts an int too).
EVENT_FIELDS: dict[str, type] = {
    "seq": int,
    "t": float,
    "severity": str,
    "source": str,
    "name": str,
    "message": str,
    "data": dict,
}
#: Fields of a command-status record and their types; ``None``: a number or nil (``progress``).
STATUS_FIELDS: dict[str, type | None] = {
    "id": str,
    "name": str,
    "stage": str,
    "source": str,
    "t": float,
    "reason": str,
    "message": str,
    "progress": None,
}


# ------------------------------------------------------------------------------------------ dictionary
#: Default of an argument that has none: the argument is required.
REQUIRED: Any = object()


@dataclass(frozen=True)
class ArgSpec:
    """One command argument: ``type`` is a key of :data:`ARG_TYPES`; ``lo``/``hi`` inclusive, in ``unit``."""

    name: str
    type: str = "float"
    unit: str = ""
    lo: float | None = None
    hi: float | None = None
    choices: tuple[Any, ...] | None = None
    description: str = ""
    default: Any = REQUIRED

    def check(self, value: Any, command: str = "") -> Any:
        """``value`` converted to the argument's type (an int for a float becomes a float).

        Raises :class:`InvalidArgument` naming this argument of ``command``.
        """
        expected = ARG_TYPES.get(self.type)
        if expected is None:
            raise self._invalid(
                command, ArgumentProblem.UNKNOWN_TYPE, f"a type among {sorted(ARG_TYPES)}", f"type {self.type!r}"
            )
        if (isinstance(value, bool) and self.type not in ("bool", "scalar")) or not isinstance(value, expected):
            found = f"{type(value).__name__} {show(value)}"
            raise self._invalid(command, ArgumentProblem.WRONG_TYPE, self.describe(), found, value)
        if self.type == "float":
            value = float(cast(float, value))  # an int or a float: the type check above passed
            if not math.isfinite(value):
                expected_text = f"a finite number ({self.describe()})"
                raise self._invalid(command, ArgumentProblem.NOT_FINITE, expected_text, repr(value), value)
        if self.choices is not None and value not in self.choices:
            raise self._invalid(command, ArgumentProblem.BAD_CHOICE, f"one of {list(self.choices)}", show(value), value)
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise self._invalid(command, ArgumentProblem.OUT_OF_RANGE, self.describe(), f"{value}{self._unit}", value)
        return value

    def describe(self) -> str:
        """What the argument takes, e.g. ``float 0..600 rpm`` or ``str, one of ['a', 'b']``."""
        text = str(self.type)
        if self.lo is not None or self.hi is not None:
            text += f" {'-inf' if self.lo is None else self.lo}..{'inf' if self.hi is None else self.hi}"
        text += self._unit
        if self.choices is not None:
            text += f", one of {list(self.choices)}"
        return text

    @property
    def _unit(self) -> str:
        return f" {self.unit}" if self.unit else ""

    def _invalid(
        self, command: str, problem: ArgumentProblem, expected: str, found: str, value: Any = None
    ) -> InvalidArgument:
        return InvalidArgument(command, self.name, problem, expected, found, value)

    def as_dict(self) -> dict[str, Any]:
        """The dictionary entry of this argument."""
        entry: dict[str, Any] = {"name": self.name, "type": self.type, "unit": self.unit}
        entry["description"] = self.description
        if self.lo is not None:
            entry["min"] = self.lo
        if self.hi is not None:
            entry["max"] = self.hi
        if self.choices is not None:
            entry["choices"] = list(self.choices)
        if self.default is not REQUIRED:
            entry["default"] = self.default
        return entry

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> ArgSpec:
        """The argument an :meth:`as_dict` entry describes (``KeyError`` without a name)."""
        choices = entry.get("choices")
        return cls(
            entry["name"],
            entry.get("type", "float"),
            entry.get("unit") or "",
            entry.get("min"),
            entry.get("max"),
            None if choices is None else tuple(choices),
            entry.get("description", ""),
            entry.get("default", REQUIRED),
        )


def validate_args(command: str, specs: Sequence[ArgSpec], args: Any) -> dict[str, Any]:
    """The arguments of ``command`` checked against ``specs`` and converted, defaults filled in.

    Raises :class:`InvalidArgument` for the first problem: ``args`` not a map, an argument ``specs`` does not
    name (the first in sorted order), then, argument by argument in ``specs`` order, a required one missing or
    a value of the wrong type, not finite, not among the choices or out of range.
    """
    if not isinstance(args, dict):
        raise InvalidArgument(
            command, "args", ArgumentProblem.NOT_A_MAP, "a mapping of argument names to values", show(args), args
        )
    known = [spec.name for spec in specs]
    unknown = sorted(str(key) for key in set(args) - set(known))
    if unknown:
        expected = f"one of {known}" if known else "no arguments"
        raise InvalidArgument(
            command, unknown[0], ArgumentProblem.UNKNOWN, expected, "an argument flight does not know"
        )
    values: dict[str, Any] = {}
    for spec in specs:
        if spec.name in args:
            values[spec.name] = spec.check(args[spec.name], command)
        elif spec.default is not REQUIRED:
            values[spec.name] = spec.default
        else:
            raise InvalidArgument(
                command, spec.name, ArgumentProblem.MISSING, spec.describe(), "nothing (the argument is required)"
            )
    return values


@dataclass(frozen=True)
class CommandSpec:
    """A command's dictionary entry. ``hazard`` says what can go wrong when ``hazardous``."""

    name: str
    description: str
    args: tuple[ArgSpec, ...] = ()
    hazardous: bool = False
    hazard: str = ""

    def check(self, args: Any) -> dict[str, Any]:
        """Checked and converted arguments (defaults filled in); raises :class:`InvalidArgument`."""
        return validate_args(self.name, self.args, args)

    def as_dict(self) -> dict[str, Any]:
        """The dictionary entry (what ground builds its forms from)."""
        return {
            "name": self.name,
            "description": self.description,
            "hazardous": self.hazardous,
            "hazard": self.hazard,
            "args": [a.as_dict() for a in self.args],
        }

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> CommandSpec:
        """The command an :meth:`as_dict` entry describes (``KeyError`` without a name)."""
        return cls(
            entry["name"],
            entry.get("description", ""),
            tuple(ArgSpec.from_dict(a) for a in entry.get("args", [])),
            bool(entry.get("hazardous", False)),
            entry.get("hazard", ""),
        )


#: Units of channels that have no physical dimension, and what each means: every channel states either a
#: physical unit (``K``, ``Pa``, ``m/s``...) or one of these.
DIMENSIONLESS_UNITS: dict[str, str] = {
    "1": "a ratio or fraction (a range such as 0..1 is in the description and the limits)",
    "count": "a number of things or events since start",
    "bool": "true or false (an int 0/1 reads 1 as true)",
    "enum": "one of a few named values (listed in the description)",
    "mask": "a bit field, bit i as the description says",
    "index": "a position in a list, -1 for none",
    "text": "free text, such as a list of names",
}
#: The unit a channel of this value type has when its spec states none (numbers must state theirs).
_TYPE_UNITS = {"bool": "bool", "str": "text"}


@dataclass(frozen=True)
class ChannelSpec:
    """A telemetry channel's dictionary entry: ``type`` is one of :data:`VALUE_TYPES`. Limits are inclusive
    bounds of the normal band (yellow) and the red band, in ``unit``; None where a side is unbounded.
    A bool or str channel that states no unit is ``bool`` or ``text`` (:data:`DIMENSIONLESS_UNITS`)."""

    name: str
    unit: str = ""
    description: str = ""
    type: str = "float"
    warn_low: float | None = None
    warn_high: float | None = None
    alarm_low: float | None = None
    alarm_high: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The dictionary entry (unset limits left out; a bool or str channel's unit filled in)."""
        entry = {k: v for k, v in self.__dict__.items() if v is not None}
        if not self.unit:
            entry["unit"] = _TYPE_UNITS.get(self.type, "")
        return entry


def channel_gaps(entry: Mapping[str, Any]) -> list[str]:
    """What a channel's dictionary entry lacks for an operator: ``"unit"`` (neither a physical unit nor one
    of :data:`DIMENSIONLESS_UNITS`) and ``"description"``; [] when it has both."""
    gaps = []
    if not str(entry.get("unit") or "").strip():
        gaps.append("unit")
    if not str(entry.get("description") or "").strip():
        gaps.append("description")
    return gaps


@dataclass(frozen=True)
class ParameterSpec:
    """A parameter's dictionary entry: ``type`` is one of :data:`VALUE_TYPES`; ``lo``/``hi`` inclusive, in
    ``unit``; None where a side is unbounded."""

    name: str
    type: str
    unit: str
    lo: float | None
    hi: float | None
    default: Any
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The dictionary entry (without the current value, which flight adds)."""
        entry: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "unit": self.unit,
            "default": self.default,
            "description": self.description,
        }
        if self.lo is not None:
            entry["min"] = self.lo
        if self.hi is not None:
            entry["max"] = self.hi
        return entry


def show(value: Any) -> str:
    """``repr(value)`` cut to 60 characters, for messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
