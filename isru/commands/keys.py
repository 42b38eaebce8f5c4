"""``isru keys``: the link's CURVE key directory.

* ``isru keys init DIR`` — create flight's server certificate, an ``operator``, an ``observer`` and an
  ``archive`` client certificate, the folder of allowed client keys (``allowed/<role>/NAME.key``), and the
  resource ledger's Ed25519 keys (``ledger/rover.skey`` for flight, ``ledger/log.skey`` for the ground hub, their
  ``.vkey`` verifier keys for partners; docs/ledger.md). Secret files are mode 0600, folders 0700.
* ``isru keys add-client DIR NAME --role observer`` — create and allow another client (a partner agency's
  observer, a second operator console).

Flight needs ``DIR/server.key_secret`` and ``DIR/allowed/``; each ground station needs ``DIR/server.key``
and its own ``DIR/clients/NAME.key_secret``. See docs/link.md.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``keys`` subcommand."""
    parser = subparsers.add_parser(
        "keys",
        help="create the link's CURVE certificates and allowed client keys",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="keys_command", metavar="SUBCOMMAND")
    init = sub.add_parser("init", help="create a key directory (server, operator, observer, archive)")
    init.add_argument("directory", metavar="DIR")
    init.add_argument("--force", action="store_true", help="replace the certificates of an existing directory")
    init.set_defaults(func=_init)
    add = sub.add_parser("add-client", help="create and allow another client certificate")
    add.add_argument("directory", metavar="DIR")
    add.add_argument("name", metavar="NAME", help="client name (letters, digits, '_', '-', '.')")
    add.add_argument(
        "--role",
        choices=("operator", "observer", "archive", "safety"),
        default="observer",
        help="operator: commands; observer: reads (default); archive: the archiving station, its acks prune "
        "flight's spool; safety: only estop and mission.hold",
    )
    add.set_defaults(func=_add)
    parser.set_defaults(func=lambda _args: parser.print_help() or 2)


def _init(args: argparse.Namespace) -> int:
    from link.errors import KeyFileError
    from link.keys import init_keys

    try:
        root = init_keys(args.directory, force=args.force)
    except KeyFileError as exc:
        print(f"isru keys init: {exc}", file=sys.stderr)
        return 2
    print(f"isru keys: created {root} (server, clients operator, observer and archive)")
    print(f"  flight needs:  {root / 'server.key_secret'} and {root / 'allowed'}/")
    print(f"  ground needs:  {root / 'server.key'} and {root / 'clients'}/NAME.key_secret")
    print(f"  ledger:        {root / 'ledger' / 'rover.skey'} (flight), {root / 'ledger' / 'log.skey'} (ground hub);")
    print(f"                 {root / 'ledger'}/rover.vkey and log.vkey for partners")
    return 0


def _add(args: argparse.Namespace) -> int:
    from link.errors import KeyFileError
    from link.keys import add_client

    try:
        secret = add_client(args.directory, args.name, role=args.role)
    except KeyFileError as exc:
        print(f"isru keys add-client: {exc}", file=sys.stderr)
        return 2
    print(f"isru keys: client {args.name} ({args.role}) allowed; its certificate is {secret}")
    return 0


__all__ = ["register"]
