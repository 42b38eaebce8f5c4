"""``isru console --config FILE [--host H --port P] [--keys DIR --identity NAME]``: the ground hub — one
ground station process per rover link, serving every person's console in the browser.

The hub owns the link client (as the archiving station, ``--identity archive`` by default), the archive, the
shared alarm board with its journal, command verification and the dictionary; every browser that logs in
sees the same state, and N consoles are still one session on flight. People log in with their own account
(``isru users add NAME --role operator|observer|admin``; ``[ground] accounts``); the role comes from the
account. ``[ground] tls_cert`` and ``tls_key`` serve HTTPS. The link endpoint, light time and heartbeat come
from ``[link]``; the archive and the console address from ``[ground]`` (loopback, port 8080 by default).
The Ledger view reads the hub's ledger log (``--ledger``) with the public keys in ``DIR/ledger``; with
``--witness-key`` a partner cosigns checkpoints from it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from base.config_loader import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``console`` subcommand."""
    parser = subparsers.add_parser("console", help="serve the operator console in the browser", description=__doc__)
    parser.add_argument("--config", help="configuration file (default: the embedded configs/sim.toml)")
    parser.add_argument("--host", help="address to serve on (default: [ground] console_host)")
    parser.add_argument("--port", type=int, help="port to serve on (default: [ground] console_port)")
    parser.add_argument("--keys", help="key directory from `isru keys init` (default: [link] keys)")
    parser.add_argument(
        "--identity", default="archive", help="the station's client certificate on the link (default: archive)"
    )
    parser.add_argument("--accounts", help="account file (default: [ground] accounts)")
    parser.add_argument("--archive", help="archive file (default: [ground] archive, '' = a temporary file)")
    parser.add_argument(
        "--ledger", help="the hub's ledger log for the Ledger view (default: [ground] ledger, or beside the archive)"
    )
    parser.add_argument("--witness-key", help="a partner's cosigning key (.skey): the Ledger view can cosign")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns the exit code."""
    from base.clock import RealClock
    from ground.archive import Archive
    from ground.console.app import serve
    from ground.console.context import ConsoleContext
    from ground.core import GroundCore
    from ground.errors import GroundError
    from isru.config import load_config
    from link.errors import LinkError

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"isru console: {exc}", file=sys.stderr)
        return 2
    ground, link = config.ground, config.link
    host = args.host or ground.console_host
    port = ground.console_port if args.port is None else args.port
    if not 1 <= port <= 65535:
        print(f"isru console: --port: expected a port 1..65535, found {port}", file=sys.stderr)
        return 2
    keys = args.keys if args.keys is not None else link.keys
    if not keys and not link.insecure:
        print(
            "isru console: no key directory: pass --keys DIR (from `isru keys init`) or set [link] keys; "
            "[link] insecure = true runs without CURVE",
            file=sys.stderr,
        )
        return 2
    # The console runs on wall time whatever clock flight uses: it waits for people and for the network.
    clock = RealClock()
    scratch = None
    archive_path = args.archive if args.archive is not None else ground.archive
    if not archive_path:
        scratch = tempfile.TemporaryDirectory(prefix="isru-console-")
        archive_path = str(Path(scratch.name) / "archive.sqlite")
    try:
        archive = Archive(
            archive_path,
            retention_days=ground.retention_days,
            max_bytes=int(ground.archive_max_mb * 1024 * 1024),
        )
    except GroundError as exc:
        print(f"isru console: {exc}", file=sys.stderr)
        return 2
    try:
        hub_auth = hub_auth_for(ground, args.accounts, archive_path, host, port, clock)
    except GroundError as exc:
        print(f"isru console: {exc}", file=sys.stderr)
        archive.close()
        return 2
    try:
        core = GroundCore.connect(
            link.endpoint,
            archive,
            clock,
            keys_dir=keys or None,
            identity=args.identity,
            insecure=link.insecure,
            light_time_s=link.light_time_s,
            heartbeat_s=link.heartbeat_s,
            los_missed=link.los_missed,
            rover=ground.rover,
            audit=hub_auth.audit,
            hub_state=hub_auth.state,
        )
    except (LinkError, GroundError) as exc:
        print(f"isru console: cannot set up the link as {args.identity!r}: {exc}", file=sys.stderr)
        archive.close()
        return 2
    client = core.link_client
    ctx = ConsoleContext(core, clock)
    ctx.auth = hub_auth
    core.audit = hub_auth.audit
    ctx.ledger, ctx.witness = _ledger_parts(args, ground, keys, archive_path)
    client.run_in_thread()
    scheme = "https" if ground.tls_cert else "http"
    print(f"isru console: {scheme}://{host}:{port} (hub of {link.endpoint} as {args.identity})", flush=True)
    # The web server stops gracefully on SIGTERM and then raises it again: let that end here, after the
    # archive and the link are closed below, not kill the process halfway.
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        serve(ctx, host, port, tls_cert=ground.tls_cert, tls_key=ground.tls_key)
    except KeyboardInterrupt:
        pass
    finally:
        ctx.detach()
        client.stop()
        client.close()
        core.close()
        archive.close()
        hub_auth.accounts.close()
        if hub_auth.audit is not None:
            hub_auth.audit.close()
        hub_auth.state.close()
        if scratch is not None:
            scratch.cleanup()
    return 0


def hub_auth_for(ground: Any, accounts_path: str | None, archive_path: str, host: str, port: int, clock: Any) -> Any:
    """The hub's :class:`~ground.console.auth.HubAuth` (accounts, the audit trail and the hub state — shelves,
    sessions — in the archive file, the cookie secret beside the accounts, the console's origins); raises
    :class:`~ground.errors.GroundError` naming what is wrong (no accounts yet, half a TLS configuration, a file
    that cannot be opened)."""
    from ground.accounts import Accounts
    from ground.audit import AuditLog
    from ground.config import resolve_accounts
    from ground.console.auth import HubAuth, allowed_origins
    from ground.errors import AccountError
    from ground.hub_state import HubState

    if bool(ground.tls_cert) != bool(ground.tls_key):
        raise AccountError("[ground] tls_cert and tls_key: expected both (HTTPS) or neither (HTTP)")
    for name in ("tls_cert", "tls_key"):
        value = getattr(ground, name)
        if value and not Path(value).is_file():
            raise AccountError(f"[ground] {name}: no such file {value!r}; expected a PEM file")
    accounts = Accounts(resolve_accounts(accounts_path or ground.accounts), clock)
    if not any(not account.revoked for account in accounts.list()):
        path = accounts.path
        accounts.close()
        raise AccountError(
            f"no accounts in {path}: add one with `isru users add NAME --role operator` (or admin) first"
        )
    audit = AuditLog(archive_path, clock, rover=ground.rover or "rover")
    state = HubState(archive_path, clock, rover=ground.rover or "rover")
    origins = allowed_origins(host, port, tls=bool(ground.tls_cert), public_origin=ground.public_origin)
    auth = HubAuth(accounts, audit, origins, state)
    auth.secret_path = Path(accounts.path).with_suffix(".secret")
    return auth


def _ledger_parts(args: argparse.Namespace, ground: Any, keys: str, archive_path: str) -> tuple[Any, Any]:
    """The Ledger view's reader and witness (None each when the log or a key is missing; printed)."""
    from ground.ledger.reader import LedgerReader
    from ground.ledger.witness import Witness
    from link.config import resolve_keys_dir
    from link.errors import KeyFileError
    from link.ledger_keys import load_signer, load_verifier

    path = args.ledger or ground.ledger or str(Path(archive_path).with_suffix(".ledger.sqlite"))
    folder = resolve_keys_dir(keys) / "ledger"
    try:
        known = [load_verifier(p) for p in sorted((folder / "witnesses").glob("*.vkey"))]
        witness = None
        if args.witness_key:
            signer = load_signer(args.witness_key)
            witness = Witness(signer, args.witness_key + ".state")
            known.append(signer.verifier)
        reader = LedgerReader(path, load_verifier(folder / "log.vkey"), load_verifier(folder / "rover.vkey"), known)
    except KeyFileError as exc:
        print(f"isru console: no Ledger view: {exc}", file=sys.stderr)
        return None, None
    return reader, witness
