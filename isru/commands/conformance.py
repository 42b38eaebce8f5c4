"""``isru conformance PORT``: run the ICD conformance suite (``hal.conformance``) against the device on a
port — real firmware on a rig, a pty from ``isru sim --pty``, or an emulator (``sim://DEVICE``)."""

from __future__ import annotations

import argparse
import importlib
import json

from base.clock import RealClock
from hal.conformance import ConformanceError, run_conformance
from hal.conformance_link import RawLink
from hal.errors import HalError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``conformance`` subcommand."""
    parser = subparsers.add_parser(
        "conformance",
        help="check that the device on a port keeps the ICD (docs/icd.md section 15)",
        description=(
            "Open PORT (a device path such as /dev/serial/by-id/..., a pty from 'isru sim --pty', or "
            "sim://DEVICE for an emulator in this process), learn the device from IDENTIFY and run every "
            "conformance check: definition hash, NACK precedence, fault gates, dead-man timing, event "
            "resend and the retry cache. The suite moves actuators. Exit status 0 when every check passes, "
            "1 when one fails, 2 when the port cannot be used."
        ),
    )
    parser.add_argument("port", help="the port: a device path or a pyserial URL")
    parser.add_argument("--baud", type=int, default=921_600, help="line rate (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--failures-only", action="store_true", help="print only the failed checks")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the suite; returns the exit status."""
    if args.port.startswith("sim://"):
        importlib.import_module("sim_hw")  # registers the sim:// scheme
    try:
        link = RawLink.open(args.port, RealClock(), 0xFF, baud=args.baud)
    except HalError as exc:
        print(f"isru conformance: {exc}")
        return 2
    try:
        report = run_conformance(link)
    except (HalError, ConformanceError) as exc:
        print(f"isru conformance: {args.port}: {exc}")
        return 2
    finally:
        link.close()
    if args.json:
        results = [{"check": r.name, "passed": r.passed, "detail": r.detail} for r in report.results]
        print(json.dumps({"device": report.device, "passed": report.passed, "results": results}, indent=2))
    else:
        lines = report.text().splitlines()
        if args.failures_only:
            lines = [line for line in lines[:-1] if line.startswith("FAIL")] + lines[-1:]
        print("\n".join(lines))
    return 0 if report.passed else 1
