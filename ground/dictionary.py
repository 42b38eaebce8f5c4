"""The flight dictionary as ground sees it: commands, channels, parameters, events and the mission diagram.

Ground builds everything from this (forms, plots, alarms); no command or channel is named in ground code.
:meth:`GroundDictionary.validate` applies the same rules as flight's dispatcher (types, ranges, choices,
required and unknown arguments) so a bad command is refused before it leaves, with a message that names the
argument, what was expected and what was found. :meth:`GroundDictionary.parse_args` turns ``key=value``
strings (from a command line) into typed arguments using the dictionary's types.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

from ground.errors import UnknownChannel, UnknownCommand, ValidationError

_LOGGER = logging.getLogger(__name__)

#: Argument types the dictionary uses and the Python types that satisfy them.
_TYPES: dict[str, type | tuple[type, ...]] = {
    "float": (int, float),
    "int": int,
    "bool": bool,
    "str": str,
    "scalar": (str, int, float, bool),  # flight converts it (e.g. a parameter value by the parameter's type)
}
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
#: Severity names in increasing order (the flight event log's).
SEVERITIES = ("debug", "info", "warning", "error", "critical")
#: Command name flight uses for the emergency stop when its dictionary does not name one.
DEFAULT_ESTOP = "estop"


class GroundDictionary:
    """Read-only view of the dictionary flight sends on connect (see ``FlightApp.dictionary()``)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        if not isinstance(raw, dict):
            raise ValidationError("", "dictionary", "a dict with commands, telemetry and parameters", _show(raw))
        self.raw = raw
        self._commands = {c["name"]: c for c in raw.get("commands", []) if isinstance(c, dict) and "name" in c}
        self._channels = {c["name"]: c for c in raw.get("telemetry", []) if isinstance(c, dict) and "name" in c}
        self._parameters = {p["name"]: p for p in raw.get("parameters", []) if isinstance(p, dict) and "name" in p}

    # ------------------------------------------------------------------------------------------ lookup
    def commands(self) -> list[dict[str, Any]]:
        """Every command entry, sorted by name."""
        return [self._commands[n] for n in sorted(self._commands)]

    def command(self, name: str) -> dict[str, Any]:
        """The entry of command ``name``; raises :class:`UnknownCommand`."""
        try:
            return self._commands[name]
        except (KeyError, TypeError):
            raise UnknownCommand(str(name), list(self._commands)) from None

    def has_command(self, name: str) -> bool:
        """True if flight accepts a command called ``name``."""
        return name in self._commands

    def channels(self) -> list[dict[str, Any]]:
        """Every telemetry channel entry (name, unit, description, type, limits), sorted by name."""
        return [self._channels[n] for n in sorted(self._channels)]

    def channel(self, name: str) -> dict[str, Any]:
        """The entry of channel ``name``; raises :class:`UnknownChannel`."""
        try:
            return self._channels[name]
        except (KeyError, TypeError):
            raise UnknownChannel(str(name)) from None

    def channel_names(self) -> list[str]:
        """Every channel name, sorted."""
        return sorted(self._channels)

    def parameters(self) -> list[dict[str, Any]]:
        """Every parameter entry (name, type, unit, default, min/max, value), sorted by name."""
        return [self._parameters[n] for n in sorted(self._parameters)]

    @property
    def diagram(self) -> str:
        """The mission state diagram (Mermaid ``stateDiagram-v2`` text), '' if flight sent none."""
        return str(self.raw.get("diagram", ""))

    @property
    def events(self) -> list[str]:
        """Event severity names in increasing order."""
        events = self.raw.get("events")
        return list(events) if isinstance(events, list | tuple) and events else list(SEVERITIES)

    @property
    def flight(self) -> dict[str, Any]:
        """What flight says about itself (name, boot id), {} if nothing."""
        info = self.raw.get("flight")
        return dict(info) if isinstance(info, dict) else {}

    @property
    def estop_command(self) -> str:
        """Name of the emergency-stop command; raises :class:`UnknownCommand` if flight has none."""
        name = self.raw.get("estop", DEFAULT_ESTOP)
        return self.command(name)["name"]

    def hazard(self, name: str) -> str | None:
        """The hazard text of command ``name`` if it is hazardous, else None."""
        entry = self.command(name)
        if not entry.get("hazardous"):
            return None
        return str(entry.get("hazard") or "this command is marked hazardous")

    # -------------------------------------------------------------------------------------- validation
    def validate(self, name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """Checked and converted arguments with defaults filled in, as flight would accept them.

        Raises :class:`UnknownCommand` or :class:`ValidationError` (naming the argument, what was
        expected and what was found).
        """
        entry = self.command(name)
        args = {} if args is None else args
        if not isinstance(args, dict):
            raise ValidationError(name, "args", "a mapping of argument names to values", _show(args))
        specs = entry.get("args", [])
        known = [a["name"] for a in specs]
        unknown = sorted(str(k) for k in set(args) - set(known))
        if unknown:
            expected = f"one of {known}" if known else "no arguments"
            raise ValidationError(name, unknown[0], expected, "an argument flight does not know")
        values: dict[str, Any] = {}
        for spec in specs:
            arg = spec["name"]
            if arg in args:
                values[arg] = _check(name, spec, args[arg])
            elif "default" in spec:
                values[arg] = spec["default"]
            else:
                raise ValidationError(name, arg, _describe(spec), "nothing (the argument is required)")
        return values

    def parse_args(self, name: str, tokens: Iterable[str]) -> dict[str, Any]:
        """Parse ``key=value`` strings into typed arguments of command ``name`` and validate them.

        ``float`` takes any decimal or exponent form, ``int`` whole numbers (``0x`` hex too), ``bool`` one of
        true/false, yes/no, on/off, 1/0, ``str`` and ``scalar`` the text as written (flight converts a scalar).
        """
        entry = self.command(name)
        specs = {a["name"]: a for a in entry.get("args", [])}
        args: dict[str, Any] = {}
        for token in tokens:
            key, sep, text = str(token).partition("=")
            key = key.strip()
            if not sep or not key:
                raise ValidationError(name, str(token), f"key=value with a key among {sorted(specs)}", repr(token))
            if key not in specs:
                expected = f"one of {sorted(specs)}" if specs else "no arguments"
                raise ValidationError(name, key, expected, "an argument flight does not know")
            if key in args:
                raise ValidationError(name, key, "one value", "the argument given twice")
            args[key] = _parse(name, specs[key], text)
        return self.validate(name, args)


def _parse(command: str, spec: dict[str, Any], text: str) -> Any:
    kind = spec.get("type", "float")
    arg = spec["name"]
    stripped = text.strip()
    try:
        if kind == "float":
            return float(stripped)
        if kind == "int":
            return int(stripped, 0) if stripped.lower().startswith(("0x", "0o", "0b")) else int(stripped)
    except ValueError:
        raise ValidationError(command, arg, _describe(spec), repr(text)) from None
    if kind == "bool":
        lowered = stripped.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValidationError(command, arg, "bool (true/false, yes/no, on/off, 1/0)", repr(text))
    return text


def _check(command: str, spec: dict[str, Any], value: Any) -> Any:
    """Mirror of flight's ``ArgSpec.validate``: the value converted, or ValidationError."""
    kind = spec.get("type", "float")
    arg = spec["name"]
    expected = _TYPES.get(kind)
    if expected is None:
        raise ValidationError(command, arg, f"a type among {sorted(_TYPES)}", f"type {kind!r}")
    if (isinstance(value, bool) and kind not in ("bool", "scalar")) or not isinstance(value, expected):
        raise ValidationError(command, arg, _describe(spec), f"{type(value).__name__} {_show(value)}")
    if kind == "float":
        value = float(value)
        if not math.isfinite(value):
            raise ValidationError(command, arg, f"a finite number ({_describe(spec)})", repr(value))
    choices = spec.get("choices")
    if choices is not None and value not in choices:
        raise ValidationError(command, arg, f"one of {list(choices)}", _show(value))
    lo, hi = spec.get("min"), spec.get("max")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValidationError(command, arg, _describe(spec), f"{value}{_unit(spec)}")
    return value


def _describe(spec: dict[str, Any]) -> str:
    """What an argument takes, e.g. ``float 0..600 rpm`` or ``str, one of ['a', 'b']``."""
    text = str(spec.get("type", "float"))
    lo, hi = spec.get("min"), spec.get("max")
    if lo is not None or hi is not None:
        text += f" {'-inf' if lo is None else lo}..{'inf' if hi is None else hi}"
    text += _unit(spec)
    if spec.get("choices") is not None:
        text += f", one of {list(spec['choices'])}"
    return text


def _unit(spec: dict[str, Any]) -> str:
    unit = spec.get("unit") or ""
    return f" {unit}" if unit else ""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
