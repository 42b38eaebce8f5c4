"""Typed, validated configuration from TOML.

A configuration schema is a tree of frozen dataclasses. Field types may be ``bool``, ``int``, ``float``,
``str``, another schema dataclass, ``list[T]``, ``dict[str, T]`` or ``T | None``. Ranges, choices and
units go in the field's metadata with :func:`setting`.

Any problem — a TOML syntax error, an unknown key, a wrong type, a value out of range or not among the
choices — raises :class:`ConfigError`, whose message names the file, the key path, what was expected
and what was found.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from base.errors import ConfigError

T = TypeVar("T")

__all__ = ["ConfigError", "build", "load_file", "load_text", "parse_toml", "read_text", "read_toml", "setting"]


def setting(
    default: Any = dataclasses.MISSING,
    *,
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple[Any, ...] | None = None,
    unit: str = "",
    doc: str = "",
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field with validation metadata (``lo``/``hi`` inclusive, ``choices``, ``unit``)."""
    meta = {"lo": lo, "hi": hi, "choices": choices, "unit": unit, "doc": doc}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def load_file(path: str | Path, schema: type[T]) -> T:
    """Read ``path`` and build ``schema`` from it (:class:`ConfigError` for anything wrong, see :func:`read_toml`)."""
    path = Path(path)
    return build(schema, read_toml(path), str(path))


def read_text(path: str | Path) -> str:
    """The text of the UTF-8 file ``path``. Raises :class:`ConfigError` naming the file — and, for a byte that
    is not UTF-8, its line and column (1-based) — if it cannot be read or decoded."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), "", "a readable TOML file", f"{type(exc).__name__}: {exc.strerror}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        found = f"byte 0x{data[exc.start]:02x} ({exc.reason})"
        raise ConfigError(str(path), "", "UTF-8 text", found, line, column) from exc


def read_toml(path: str | Path) -> dict[str, Any]:
    """The table parsed from the TOML file ``path``; raises :class:`ConfigError` naming the file and line."""
    return parse_toml(read_text(path), str(path))


def parse_toml(text: str, source: str = "<string>") -> dict[str, Any]:
    """The table parsed from TOML ``text``; raises :class:`ConfigError` naming ``source``, the line and column
    and what TOML expected there."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, column = (int(match.group(1)), int(match.group(2))) if match else (None, None)
        raise ConfigError(source, "", "valid TOML", f"a syntax error ({exc})", line, column) from exc


def load_text(text: str, schema: type[T], source: str = "<string>") -> T:
    """Parse TOML ``text`` and build ``schema`` from it; ``source`` names it in errors."""
    return build(schema, parse_toml(text, source), source)


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is list:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if origin is dict:
        return f"a table of {_type_name(typing.get_args(tp)[1])}"
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return f"a table [{tp.__name__}]"
    if tp is type(None):
        return "nothing"
    return getattr(tp, "__name__", str(tp))


def build(schema: type[T], data: Any, source: str, path: str = "") -> T:
    """Build dataclass ``schema`` from a parsed TOML table ``data``; ``path`` is the key path so far."""
    if not isinstance(data, dict):
        raise ConfigError(source, path, f"a table [{schema.__name__}]", _describe(data))
    hints = typing.get_type_hints(schema)
    fields = {f.name: f for f in dataclasses.fields(schema)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        key = f"{path}.{unknown[0]}" if path else unknown[0]
        raise ConfigError(source, key, f"one of the keys {sorted(fields)}", f"unknown key {unknown[0]!r}")
    values: dict[str, Any] = {}
    for name, fld in fields.items():
        key = f"{path}.{name}" if path else name
        if name not in data:
            if fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING:
                raise ConfigError(source, key, _type_name(hints[name]), "nothing (the key is required)")
            continue
        values[name] = _convert(hints[name], data[name], source, key, fld.metadata)
    return schema(**values)


def _convert(tp: Any, value: Any, source: str, key: str, meta: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [o for o in typing.get_args(tp) if o is not type(None)]
        if len(options) == 1:
            return _convert(options[0], value, source, key, meta)
        for option in options:
            try:
                return _convert(option, value, source, key, meta)
            except ConfigError:
                continue
        raise ConfigError(source, key, _type_name(tp), _describe(value))
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(source, key, _type_name(tp), _describe(value))
        (item,) = typing.get_args(tp)
        return [_convert(item, v, source, f"{key}[{i}]", {}) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(source, key, _type_name(tp), _describe(value))
        _, item = typing.get_args(tp)
        return {k: _convert(item, v, source, f"{key}.{k}", meta) for k, v in value.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return build(tp, value, source, key)
    return _scalar(tp, value, source, key, meta or {})


def _scalar(tp: Any, value: Any, source: str, key: str, meta: Any) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(source, key, "a boolean (true or false)", _describe(value))
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(source, key, "an integer", _describe(value))
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(source, key, "a number", _describe(value))
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(source, key, "a finite number", _describe(value))
    elif tp is str:
        if not isinstance(value, str):
            raise ConfigError(source, key, "a string", _describe(value))
    else:
        raise TypeError(f"schema field {key} has unsupported type {tp!r}")
    lo, hi, choices, unit = meta.get("lo"), meta.get("hi"), meta.get("choices"), meta.get("unit") or ""
    suffix = f" {unit}" if unit else ""
    if choices is not None and value not in choices:
        raise ConfigError(source, key, f"one of {list(choices)}", _describe(value))
    if lo is not None and hi is not None and not lo <= value <= hi:
        raise ConfigError(source, key, f"a value in {lo}..{hi}{suffix}", _describe(value))
    if lo is not None and value < lo:
        raise ConfigError(source, key, f"a value >= {lo}{suffix}", _describe(value))
    if hi is not None and value > hi:
        raise ConfigError(source, key, f"a value <= {hi}{suffix}", _describe(value))
    return value
