"""Limit bands of telemetry channels, as the flight dictionary gives them.

Limits are inclusive bounds: ``warn_low``/``warn_high`` enclose the normal band (outside it: yellow),
``alarm_low``/``alarm_high`` enclose the tolerable band (outside it: red). A missing bound is unbounded.
"""

from __future__ import annotations

import math
from typing import Any

NOMINAL = "nominal"
WARNING = "warning"
ALARM = "alarm"

#: CSS classes of each level in the console (Tailwind colours).
LEVEL_CLASSES = {NOMINAL: "", WARNING: "bg-amber-200 text-black", ALARM: "bg-red-600 text-white"}


def level(spec: dict[str, Any], value: Any) -> str:
    """:data:`NOMINAL`, :data:`WARNING` or :data:`ALARM` for ``value`` against the limits in ``spec``
    (a channel dictionary entry). Values that are not numbers (text, None) are always nominal."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return NOMINAL
    if _outside(value, spec.get("alarm_low"), spec.get("alarm_high")):
        return ALARM
    if _outside(value, spec.get("warn_low"), spec.get("warn_high")):
        return WARNING
    return NOMINAL


def describe(spec: dict[str, Any]) -> str:
    """The limits of ``spec`` in one short text, e.g. ``"warn [0, 80] alarm [-, 95] K"`` ('' if none)."""
    parts = []
    for label, low, high in (
        ("warn", spec.get("warn_low"), spec.get("warn_high")),
        ("alarm", spec.get("alarm_low"), spec.get("alarm_high")),
    ):
        if low is not None or high is not None:
            parts.append(f"{label} [{_fmt(low)}, {_fmt(high)}]")
    if parts and spec.get("unit"):
        parts.append(str(spec["unit"]))
    return " ".join(parts)


def _outside(value: float, low: float | None, high: float | None) -> bool:
    return (low is not None and value < low) or (high is not None and value > high)


def _fmt(bound: float | None) -> str:
    return "-" if bound is None else f"{bound:g}"
