"""Generated sections of the documentation: a block between two HTML-comment markers that a script renders
and writes into its document (the validation table, the extraction tables), and the command line that does it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def section_in(text: str, begin: str, end: str) -> str:
    """The section (with its markers) found in a document's ``text``; '' if there is none."""
    start, stop = text.find(begin), text.find(end)
    return text[start : stop + len(end)] if start >= 0 and stop > start else ""


def section_main(
    argv: list[str] | None, prog: str, help_text: str, render: Callable[[], str], markers: tuple[str, str]
) -> int:
    """Print ``render()``, or with ``--write DOC`` replace the section between ``markers`` in DOC with it;
    returns the exit status (1 when DOC has no markers)."""
    begin, end = markers
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--write", type=Path, help=help_text)
    args = parser.parse_args(argv)
    section = render()
    if args.write is None:
        print(section)
        return 0
    text = args.write.read_text(encoding="utf-8")
    old = section_in(text, begin, end)
    if not old:
        print(f"{args.write}: no {begin} ... {end} markers", file=sys.stderr)
        return 1
    args.write.write_text(text.replace(old, section), encoding="utf-8")
    return 0
