"""The hub's API for partner tools: the CLI and scripts talk to the hub, never to flight.

JSON over the console's own HTTP(S) server; every request carries the person's account in HTTP Basic
authentication (over TLS when configured), checked against the hub's accounts each time, so a revoked account
stops at once. A cross-site page cannot set that header, and the console's Origin check applies too.

=========================  ====================================================================
``GET /api/snapshot``      rover, link state, the latest value of every channel and the alarm board
``POST /api/commands``     ``{"name", "args", "confirmed"}`` → ``{"id"}``: sent for this person (role checked,
                           audited); 400 invalid, 403 forbidden, 409 needs confirmation, 503 no link
``GET /api/commands/ID``   that command's record: stages, reason, message
=========================  ====================================================================
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from fastapi import Body, HTTPException, Request
from nicegui import app

from ground.acting import Actor, audit_safely
from ground.console.context import ConsoleContext
from ground.errors import Forbidden, GroundError, LoginRefused, NeedsConfirmation, NotConnected, SendFailed

_LOGGER = logging.getLogger(__name__)
PREFIX = "/api"


def _person(ctx: ConsoleContext, request: Request) -> Actor:
    """The account in the request's Basic credentials (401 with the reason if missing or wrong)."""
    auth = ctx.auth
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if auth is None or scheme.lower() != "basic":
        raise HTTPException(401, "expected HTTP Basic credentials of a hub account", {"WWW-Authenticate": "Basic"})
    try:
        name, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise HTTPException(401, "malformed Basic credentials", {"WWW-Authenticate": "Basic"}) from None
    try:
        account = auth.accounts.login(name, password)
    except LoginRefused as exc:
        where = request.client.host if request.client else ""
        audit_safely(auth.audit, _LOGGER, name[:64], "", "login_refused", f"api {where}", str(exc))
        raise HTTPException(401, f"login refused: {exc}", {"WWW-Authenticate": "Basic"}) from exc
    return Actor(account.name, account.role)


def snapshot(ctx: ConsoleContext) -> dict[str, Any]:
    """What every console shows now, as JSON."""
    core = ctx.core
    link = getattr(core, "link", None)
    return {
        "rover": core.rover,
        "link": getattr(link, "state", "none"),
        "latest": {name: [value, t] for name, (value, t) in core.latest.items()},
        "alarms": [alarm.as_dict() for alarm in core.alarms.alarms()],
    }


def install(ctx: ConsoleContext) -> None:
    """Add the API routes to NiceGUI's app (before it starts)."""

    @app.get(PREFIX + "/snapshot")
    def get_snapshot(request: Request) -> dict[str, Any]:
        _person(ctx, request)
        return snapshot(ctx)

    @app.post(PREFIX + "/commands")
    def post_command(request: Request, body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        person = _person(ctx, request)
        name, args = body.get("name"), body.get("args") or {}
        if not isinstance(name, str) or not isinstance(args, dict):
            raise HTTPException(400, 'expected {"name": COMMAND, "args": {...}, "confirmed": bool}')
        try:
            record = ctx.core.send(name, args, confirmed=bool(body.get("confirmed")), actor=person)
        except Forbidden as exc:
            raise HTTPException(403, str(exc)) from exc
        except NeedsConfirmation as exc:
            raise HTTPException(409, str(exc)) from exc
        except (NotConnected, SendFailed) as exc:
            raise HTTPException(503, str(exc)) from exc
        except GroundError as exc:
            raise HTTPException(400, str(exc)) from exc
        return {"id": record.id, "source": record.source}

    @app.get(PREFIX + "/commands/{command_id}")
    def get_command(request: Request, command_id: str) -> dict[str, Any]:
        _person(ctx, request)
        record = ctx.core.commands.get(command_id)
        if record is None:
            raise HTTPException(404, f"no command {command_id!r} on this hub")
        return {
            "id": record.id,
            "name": record.name,
            "source": record.source,
            "statuses": record.statuses(),
            "terminal": record.terminal,
            "reason": record.reason,
            "message": record.message,
        }
