"""Command line of ``python -m bench``: choose metrics, run them, print a table or JSON."""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
from collections.abc import Iterable

from bench.errors import BenchError
from bench.harness import run_metrics
from bench.registry import Metric, Registry, RunOptions, load_metrics
from bench.report import format_json, format_table

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_DESCRIPTION = """\
Measure the project against its raw limits.

Every metric measures a piece of isru and the raw limit it sits on in the same run (for example a
request/ACK through hal.transport.Transport over a pty, and a bare echo of the same byte counts through
the same pty API), then reports the value, the raw limit and their ratio. Times are medians of many
samples, interleaved between the project and the raw case, because shared machines are noisy.
"""

_EPILOG_HEAD = """\
output:
  The table has one row per metric: key, value, unit, raw limit (with its unit), ratio, target and a
  mark: pass / FAIL against the target, '-' when the metric has no target, ERROR when it could not run.
  Extra figures (both medians, sample counts) follow the table. With --json, stdout is exactly one JSON
  object: {key: {"value", "unit", "raw", "raw_unit", "ratio", "target", "ok", ...extras, "elapsed_s"}};
  raw and ratio are null for a metric without a raw limit, and a failed metric adds "error".

exit status:
  0 every selected metric ran (targets are reported, not enforced, unless --strict);
  1 a metric could not run, or with --strict a metric missed its target;
  2 bad command line (e.g. an unknown key for --only).

adding a metric:
  Put a module in bench/metrics/ with a function decorated
  @metric("key", unit="x", target="<= 2.0") that takes RunOptions and returns
  Result(value, raw=..., ratio=..., raw_unit=..., extra={...}); python -m bench picks it up.
"""


def build_parser(registry: Registry) -> argparse.ArgumentParser:
    """The argument parser; its epilog lists the registered metrics."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=_DESCRIPTION,
        epilog=_EPILOG_HEAD + "\n" + _metric_list(registry),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer samples and repeats: every metric together finishes in well under a minute",
    )
    parser.add_argument(
        "--only",
        metavar="KEY[,KEY]",
        action="append",
        help="run only these metrics (comma-separated; may be repeated); see the list below",
    )
    parser.add_argument("--list", action="store_true", help="list the metrics and their targets, run nothing")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a metric misses its target")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log to stderr (-vv for debug)")
    return parser


def _metric_list(metrics: Iterable[Metric]) -> str:
    indent = " " * 6
    lines = ["metrics:"]
    for metric in metrics:
        target = f"target {metric.target}" if metric.target is not None else "no target"
        lines.append(f"  {metric.key}  [{metric.unit}, {target}]")
        if metric.summary:
            lines += textwrap.wrap(metric.summary, width=100, initial_indent=indent, subsequent_indent=indent)
    if len(lines) == 1:
        lines.append("  (none registered)")
    return "\n".join(lines)


def _selected_keys(only: list[str] | None) -> list[str] | None:
    if only is None:
        return None
    keys = [key.strip() for item in only for key in item.split(",") if key.strip()]
    if not keys:
        raise BenchError("--only got no metric key; expected KEY[,KEY]")
    return keys


def _progress(metric: Metric) -> None:
    print(f"running {metric.key} ...", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m bench``; returns the exit status."""
    registry = load_metrics()
    parser = build_parser(registry)
    args = parser.parse_args(argv)
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, stream=sys.stderr, format=_LOG_FORMAT)
    try:
        metrics = registry.select(_selected_keys(args.only))
    except BenchError as exc:
        print(f"python -m bench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.list:
        print(_metric_list(metrics))
        return EXIT_OK
    outcomes = run_metrics(metrics, RunOptions(quick=args.quick), on_start=None if args.json else _progress)
    print(format_json(outcomes) if args.json else format_table(outcomes))
    failed = any(outcome.error is not None for outcome in outcomes)
    missed = any(outcome.ok is False for outcome in outcomes)
    return EXIT_FAILED if failed or (args.strict and missed) else EXIT_OK
