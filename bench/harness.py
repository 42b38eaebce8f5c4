"""Runs metrics one after another and judges each value against its target.

A metric that raises, or returns something that is not a :class:`~bench.registry.Result` of finite
numbers, becomes an :class:`Outcome` with an error message; the others still run.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bench.errors import MeasurementError
from bench.registry import RESERVED_FIELDS, Metric, Result, RunOptions

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """One metric's run: its result, or the error that stopped it; ``elapsed_s`` is wall seconds."""

    metric: Metric
    result: Result | None
    error: str | None
    elapsed_s: float

    @property
    def ok(self) -> bool | None:
        """True/False when the value meets/misses the target; None without a target; False on error."""
        if self.result is None:
            return False
        if self.metric.target is None:
            return None
        return self.metric.target.met_by(self.result.value)

    def as_dict(self) -> dict[str, Any]:
        """The JSON object of this metric: value, unit, raw, raw_unit, ratio, target, ok, extras."""
        target = self.metric.target
        out: dict[str, Any] = {
            "value": None,
            "unit": self.metric.unit,
            "raw": None,
            "raw_unit": None,
            "ratio": None,
            "target": str(target) if target is not None else None,
            "ok": self.ok,
        }
        if self.result is not None:
            out.update(
                value=self.result.value,
                raw=self.result.raw,
                raw_unit=self.result.raw_unit,
                ratio=self.result.ratio,
            )
            out.update(self.result.extra)
        if self.error is not None:
            out["error"] = self.error
        out["elapsed_s"] = round(self.elapsed_s, 3)
        return out


def check_result(metric: Metric, result: object) -> Result:
    """``result`` if it is a :class:`Result` of finite numbers; raises :class:`MeasurementError` naming
    the metric and what was wrong otherwise."""
    if not isinstance(result, Result):
        raise MeasurementError(f"metric {metric.key} returned {type(result).__name__}; expected a bench Result")
    _check_number(metric.key, "value", result.value, required=True)
    _check_number(metric.key, "raw", result.raw, required=False)
    _check_number(metric.key, "ratio", result.ratio, required=False)
    clashes = sorted(RESERVED_FIELDS & set(result.extra))
    if clashes:
        raise MeasurementError(
            f"metric {metric.key}: extra field(s) {clashes} reuse reserved names; expected other names"
        )
    for name, value in result.extra.items():
        if isinstance(value, str):
            continue
        _check_number(metric.key, name, value, required=True)
    return result


def _check_number(key: str, name: str, value: object, *, required: bool) -> None:
    if value is None and not required:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MeasurementError(f"metric {key}: {name} is {value!r}; expected a finite number")


def run_metric(metric: Metric, options: RunOptions) -> Outcome:
    """Run one metric, turning any exception into an error outcome."""
    start = time.perf_counter()
    try:
        result = check_result(metric, metric.function(options))
    except Exception as exc:  # one broken metric must not hide the others' figures
        _LOGGER.debug("metric %s failed", metric.key, exc_info=True)
        return Outcome(metric, None, f"{type(exc).__name__}: {exc}", time.perf_counter() - start)
    return Outcome(metric, result, None, time.perf_counter() - start)


def run_metrics(
    metrics: Iterable[Metric],
    options: RunOptions,
    on_start: Callable[[Metric], None] | None = None,
) -> list[Outcome]:
    """Run ``metrics`` in order; ``on_start(metric)`` is called before each (for progress output)."""
    outcomes = []
    for metric in metrics:
        if on_start is not None:
            on_start(metric)
        outcome = run_metric(metric, options)
        _LOGGER.info("%s: %s in %.1f s", metric.key, outcome.error or "done", outcome.elapsed_s)
        outcomes.append(outcome)
    return outcomes
