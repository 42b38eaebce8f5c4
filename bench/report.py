"""Presents outcomes: a plain-text table for people, one JSON object for machines."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from bench.harness import Outcome

_COLUMNS = ("metric", "value", "unit", "raw limit", "ratio", "target", "ok")
_RIGHT_ALIGNED = frozenset({"value", "ratio"})


def format_number(value: float | None) -> str:
    """A short human form: integers as they are, thousands grouped above 1000, two decimals down to 1,
    three significant digits below; ``-`` for None."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 1 or magnitude == 0:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _mark(outcome: Outcome) -> str:
    if outcome.error is not None:
        return "ERROR"
    ok = outcome.ok
    if ok is None:
        return "-"
    return "pass" if ok else "FAIL"


def _row(outcome: Outcome) -> tuple[str, ...]:
    result = outcome.result
    target = outcome.metric.target
    if result is None:
        value = raw = ratio = "-"
    else:
        value = format_number(result.value)
        raw = format_number(result.raw)
        if result.raw is not None and result.raw_unit:
            raw = f"{raw} {result.raw_unit}"
        ratio = format_number(result.ratio)
    return (
        outcome.metric.key,
        value,
        outcome.metric.unit,
        raw,
        ratio,
        str(target) if target is not None else "-",
        _mark(outcome),
    )


def format_table(outcomes: Sequence[Outcome]) -> str:
    """The table of ``python -m bench``: one row per metric, then each metric's extra figures and errors."""
    rows = [_COLUMNS, *(_row(outcome) for outcome in outcomes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]

    def line(row: Sequence[str]) -> str:
        cells = [
            cell.rjust(width) if name in _RIGHT_ALIGNED else cell.ljust(width)
            for name, cell, width in zip(_COLUMNS, row, widths, strict=True)
        ]
        return "  ".join(cells).rstrip()

    lines = [line(rows[0]), "  ".join("-" * width for width in widths)]
    lines += [line(row) for row in rows[1:]]
    details = [_details(outcome) for outcome in outcomes]
    details = [text for text in details if text]
    if details:
        lines.append("")
        lines += details
    return "\n".join(lines)


def _details(outcome: Outcome) -> str:
    key = outcome.metric.key
    if outcome.error is not None:
        return f"{key}: error: {outcome.error}"
    if outcome.result is None or not outcome.result.extra:
        return ""
    parts = [
        f"{name}={value if isinstance(value, str) else format_number(value)}"
        for name, value in outcome.result.extra.items()
    ]
    return f"{key} ({outcome.elapsed_s:.1f} s): " + ", ".join(parts)


def format_json(outcomes: Sequence[Outcome]) -> str:
    """One JSON object mapping each metric key to its :meth:`Outcome.as_dict`."""
    document = {outcome.metric.key: outcome.as_dict() for outcome in outcomes}
    return json.dumps(document, indent=2, allow_nan=False)
