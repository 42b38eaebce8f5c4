"""The ledger's telemetry evidence line, encoded without re-encoding what did not change.

Once per housekeeping tick the :class:`~flight.ledger.RecordBook` hashes the line
``{"t": …, "telemetry": {channel: value, …}}`` in canonical JSON (keys sorted, separators ``,`` and ``:``,
ASCII only; docs/ledger.md). :class:`EvidenceLine` produces exactly the bytes ``json.dumps(..., sort_keys=True,
separators=(",", ":"), default=str)`` produces, but keeps each channel's encoded ``"name":value`` text and
reuses it while the channel holds the very same value object (a counter, a state string, a flag that did not
change), so a tick costs one identity test for most of the few hundred channels instead of a full encode.
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring_ascii as _encode_str
from typing import Any

__all__ = ["EvidenceLine", "canonical_json"]

_float_repr = float.__repr__
_int_repr = int.__repr__
#: Value types whose encoded text may be kept while the channel holds the same object (immutable ones only).
_KEEPABLE = frozenset({float, str, bool, int, type(None)})


def canonical_json(value: Any) -> str:
    """``value`` in the ledger's canonical JSON text (sorted keys, compact, ASCII, ``str()`` of the unknown)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _encode_value(value: Any) -> str:
    """One JSON value exactly as :func:`canonical_json` writes it."""
    kind = type(value)
    if kind is float:
        if value != value:
            return "NaN"
        if value == math.inf:
            return "Infinity"
        if value == -math.inf:
            return "-Infinity"
        return _float_repr(value)
    if kind is str:
        return str(_encode_str(value))
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return _int_repr(value)
    if value is None:
        return "null"
    return canonical_json(value)  # containers, enums, anything else: the encoder itself


class EvidenceLine:
    """Encodes ``{"t": t, "telemetry": snapshot}`` as canonical JSON, reusing unchanged channels' text."""

    def __init__(self) -> None:
        self._names: frozenset[str] = frozenset()
        self._order: list[tuple[str, str]] = []  # (channel, its encoded '"channel":' prefix), sorted
        self._cache: dict[str, tuple[Any, str]] = {}  # channel -> (value object, encoded '"channel":value')

    def encode(self, t: float, snapshot: dict[str, Any]) -> str:
        """The canonical JSON text of ``{"t": t, "telemetry": snapshot}``."""
        if len(snapshot) != len(self._names) or not self._names.issuperset(snapshot):
            if not all(type(name) is str for name in snapshot):
                return canonical_json({"t": t, "telemetry": snapshot})  # the encoder's own key conversion
            self._names = frozenset(snapshot)
            self._order = [(name, _encode_str(name) + ":") for name in sorted(snapshot)]
            self._cache = {name: entry for name, entry in self._cache.items() if name in self._names}
        cache = self._cache
        parts = []
        for name, prefix in self._order:
            value = snapshot[name]
            entry = cache.get(name)
            if entry is None or entry[0] is not value:
                text = prefix + _encode_value(value)
                if type(value) not in _KEEPABLE:
                    parts.append(text)
                    continue
                entry = cache[name] = (value, text)
            parts.append(entry[1])
        return '{"t":' + _encode_value(t) + ',"telemetry":{' + ",".join(parts) + "}}"
