"""Generates everything derived from the machine-readable ICD, ``hal/icd.toml``: the generated regions
of ``docs/icd.md`` and the C header ``docs/isru_icd.h``.

``python -m hal.icd_gen --write`` rewrites both, ``--check`` exits with status 1 naming every stale
output (the test suite runs the same check), and without options the list of outputs is printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hal.icd_doc import DOC_PATH, replace_regions, stale_regions
from hal.icd_header import HEADER_PATH, render_header


def stale_outputs(doc_path: Path = DOC_PATH, header_path: Path = HEADER_PATH) -> list[str]:
    """Descriptions of the generated outputs that differ from what the definition renders now."""
    stale = [f"{doc_path}: region {r!r}" for r in stale_regions(doc_path.read_text(encoding="utf-8"))]
    current = header_path.read_text(encoding="utf-8") if header_path.exists() else ""
    if current != render_header():
        stale.append(f"{header_path}")
    return stale


def write_outputs(doc_path: Path = DOC_PATH, header_path: Path = HEADER_PATH) -> list[Path]:
    """Rewrite every stale output; returns the files written."""
    written = []
    document = doc_path.read_text(encoding="utf-8")
    updated = replace_regions(document)
    if updated != document:
        doc_path.write_text(updated, encoding="utf-8")
        written.append(doc_path)
    header = render_header()
    if not header_path.exists() or header_path.read_text(encoding="utf-8") != header:
        header_path.write_text(header, encoding="utf-8")
        written.append(header_path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--write`` or ``--check``."""
    parser = argparse.ArgumentParser(prog="python -m hal.icd_gen", description=__doc__.splitlines()[0])
    parser.add_argument("--doc", type=Path, default=DOC_PATH, help="the ICD document (default: %(default)s)")
    parser.add_argument("--header", type=Path, default=HEADER_PATH, help="the C header (default: %(default)s)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="rewrite the generated outputs")
    action.add_argument("--check", action="store_true", help="exit 1 if a generated output is stale")
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = stale_outputs(args.doc, args.header)
            for item in stale:
                print(f"{item} is stale; run: python -m hal.icd_gen --write")
            return 1 if stale else 0
        if args.write:
            for path in write_outputs(args.doc, args.header):
                print(f"wrote {path}")
            print("generated outputs up to date")
            return 0
    except (OSError, ValueError) as exc:
        print(f"icd_gen: {exc}", file=sys.stderr)
        return 2
    print(f"{args.doc}\n{args.header}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
