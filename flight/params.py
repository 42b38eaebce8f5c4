"""Flight parameters: typed values declared in code, changed by command, saved atomically to disk.

Each parameter has a :class:`ParamSpec` (type, unit, inclusive range, default, description). The
:class:`ParameterStore` starts from the defaults and overlays the values saved in its JSON file; a saved
value that no longer validates (the range changed, the file was edited) is reported as an event and the
default kept. :meth:`ParameterStore.save` replaces the file atomically (:mod:`flight.atomic_file`), so
the file always holds either the previous or the new values.

Saved file layout: ``{"format": 1, "saved_t": <epoch s>, "values": {"<name>": <value>, ...}}``.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flight.atomic_file import atomic_write
from flight.commands import ArgSpec, command
from flight.errors import CommandRejected, ParameterError, PersistenceError
from flight.events import EventLog
from flight.telemetry import ChannelSpec
from link.schema import FALSE_WORDS, TRUE_WORDS, VALUE_TYPES, ParameterSpec

_LOGGER = logging.getLogger(__name__)

SOURCE = "params"
FILE_FORMAT = 1
PARAM_TYPES = VALUE_TYPES
_NAME = re.compile(r"[a-z][A-Za-z0-9_]*(\.[a-z][A-Za-z0-9_]*)*")

#: ``listener(name, value)`` is called after a parameter changes.
ParamListener = Callable[[str, Any], None]


@dataclass(frozen=True)
class ParamSpec(ParameterSpec):
    """One parameter (its dictionary entry is :class:`link.schema.ParameterSpec`): ``type`` is float, int,
    bool or str; ``lo``/``hi`` are inclusive, in ``unit``. Built with a valid name, type, range and default,
    or :class:`ParameterError`."""

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ParameterError(
                f"parameter name {self.name!r}: expected words of letters, digits and _ "
                "(each starting lower-case) joined by '.'"
            )
        if self.type not in PARAM_TYPES:
            raise ParameterError(f"parameter {self.name}: type must be one of {list(PARAM_TYPES)}, found {self.type!r}")
        if self.type in ("bool", "str") and (self.lo is not None or self.hi is not None):
            raise ParameterError(f"parameter {self.name}: a {self.type} parameter has no range")
        if self.lo is not None and self.hi is not None and self.lo > self.hi:
            raise ParameterError(f"parameter {self.name}: lo {self.lo:g} is above hi {self.hi:g}")
        self.convert(self.default)

    def expected(self) -> str:
        """What a valid value looks like, for messages."""
        text = {"float": "a number", "int": "an integer", "bool": "true or false", "str": "a string"}[self.type]
        unit = f" {self.unit}" if self.unit else ""
        if self.lo is not None and self.hi is not None:
            return f"{text} in {self.lo:g}..{self.hi:g}{unit}"
        if self.lo is not None:
            return f"{text} >= {self.lo:g}{unit}"
        if self.hi is not None:
            return f"{text} <= {self.hi:g}{unit}"
        return text + unit

    def convert(self, value: Any) -> Any:
        """``value`` (of the parameter's type, or a string spelling one) converted and range-checked.

        Raises :class:`ParameterError` naming the parameter, what was expected and what was found.
        """
        converted = self._convert_type(value)
        if converted is None:
            raise self._error(value)
        if self.type in ("float", "int") and (
            (self.lo is not None and converted < self.lo) or (self.hi is not None and converted > self.hi)
        ):
            raise self._error(value)
        return converted

    def _convert_type(self, value: Any) -> Any:
        if self.type == "str":
            return value if isinstance(value, str) else None
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
                return value.strip().lower() in TRUE_WORDS
            return None
        if isinstance(value, bool):
            return None
        if isinstance(value, str):
            value = _number(value.strip())
            if value is None:
                return None
        if not isinstance(value, int | float) or not math.isfinite(value):
            return None
        if self.type == "int":
            if isinstance(value, float):
                return int(value) if value.is_integer() else None
            return int(value)
        return float(value)

    def _error(self, value: Any) -> ParameterError:
        return ParameterError(
            f"parameter {self.name}: expected {self.expected()}, found {type(value).__name__} {value!r}"
        )


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


class ParameterStore:
    """Current parameter values, their saved copy on disk, and who to tell when one changes."""

    def __init__(self, specs: Iterable[ParamSpec], path: str | Path, events: EventLog) -> None:
        self.specs: dict[str, ParamSpec] = {}
        for spec in specs:
            if spec.name in self.specs:
                raise ParameterError(f"parameter {spec.name!r} is declared twice")
            self.specs[spec.name] = spec
        self.path = Path(path)
        self.events = events
        self._values: dict[str, Any] = {name: spec.convert(spec.default) for name, spec in self.specs.items()}
        #: ``param.<name>`` of every value, in the (fixed) order of ``_values``.
        self._channel_names = tuple(f"param.{name}" for name in self._values)
        self._listeners: list[tuple[str | None, ParamListener]] = []
        self.dirty = False
        self.sets = 0
        self.saves = 0
        self.load()

    # --------------------------------------------------------------------------------- reading
    def spec(self, name: str) -> ParamSpec:
        """The spec of ``name``; :class:`ParameterError` naming the known parameters."""
        try:
            return self.specs[name]
        except KeyError:
            raise ParameterError(f"no parameter {name!r}; expected one of {sorted(self.specs)}") from None

    def get(self, name: str) -> Any:
        """The current value of ``name``."""
        self.spec(name)
        return self._values[name]

    def values(self) -> dict[str, Any]:
        """Every current value, by name."""
        return dict(self._values)

    def dictionary(self) -> list[dict[str, Any]]:
        """The parameter dictionary for ground, sorted by name, with current values."""
        return [{**self.specs[n].as_dict(), "value": self._values[n]} for n in sorted(self.specs)]

    # --------------------------------------------------------------------------------- writing
    def subscribe(self, listener: ParamListener, name: str | None = None) -> None:
        """Call ``listener(name, value)`` after ``name`` (every parameter if None) changes."""
        if name is not None:
            self.spec(name)
        self._listeners.append((name, listener))

    def set(self, name: str, value: Any) -> Any:
        """Validate, convert and set ``name``; returns the value set. Raises :class:`ParameterError`."""
        spec = self.spec(name)
        converted = spec.convert(value)
        previous = self._values[name]
        self._values[name] = converted
        self.sets += 1
        if converted == previous:
            return converted
        self.dirty = True
        unit = f" {spec.unit}" if spec.unit else ""
        self.events.info(SOURCE, "param_set", f"{name} = {converted!r}{unit} (was {previous!r})", param=name)
        self._notify(name, converted)
        return converted

    def _notify(self, name: str, value: Any) -> None:
        for wanted, listener in self._listeners:
            if wanted is not None and wanted != name:
                continue
            try:
                listener(name, value)
            except Exception as exc:  # a listener's bug must not undo or block the change
                _LOGGER.exception("parameter listener %r failed", listener)
                self.events.error(SOURCE, "listener_failed", f"listener of {name} failed: {exc!r}", param=name)

    # ---------------------------------------------------------------------------------- on disk
    def save(self) -> None:
        """Write every current value to the file atomically; raises :class:`PersistenceError`."""
        document = {"format": FILE_FORMAT, "saved_t": self.events.clock.now(), "values": self._values}
        data = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")
        try:
            atomic_write(self.path, data)
        except OSError as exc:
            raise PersistenceError(f"cannot save parameters to {self.path}: {exc.strerror or exc}") from exc
        self.dirty = False
        self.saves += 1
        self.events.info(SOURCE, "params_saved", f"{len(self._values)} parameters saved to {self.path}")

    def load(self) -> int:
        """Overlay the saved values on the current ones; returns how many were applied.

        Problems are reported as events and never raised: a missing or unreadable file, bad JSON, an
        unknown name or a value that no longer validates leaves the affected parameters unchanged.
        """
        document = self._read()
        if document is None:
            return 0
        applied = 0
        for name, saved in document.items():
            spec = self.specs.get(name)
            if spec is None:
                self.events.warning(
                    SOURCE, "saved_unknown", f"{self.path}: saved parameter {name!r} is not declared; ignored"
                )
                continue
            try:
                value = spec.convert(saved)
            except ParameterError as exc:
                self.events.warning(
                    SOURCE, "saved_invalid", f"{self.path}: saved value rejected, {self._values[name]!r} kept: {exc}"
                )
                continue
            if value != self._values[name]:
                self._values[name] = value
                self._notify(name, value)
            applied += 1
        self.events.info(SOURCE, "params_loaded", f"{applied} saved parameter values loaded from {self.path}")
        return applied

    def _read(self) -> dict[str, Any] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.events.info(SOURCE, "params_defaults", f"no saved parameters at {self.path}; defaults in use")
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self.events.error(SOURCE, "params_unreadable", f"cannot read {self.path}: {exc}; defaults in use")
            return None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            self.events.error(SOURCE, "params_corrupt", f"{self.path}: expected JSON, found {exc}; defaults in use")
            return None
        values = document.get("values") if isinstance(document, dict) else None
        if not isinstance(document, dict) or document.get("format") != FILE_FORMAT or not isinstance(values, dict):
            self.events.error(
                SOURCE,
                "params_corrupt",
                f"{self.path}: expected an object with format {FILE_FORMAT} and a values object; defaults in use",
            )
            return None
        return values

    # ---------------------------------------------------------------------------------- commands
    @command(
        "param.set",
        "Set a flight parameter (the value is converted by the parameter's type and range-checked).",
        ArgSpec("name", "str", description="parameter name"),
        ArgSpec("value", "scalar", description="new value: a number, true/false or text, per the parameter"),
    )
    def cmd_set(self, name: str, value: Any) -> None:
        """Handler of ``param.set``."""
        try:
            self.set(name, value)
        except ParameterError as exc:
            raise CommandRejected("invalid_parameter", str(exc)) from exc

    @command("param.save", "Save every parameter's current value to flight storage.")
    def cmd_save(self) -> None:
        """Handler of ``param.save``."""
        try:
            self.save()
        except PersistenceError as exc:
            raise CommandRejected("save_failed", str(exc)) from exc

    # --------------------------------------------------------------------------------- telemetry
    def telemetry(self) -> dict[str, Any]:
        """``param.<name>`` for every value, and the store's ``params.dirty``/``params.sets``/``params.saves``."""
        values = dict(zip(self._channel_names, self._values.values(), strict=True))
        values.update({"params.dirty": self.dirty, "params.sets": self.sets, "params.saves": self.saves})
        return values

    def channels(self) -> list[ChannelSpec]:
        """Dictionary entries of :meth:`telemetry`."""
        specs = [
            # A value outside the parameter's own range is one flight should never hold: red.
            ChannelSpec(f"param.{s.name}", s.unit, s.description, s.type, alarm_low=s.lo, alarm_high=s.hi)
            for s in self.specs.values()
        ]
        specs += [
            ChannelSpec("params.dirty", description="true when values changed since the last save", type="bool"),
            ChannelSpec("params.sets", unit="count", description="parameter sets accepted", type="int"),
            ChannelSpec("params.saves", unit="count", description="saves to flight storage", type="int"),
        ]
        return specs
