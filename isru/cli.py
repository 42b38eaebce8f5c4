"""The ``isru`` command: one entry point, one subcommand per job.

Each subcommand lives in its own module under :mod:`isru.commands` and exposes
``register(subparsers) -> None``; the parser it adds sets ``func(args) -> int`` as its default.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from base.config_loader import ConfigError

#: Subcommand modules, in the order ``isru --help`` lists them.
COMMAND_MODULES = (
    "isru.commands.demo",
    "isru.commands.flight",
    "isru.commands.sim",
    "isru.commands.serial_monitor",
    "isru.commands.conformance",
    "isru.commands.console",
    "isru.commands.ground",
    "isru.commands.keys",
    "isru.commands.users",
    "isru.commands.ledger",
    "isru.commands.store",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="isru", description="Control stack for water-mining rovers: simulation, flight and ground."
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``isru`` command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:  # a bad file met after start-up (a sequence, a derived config): named, exit 2
        print(f"isru {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`isru store show ... | head`): stop quietly, as Unix tools do
        # point stdout at /dev/null so that the interpreter's own flush at exit does not raise again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the broken pipe


if __name__ == "__main__":
    sys.exit(main())
