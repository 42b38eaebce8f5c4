"""Errors of the benchmark harness: a metric that is declared wrongly or cannot run."""

from __future__ import annotations


class BenchError(Exception):
    """Base class for every error the benchmark harness raises."""


class MetricDefinitionError(BenchError):
    """A metric is declared wrongly: bad key, unit or target, or a key registered twice."""


class UnknownMetricError(BenchError):
    """A metric key was asked for that no module registers."""


class MeasurementError(BenchError):
    """A measurement could not be made: a far-end process did not start, a reply never came, or the
    result is not a finite number."""
