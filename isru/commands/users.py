"""``isru users add|list|remove|passwd|role``: the ground hub's accounts (one per person).

Each person logs in to the console with their own account; the role comes from the account: ``operator``
commands and acts on alarms, ``observer`` (a partner) sees everything and changes nothing, ``admin`` is an
operator who also manages accounts. Accounts live in ``[ground] accounts`` (default
``$ISRU_HOME/accounts.sqlite``), passwords as salted scrypt hashes. A password is asked twice on the terminal,
read from the first line of standard input with ``--password-stdin``, or made up and printed once with
``--generate``. ``remove`` revokes the account at once, for its open sessions too. Changes are written to
the audit trail when ``[ground] archive`` names the hub's archive.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from base.config_loader import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``users`` subcommand."""
    parser = subparsers.add_parser(
        "users",
        help="manage the ground hub's user accounts",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="configuration file (default: the embedded configs/sim.toml)")
    parser.add_argument("--accounts", help="account file (default: [ground] accounts)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add an account")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=("operator", "observer", "admin"))
    _password_options(add)
    actions.add_parser("list", help="list the accounts")
    remove = actions.add_parser("remove", help="revoke an account (at once, for open sessions too)")
    remove.add_argument("name")
    passwd = actions.add_parser("passwd", help="set an account's password")
    passwd.add_argument("name")
    _password_options(passwd)
    role = actions.add_parser("role", help="change an account's role")
    role.add_argument("name")
    role.add_argument("role", choices=("operator", "observer", "admin"))
    parser.set_defaults(func=run)


def _password_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    group.add_argument("--generate", action="store_true", help="make up a password and print it once")


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The new password and whether it was generated (and must be printed)."""
    from ground.accounts import one_time_password
    from ground.errors import AccountError

    if args.generate:
        return one_time_password(), True
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        raise AccountError("the two passwords differ; nothing was changed")
    return first, False


def run(args: argparse.Namespace) -> int:
    """Carry out one account action; returns the exit code (2 with the reason on bad input)."""
    from base.clock import RealClock
    from ground.accounts import Accounts
    from ground.config import resolve_accounts
    from ground.errors import GroundError
    from isru.config import load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"isru users: {exc}", file=sys.stderr)
        return 2
    clock = RealClock()
    path = resolve_accounts(args.accounts or config.ground.accounts)
    try:
        accounts = Accounts(path, clock)
    except GroundError as exc:
        print(f"isru users: {exc}", file=sys.stderr)
        return 2
    try:
        detail = _act(accounts, args)
    except GroundError as exc:
        print(f"isru users {args.action}: {exc}", file=sys.stderr)
        return 2
    finally:
        accounts.close()
    if detail is not None:
        _audit(config, clock, args, detail)
    return 0


def _act(accounts: Any, args: argparse.Namespace) -> str | None:
    """Do the action; returns the audit detail of a change (None for ``list``)."""
    if args.action == "list":
        for account in accounts.list():
            state = "revoked" if account.revoked else "active"
            print(f"{account.name:<24} {account.role:<9} {state}")
        return None
    if args.action == "remove":
        account = accounts.remove(args.name)
        print(f"isru users: {args.name} ({account.role}) revoked")
        return f"revoked ({account.role})"
    if args.action == "role":
        accounts.set_role(args.name, args.role)
        print(f"isru users: {args.name} is now {args.role}")
        return f"role {args.role}"
    password, generated = _password(args)
    if args.action == "add":
        accounts.add(args.name, args.role, password)
        print(f"isru users: {args.name} added as {args.role} in {accounts.path}")
        detail = f"added as {args.role}"
    else:
        accounts.set_password(args.name, password)
        print(f"isru users: password of {args.name} changed")
        detail = "password changed"
    if generated:
        print(f"password: {password}")
    return detail


def _audit(config: Any, clock: Any, args: argparse.Namespace, detail: str) -> None:
    """Record the change in the hub's audit trail (when the configuration names the archive)."""
    from ground.audit import AuditLog
    from ground.errors import GroundError

    if not config.ground.archive:
        return
    action = {"add": "account_add", "remove": "account_remove", "passwd": "account_passwd", "role": "account_role"}
    try:
        log = AuditLog(config.ground.archive, clock, rover=config.ground.rover or "rover")
        log.record(f"cli:{getpass.getuser()}", "admin", action[args.action], args.name, detail)
        log.close()
    except GroundError as exc:
        print(f"isru users: the change is not in the audit trail: {exc}", file=sys.stderr)
