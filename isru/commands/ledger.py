"""``isru ledger``: the resource ledger — bundles partners verify offline, reports, witness cosignatures.

* ``isru ledger export DIR`` — write the ground log's bundle (records.jsonl, checkpoint, checkpoints/,
  proofs/, keys/) from ``--log FILE`` (default ``[ground] ledger``, or beside the archive) signed with the
  log key in ``--keys`` (``ledger/log.skey``).
* ``isru ledger verify DIR [--rover-key K] [--log-key L]`` — check everything offline: every record's
  signature, the records' root against the checkpoint, every inclusion proof, every checkpoint against the
  records and every consistency proof. Exit 0 when all holds; 1 naming each line or checkpoint that fails.
* ``isru ledger report DIR --from T --to T --csv FILE --html FILE`` — the period's extraction report from a
  verified bundle, each record with the checkpoint it is anchored in.
* ``isru ledger witness-key DIR NAME`` — make a partner's cosigning key in the key directory.
* ``isru ledger cosign DIR --witness-key SKEY`` — a partner verifies the bundle, checks its checkpoint is
  consistent with the last one it cosigned (``SKEY.state``), and adds its cosignature to ``DIR/checkpoint``.
* ``isru ledger add-cosignature NOTE`` — the ground operator stores a partner's cosigned checkpoint in the log.

See docs/ledger.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from base.config_loader import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ledger`` subcommand."""
    parser = subparsers.add_parser(
        "ledger",
        help="the resource ledger: export, verify, report, cosign",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="ledger_command", metavar="SUBCOMMAND")
    export = sub.add_parser("export", help="write the log's bundle to DIR")
    export.add_argument("directory", metavar="DIR")
    _log_options(export)
    export.set_defaults(func=_export)
    verify = sub.add_parser("verify", help="check a bundle offline; exit 1 naming what fails")
    verify.add_argument("directory", metavar="DIR")
    verify.add_argument("--rover-key", help="the rover's verifier key (file or text; default DIR/keys/rover.vkey)")
    verify.add_argument("--log-key", help="the log's verifier key (file or text; default DIR/keys/log.vkey)")
    verify.set_defaults(func=_verify)
    report = sub.add_parser("report", help="the period's extraction report (CSV and HTML) from a verified bundle")
    report.add_argument("directory", metavar="DIR")
    report.add_argument("--from", dest="t0", required=True, help="start: ISO time or epoch seconds")
    report.add_argument("--to", dest="t1", required=True, help="end: ISO time or epoch seconds")
    report.add_argument("--csv", required=True, help="CSV file to write")
    report.add_argument("--html", required=True, help="HTML file to write")
    report.add_argument("--rover-key", help="the rover's verifier key (default DIR/keys/rover.vkey)")
    report.add_argument("--log-key", help="the log's verifier key (default DIR/keys/log.vkey)")
    report.set_defaults(func=_report)
    witness = sub.add_parser("witness-key", help="make a partner's cosigning key in a key directory")
    witness.add_argument("keys", metavar="DIR")
    witness.add_argument("name", metavar="NAME", help="the witness's name, e.g. partner.example/w1")
    witness.set_defaults(func=_witness_key)
    cosign = sub.add_parser("cosign", help="verify a bundle and cosign its checkpoint (a partner)")
    cosign.add_argument("directory", metavar="DIR")
    cosign.add_argument("--witness-key", required=True, help="the partner's secret cosigning key (.skey)")
    cosign.add_argument("--log-key", help="the log's verifier key (default DIR/keys/log.vkey)")
    cosign.add_argument("--rover-key", help="the rover's verifier key (default DIR/keys/rover.vkey)")
    cosign.set_defaults(func=_cosign)
    add = sub.add_parser("add-cosignature", help="store a partner's cosigned checkpoint in the log")
    add.add_argument("note", metavar="NOTE", help="the cosigned checkpoint file")
    _log_options(add)
    add.set_defaults(func=_add_cosignature)
    parser.set_defaults(func=lambda _args: parser.print_help() or 2)


def _log_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="configuration file (default: the embedded configs/sim.toml)")
    parser.add_argument("--log", help="ledger log file (default: [ground] ledger, or beside [ground] archive)")
    parser.add_argument("--keys", help="key directory (default: [link] keys)")


def _fail(message: str, code: int = 2) -> int:
    print(f"isru ledger: {message}", file=sys.stderr)
    return code


def _open_log(args: argparse.Namespace) -> tuple[Any, Path]:
    from base.clock import RealClock
    from ground.errors import LedgerError
    from ground.ledger.log import LedgerLog
    from isru.config import load_config
    from link.config import resolve_keys_dir
    from link.ledger_keys import LOG, load_signer, signer_path

    config = load_config(args.config)
    keys = resolve_keys_dir(args.keys or config.link.keys)
    path = args.log or config.ground.ledger
    if not path and config.ground.archive:
        path = str(Path(config.ground.archive).with_suffix(".ledger.sqlite"))
    if not path or not Path(path).exists():
        raise LedgerError(f"no ledger log {path!r}; expected the file the archiving station writes (--log FILE)")
    return LedgerLog(path, load_signer(signer_path(keys, LOG)), RealClock()), keys


def _export(args: argparse.Namespace) -> int:
    from ground.errors import LedgerError
    from ground.ledger.bundle import export_bundle
    from link.errors import KeyFileError
    from link.ledger_keys import ROVER, load_verifier

    try:
        log, keys = _open_log(args)
        try:
            rover = load_verifier(keys / "ledger" / f"{ROVER}.vkey")
            witnesses = [load_verifier(p) for p in sorted((keys / "ledger" / "witnesses").glob("*.vkey"))]
            export_bundle(log, args.directory, rover, witnesses)
            size = log.size
        finally:
            log.close()
    except (ConfigError, LedgerError, KeyFileError) as exc:
        return _fail(str(exc))
    print(f"isru ledger: {size} record(s) exported to {args.directory}")
    return 0


def _verified(args: argparse.Namespace) -> Any:
    from ground.ledger.bundle import verify_bundle

    return verify_bundle(args.directory, args.rover_key, args.log_key)


def _verify(args: argparse.Namespace) -> int:
    report = _verified(args)
    if not report.ok:
        for problem in report.problems:
            print(f"FAIL {problem}")
        return _fail(f"{args.directory}: {len(report.problems)} problem(s); the bundle does not verify", 1)
    head = report.checkpoint
    cosigners = sorted({c.name for c in report.witnesses.get(head.size, [])})
    print(
        f"isru ledger: OK {report.records} record(s) signed by the rover, in checkpoint {head.origin} size "
        f"{head.size}; {report.checkpoints} checkpoint(s) consistent; witnesses: {', '.join(cosigners) or 'none'}"
    )
    return 0


def _report(args: argparse.Namespace) -> int:
    from ground.errors import LedgerError
    from ground.ledger.report import report_rows, write_csv, write_html
    from isru.commands.ground import _parse_time

    try:
        t0, t1 = _parse_time(args.t0, "--from"), _parse_time(args.t1, "--to")
    except ValueError as exc:
        return _fail(str(exc))
    verified = _verified(args)
    if not verified.ok:
        return _fail(f"{args.directory} does not verify ({verified.problems[0]}); no report written", 1)
    try:
        rows = report_rows(verified, verified.roots, t0, t1)
        write_csv(rows, args.csv)
        write_html(rows, args.html, f"Extraction report {args.t0} to {args.t1}")
    except LedgerError as exc:
        return _fail(str(exc))
    print(f"isru ledger: {len(rows)} extraction(s) written to {args.csv} and {args.html}")
    return 0


def _witness_key(args: argparse.Namespace) -> int:
    from link.errors import KeyFileError
    from link.ledger_keys import add_witness

    try:
        path = add_witness(args.keys, args.name)
    except KeyFileError as exc:
        return _fail(str(exc))
    print(f"isru ledger: witness key {path} (give {path.with_suffix('.vkey')} to the log's operator)")
    return 0


def _cosign(args: argparse.Namespace) -> int:
    from base.clock import RealClock
    from ground.errors import LedgerError
    from ground.ledger.witness import Witness
    from link.errors import KeyFileError
    from link.ledger_keys import load_signer, load_verifier

    report = _verified(args)
    if not report.ok:
        return _fail(f"{args.directory} does not verify ({report.problems[0]}); not cosigned", 1)
    root = Path(args.directory)
    tree = report.tree
    try:
        witness = Witness(load_signer(args.witness_key), args.witness_key + ".state")
        log = load_verifier(args.log_key or root / "keys" / "log.vkey")
        note = witness.cosign(
            (root / "checkpoint").read_text(), log, lambda n: tree.root(n) if n <= tree.size else None,
            int(RealClock().now()),
        )  # fmt: skip
        (root / "checkpoint").write_text(note)
    except LedgerError as exc:
        return _fail(str(exc), 1)
    except (OSError, KeyFileError) as exc:
        return _fail(str(exc))
    size = report.checkpoint.size if report.checkpoint else 0
    print(f"isru ledger: checkpoint {size} cosigned by {witness.signer.name}; send {root / 'checkpoint'} to the log")
    return 0


def _add_cosignature(args: argparse.Namespace) -> int:
    from ground.errors import LedgerError
    from link.errors import KeyFileError, NoteError
    from link.note import split_note

    try:
        note = Path(args.note).read_text()
        log, _keys = _open_log(args)
        try:
            names = [s.name for s in split_note(note)[1] if s.name != log.signer.name]
            for name in names:
                log.add_cosignature(note, name)
        finally:
            log.close()
    except (OSError, ConfigError, LedgerError, KeyFileError, NoteError) as exc:
        return _fail(str(exc))
    print(f"isru ledger: cosignature(s) by {', '.join(names) or 'nobody'} stored")
    return 0


__all__ = ["register"]
