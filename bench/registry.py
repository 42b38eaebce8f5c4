"""The metric API: declare a metric with :func:`metric`, return a :class:`Result` from it.

A metric module under :mod:`bench.metrics` looks like this::

    from bench.registry import Result, RunOptions, metric

    @metric("serial_rtt_x_raw", unit="x", target="<= 2.0")
    def serial_rtt(options: RunOptions) -> Result:
        ...  # measure the project and the raw limit, interleaved, and take medians
        return Result(value=project_us / raw_us, raw=raw_us, raw_unit="us", ratio=project_us / raw_us)

Adding a module to :mod:`bench.metrics` is all it takes: :func:`load_metrics` imports every module of
that package, and the decorator adds the function to :data:`REGISTRY`. The target applies to ``value``.
"""

from __future__ import annotations

import importlib
import logging
import math
import operator
import pkgutil
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from bench.errors import MetricDefinitionError, UnknownMetricError

_LOGGER = logging.getLogger(__name__)

_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_TARGET_PATTERN = re.compile(r"^\s*(<=|>=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
#: Fields every metric reports; a metric's extra fields may not reuse these names.
RESERVED_FIELDS = frozenset({"value", "unit", "raw", "raw_unit", "ratio", "target", "ok", "error", "elapsed_s"})

ExtraValue = float | int | str


#: A sample count or a duration chosen by :meth:`RunOptions.pick`.
_Count = TypeVar("_Count", int, float)


@dataclass(frozen=True)
class RunOptions:
    """How the harness asks metrics to run. ``quick`` trades precision for a short run (all metrics
    together well under a minute on two cores)."""

    quick: bool = False

    def pick(self, full: _Count, quick: _Count) -> _Count:
        """``quick`` in a quick run, ``full`` otherwise (sample counts, repeats)."""
        return quick if self.quick else full


@dataclass(frozen=True)
class Result:
    """What one metric measured.

    ``value`` is in the metric's declared unit and is what the target is checked against. ``raw`` is the
    raw limit measured (or known, like a line rate) in the same run, in ``raw_unit``; ``ratio`` relates
    the project to it. A metric without a raw limit leaves both ``None``. ``extra`` holds further
    figures (both medians, sample counts), each named with its unit (``project_us``).
    """

    value: float
    raw: float | None = None
    ratio: float | None = None
    raw_unit: str | None = None
    extra: dict[str, ExtraValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """A pass condition on a metric's value, written ``"<= 2.0"`` or ``">= 50"``."""

    op: str
    threshold: float
    text: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> Target:
        """Parse ``"<op> <number>"`` with op one of ``<= >= < >``; raises :class:`MetricDefinitionError`."""
        match = _TARGET_PATTERN.match(text) if isinstance(text, str) else None
        if match is None:
            raise MetricDefinitionError(
                f"target {text!r} is not understood; expected an operator (<=, >=, <, >) and a number, e.g. '<= 2.0'"
            )
        threshold = float(match.group(2))
        if not math.isfinite(threshold):
            raise MetricDefinitionError(f"target {text!r} has a non-finite threshold; expected a finite number")
        return cls(match.group(1), threshold, f"{match.group(1)} {match.group(2)}")

    def met_by(self, value: float) -> bool:
        """True if ``value`` satisfies the condition."""
        return _COMPARATORS[self.op](value, self.threshold)

    def __str__(self) -> str:
        return self.text or f"{self.op} {self.threshold:g}"


MetricFunction = Callable[[RunOptions], Result]


@dataclass(frozen=True)
class Metric:
    """A registered metric: its key, the unit of its value, its target (or None) and the function."""

    key: str
    unit: str
    target: Target | None
    function: MetricFunction
    doc: str

    @property
    def summary(self) -> str:
        """First paragraph of the metric's docstring, on one line."""
        paragraph = self.doc.strip().split("\n\n", 1)[0]
        return " ".join(paragraph.split())


class Registry:
    """Metrics by key, in registration order."""

    def __init__(self) -> None:
        self._metrics: dict[str, Metric] = {}

    def metric(self, key: str, *, unit: str, target: str | None = None) -> Callable[[MetricFunction], MetricFunction]:
        """Decorator registering ``function(options) -> Result`` as metric ``key``.

        ``key`` is snake_case; ``unit`` names the unit of ``Result.value``; ``target`` is a condition on
        the value such as ``"<= 2.0"`` (None: reported, never judged).
        """
        if not isinstance(key, str) or not _KEY_PATTERN.match(key):
            raise MetricDefinitionError(f"metric key {key!r} is invalid; expected snake_case like 'serial_rtt_x_raw'")
        if not isinstance(unit, str) or not unit.strip():
            raise MetricDefinitionError(f"metric {key!r}: unit {unit!r} is invalid; expected a non-empty string")
        parsed = None if target is None else Target.parse(target)

        def register(function: MetricFunction) -> MetricFunction:
            self.add(Metric(key, unit, parsed, function, function.__doc__ or ""))
            return function

        return register

    def add(self, metric: Metric) -> None:
        """Register ``metric``; raises :class:`MetricDefinitionError` if its key is taken."""
        existing = self._metrics.get(metric.key)
        if existing is not None and existing.function is not metric.function:
            raise MetricDefinitionError(
                f"metric key {metric.key!r} registered twice: by {_where(existing.function)} "
                f"and by {_where(metric.function)}; expected each key once"
            )
        self._metrics[metric.key] = metric

    def keys(self) -> list[str]:
        """Registered keys in registration order."""
        return list(self._metrics)

    def __iter__(self) -> Iterator[Metric]:
        return iter(list(self._metrics.values()))

    def __len__(self) -> int:
        return len(self._metrics)

    def select(self, keys: Iterable[str] | None) -> list[Metric]:
        """The metrics named by ``keys`` in the order given (all, if None); duplicates dropped.

        Raises :class:`UnknownMetricError` naming every unknown key and the known ones.
        """
        if keys is None:
            return list(self)
        wanted = list(dict.fromkeys(keys))
        unknown = [key for key in wanted if key not in self._metrics]
        if unknown:
            known = ", ".join(self.keys()) or "(none)"
            raise UnknownMetricError(f"unknown metric key(s) {', '.join(unknown)}; expected one of: {known}")
        return [self._metrics[key] for key in wanted]


def _where(function: Callable[..., object]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


#: The registry :func:`metric` adds to and ``python -m bench`` runs.
REGISTRY = Registry()
#: Decorator registering a metric in :data:`REGISTRY`; see :meth:`Registry.metric`.
metric = REGISTRY.metric


def load_metrics(package: str = "bench.metrics") -> Registry:
    """Import every module of ``package`` (which registers its metrics) and return :data:`REGISTRY`."""
    root = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda module: module.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"{package}.{info.name}")
        _LOGGER.debug("loaded metric module %s.%s", package, info.name)
    return REGISTRY
