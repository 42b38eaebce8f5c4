"""Commands and their dictionary: one definition, generated from the code that handles them.

A handler is a method decorated with :func:`command`; the decorator's arguments (typed arguments with
units and ranges, the hazardous flag, the description) *are* the dictionary entry. The
:class:`CommandRegistry` collects decorated methods from the components that own them, so there is no
second list to keep in step.

A handler returns ``None`` when it is done at once, or a generator for a long-running command: the
dispatcher advances it once per control tick; each ``yield`` reports progress (a fraction 0..1 or None),
``return`` completes it, and raising :class:`~flight.errors.CommandRejected` fails it with a reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from flight.errors import CommandRejected

REQUIRED = object()
_TYPES: dict[str, type | tuple[type, ...]] = {"float": (int, float), "int": int, "bool": bool, "str": str}

Job = Generator[float | None, None, None]


@dataclass(frozen=True)
class ArgSpec:
    """One command argument: ``type`` is float, int, bool or str; ``lo``/``hi`` inclusive."""

    name: str
    type: str = "float"
    unit: str = ""
    lo: float | None = None
    hi: float | None = None
    choices: tuple[Any, ...] | None = None
    description: str = ""
    default: Any = REQUIRED

    def validate(self, value: Any) -> Any:
        """Return ``value`` converted to the argument's type, or raise ``CommandRejected``."""
        expected = _TYPES[self.type]
        if (isinstance(value, bool) and self.type != "bool") or not isinstance(value, expected):
            raise CommandRejected(
                "invalid_argument", f"{self.name}: expected {self.type}, found {type(value).__name__} {value!r}"
            )
        if self.type == "float":
            value = float(value)
            if not math.isfinite(value):
                raise CommandRejected("invalid_argument", f"{self.name}: expected a finite number, found {value}")
        if self.choices is not None and value not in self.choices:
            raise CommandRejected("out_of_range", f"{self.name}: expected one of {list(self.choices)}, found {value!r}")
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            unit = f" {self.unit}" if self.unit else ""
            raise CommandRejected("out_of_range", f"{self.name}: expected {self.lo}..{self.hi}{unit}, found {value}")
        return value

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


@dataclass(frozen=True)
class CommandSpec:
    """A command's dictionary entry and its bound handler."""

    name: str
    description: str
    args: tuple[ArgSpec, ...] = ()
    hazardous: bool = False
    hazard: str = ""
    resource: str = ""
    handler: Callable[..., Job | None] | None = field(default=None, compare=False, repr=False)

    def validate(self, args: dict[str, Any]) -> dict[str, Any]:
        """Checked and converted arguments (defaults filled in), or ``CommandRejected``."""
        known = {a.name for a in self.args}
        unknown = sorted(set(args) - known)
        if unknown:
            raise CommandRejected(
                "invalid_argument", f"{self.name} has no argument {unknown[0]!r}; expected among {sorted(known)}"
            )
        values = {}
        for arg in self.args:
            if arg.name in args:
                values[arg.name] = arg.validate(args[arg.name])
            elif arg.default is not REQUIRED:
                values[arg.name] = arg.default
            else:
                raise CommandRejected("invalid_argument", f"{self.name}: missing argument {arg.name!r}")
        return values

    def as_dict(self) -> dict[str, Any]:
        """The dictionary entry (what ground builds its forms from)."""
        return {
            "name": self.name,
            "description": self.description,
            "hazardous": self.hazardous,
            "hazard": self.hazard,
            "args": [a.as_dict() for a in self.args],
        }


_MARK = "__isru_command__"


def command(
    name: str, description: str, *args: ArgSpec, hazardous: bool = False, hazard: str = "", resource: str = ""
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a method as the handler of command ``name``.

    ``hazard`` describes what can go wrong (shown before a hazardous command is confirmed). Commands that
    share a ``resource`` (e.g. ``drill``) do not run at the same time: the second fails ``busy``.
    """
    if hazardous and not hazard:
        raise ValueError(f"hazardous command {name!r} needs a hazard description")

    def mark(function: Callable[..., Any]) -> Callable[..., Any]:
        setattr(function, _MARK, CommandSpec(name, description, args, hazardous, hazard, resource))
        return function

    return mark


class CommandRegistry:
    """Every command the flight segment accepts, collected from the components that handle them."""

    def __init__(self) -> None:
        self._specs: dict[str, CommandSpec] = {}

    def register(self, component: object) -> None:
        """Add every :func:`command`-decorated method of ``component``."""
        for attr in dir(type(component)):
            spec = getattr(getattr(type(component), attr), _MARK, None)
            if spec is None:
                continue
            if spec.name in self._specs:
                raise ValueError(f"command {spec.name!r} is defined twice")
            bound = CommandSpec(**{**spec.__dict__, "handler": getattr(component, attr)})
            self._specs[spec.name] = bound

    def add(self, spec: CommandSpec) -> None:
        """Add one command built at run time (e.g. from the device ICD); ``spec.handler`` must be set."""
        if spec.handler is None:
            raise ValueError(f"command {spec.name!r} has no handler")
        if spec.name in self._specs:
            raise ValueError(f"command {spec.name!r} is defined twice")
        self._specs[spec.name] = spec

    def spec(self, name: str) -> CommandSpec:
        """The command called ``name``, or ``CommandRejected('unknown_command')``."""
        try:
            return self._specs[name]
        except KeyError:
            raise CommandRejected("unknown_command", f"no command {name!r}") from None

    def names(self) -> list[str]:
        """Every command name, sorted."""
        return sorted(self._specs)

    def dictionary(self) -> list[dict[str, Any]]:
        """The command dictionary, sorted by name."""
        return [self._specs[n].as_dict() for n in self.names()]
