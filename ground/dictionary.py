"""The flight dictionary as ground sees it: commands, channels, parameters, events and the mission diagram.

Ground builds everything from this (forms, plots, alarms); no command or channel is named in ground code.
:meth:`GroundDictionary.validate` applies the rules flight's dispatcher applies — the same function,
:func:`link.schema.validate_args` (types, ranges, choices, required and unknown arguments) — so a bad command is
refused before it leaves, with a message that names the argument, what was expected and what was found.
:meth:`GroundDictionary.parse_args` turns ``key=value`` strings (from a command line) into typed arguments using
the dictionary's types.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ground.errors import UnknownChannel, UnknownCommand, ValidationError
from link.errors import InvalidArgument
from link.schema import FALSE_WORDS, SEVERITIES, TRUE_WORDS, ArgSpec, show, validate_args

__all__ = ["DEFAULT_ESTOP", "SEVERITIES", "GroundDictionary"]

#: Command name flight uses for the emergency stop when its dictionary does not name one.
DEFAULT_ESTOP = "estop"


class GroundDictionary:
    """Read-only view of the dictionary flight sends on connect (see ``FlightApp.dictionary()``)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        if not isinstance(raw, dict):
            raise ValidationError("", "dictionary", "a dict with commands, telemetry and parameters", show(raw))
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
    def sequences(self) -> list[dict[str, Any]]:
        """The stored sequences flight has loaded: name, description and steps (command, args, after_s, at)."""
        found = self.raw.get("sequences")
        return [s for s in found if isinstance(s, dict) and "name" in s] if isinstance(found, list) else []

    def sequence(self, name: str) -> dict[str, Any] | None:
        """The stored sequence called ``name``, or None."""
        return next((s for s in self.sequences if s["name"] == name), None)

    @property
    def sites(self) -> list[dict[str, Any]]:
        """The mission's candidate sites: index, x_m, y_m (odometry frame, m)."""
        found = self.raw.get("sites")
        return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []

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
        specs = [ArgSpec.from_dict(a) for a in entry.get("args", [])]
        try:
            return validate_args(name, specs, {} if args is None else args)
        except InvalidArgument as exc:
            raise ValidationError(name, exc.argument, exc.expected, exc.found) from exc

    def parse_args(self, name: str, tokens: Iterable[str]) -> dict[str, Any]:
        """Parse ``key=value`` strings into typed arguments of command ``name`` and validate them.

        ``float`` takes any decimal or exponent form, ``int`` whole numbers (``0x`` hex too), ``bool`` one of
        true/false, yes/no, on/off, 1/0, ``str`` and ``scalar`` the text as written (flight converts a scalar).
        """
        entry = self.command(name)
        specs = {a["name"]: ArgSpec.from_dict(a) for a in entry.get("args", [])}
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


def _parse(command: str, spec: ArgSpec, text: str) -> Any:
    kind = spec.type
    stripped = text.strip()
    try:
        if kind == "float":
            return float(stripped)
        if kind == "int":
            return int(stripped, 0) if stripped.lower().startswith(("0x", "0o", "0b")) else int(stripped)
    except ValueError:
        raise ValidationError(command, spec.name, spec.describe(), repr(text)) from None
    if kind == "bool":
        lowered = stripped.lower()
        if lowered in TRUE_WORDS:
            return True
        if lowered in FALSE_WORDS:
            return False
        raise ValidationError(command, spec.name, "bool (true/false, yes/no, on/off, 1/0)", repr(text))
    return text
