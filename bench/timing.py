"""Timing loops for metrics. Samples are wall microseconds from :func:`time.perf_counter_ns`."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence


def interleaved_samples(
    cases: Sequence[Callable[[], object]], *, rounds: int, warmup: int, block: int
) -> list[list[float]]:
    """Time ``rounds`` calls of each case, in blocks of ``block`` calls that alternate between cases.

    Interleaving puts the project and its raw limit under the same load: a noisy neighbour that slows
    one block slows the other case's neighbouring block too, instead of biasing one whole case. The
    order of the cases is reversed every other block. ``warmup`` untimed calls of each case come first.
    Returns one list of per-call durations (microseconds) per case.
    """
    if rounds <= 0 or block <= 0 or warmup < 0:
        raise ValueError(f"rounds {rounds} and block {block} must be > 0 and warmup {warmup} >= 0")
    for case in cases:
        for _ in range(warmup):
            case()
    samples: list[list[float]] = [[] for _ in cases]
    clock = time.perf_counter_ns
    done = 0
    order = list(range(len(cases)))
    while done < rounds:
        size = min(block, rounds - done)
        for index in order:
            case, out = cases[index], samples[index]
            for _ in range(size):
                start = clock()
                case()
                out.append((clock() - start) / 1000.0)
        done += size
        order.reverse()
    return samples


def repeat_seconds(run: Callable[[], object], *, repeats: int, warmup: int = 1) -> list[float]:
    """Wall seconds of each of ``repeats`` calls of ``run`` after ``warmup`` untimed calls."""
    if repeats <= 0 or warmup < 0:
        raise ValueError(f"repeats {repeats} must be > 0 and warmup {warmup} >= 0")
    for _ in range(warmup):
        run()
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        durations.append(time.perf_counter() - start)
    return durations
