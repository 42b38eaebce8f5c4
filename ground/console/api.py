"""The hub's API for partner tools: the CLI and scripts talk to the hub, never to flight.

JSON over the console's own HTTP(S) server; every request carries the person's account in HTTP Basic
authentication (over TLS when configured), checked against the hub's accounts each time, so a revoked account
stops at once. A cross-site page cannot set that header, and the console's Origin check applies too.

==============================  ===============================================================
``GET /api/snapshot``           rover, link state, the latest value of every channel, the alarm board
``GET /api/feed?after=N``       telemetry, events and command stages after cursor N (a long poll of
                                up to ``wait`` s, 4 at once per account and 16 in all, else 429;
                                ``kinds``, ``channels``, ``limit``; 100,000 samples at most):
                                :mod:`ground.hub_feed`
``GET /api/dictionary``         the flight dictionary the hub holds
``GET /api/alarms``             the alarm board and every shelf in force (ends in epoch s)
``POST /api/alarms/ack``        ``{"name", "comment"}``: acknowledge for this person (operators, admins)
``POST /api/alarms/shelve``     ``{"name", "seconds"}``: shelve (operators, admins)
``POST /api/alarms/unshelve``   ``{"name"}``: show it again (operators, admins)
``POST /api/commands``          ``{"name", "args", "confirmed"}`` → ``{"id"}``: sent for this person (role
                                checked, audited); 400 invalid, 403 forbidden, 409 needs confirmation, 503 no link
``GET /api/commands/ID``        that command's record: stages, reason, message
==============================  ===============================================================

Every answer names the ``rover``. A refusal is an HTTP status with a ``detail`` text naming what was wrong and
what was expected: 400 a bad field (named), 401 no or wrong login (checked before a body is read), 403 an
observer acting (audited as ``command_refused``), 404 no such command or alarm, 408 a body not all there 10 s
after the login was checked, 409 a hazardous command not confirmed, 413 a body over 64 KiB, 429 too many
waiting feed requests, 503 no link yet.
Values that JSON has no number for (NaN, infinities) travel as Python's ``json`` writes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException, Request
from nicegui import app
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from base.clock import Clock
from ground.acting import Actor
from ground.console.api_auth import ApiLogins
from ground.console.api_parts import WaitSlots, alarms_answer, command_answer, feed_query, field, snapshot
from ground.console.context import ConsoleContext
from ground.errors import (
    Forbidden,
    GroundError,
    NeedsConfirmation,
    NotConnected,
    SendFailed,
    UnknownAlarm,
    ValidationError,
)
from ground.hub_feed import HubFeed

PREFIX = "/api"


def _answer(data: dict[str, Any]) -> Response:
    """``data`` as JSON (NaN and infinities as Python's ``json`` writes them; other values as text)."""
    return Response(json.dumps(data, default=str), media_type="application/json")


def _refusal(exc: GroundError) -> HTTPException:
    """The HTTP status of a ground refusal, its text as the detail."""
    if isinstance(exc, Forbidden):
        return HTTPException(403, str(exc))
    if isinstance(exc, NeedsConfirmation):
        return HTTPException(409, str(exc))
    if isinstance(exc, UnknownAlarm):
        return HTTPException(404, str(exc))
    if isinstance(exc, NotConnected | SendFailed):
        return HTTPException(503, str(exc))
    return HTTPException(400, str(exc))


#: Feed requests that may wait at once (long polls), per account and in all: each holds one of the server's
#: worker threads (40 by default), so the rest always answer commands and snapshots.
WAITS_PER_PERSON = 4
WAITS_TOTAL = 16

#: Bytes a request body may hold: a command with 32 arguments of 1,024 characters fits with room to spare.
MAX_BODY_BYTES = 64 * 1024
#: Clock seconds a request body may take to arrive in full, once the login is checked.
BODY_WAIT_S = 10.0


async def _body(request: Request, expected: str, clock: Clock) -> dict[str, Any]:
    """The request's JSON object: 413 past :data:`MAX_BODY_BYTES` (declared or sent, never read further), 408
    when the whole body has not arrived :data:`BODY_WAIT_S` seconds of ``clock`` after its first byte was
    awaited (a stalled or trickling sender holds nothing of the hub's for longer), 400 naming ``body`` and the
    ``expected`` shape for anything else (not UTF-8 or JSON, nested too deeply, a lone surrogate, not an
    object)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(413, f"body of {int(declared)} bytes: expected at most {MAX_BODY_BYTES}")
    raw = bytearray()
    chunks = request.stream().__aiter__()
    deadline = clock.monotonic() + BODY_WAIT_S
    while True:
        try:
            chunk = await asyncio.wait_for(anext(chunks), max(0.0, deadline - clock.monotonic()))
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise HTTPException(
                408, f"body of {len(raw)} bytes after {BODY_WAIT_S:g} s: expected the whole body within that"
            ) from None
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise HTTPException(413, f"body over {MAX_BODY_BYTES} bytes: expected at most {MAX_BODY_BYTES}")
    try:
        body = json.loads(raw.decode("utf-8")) if raw else None
        json.dumps(body, ensure_ascii=False).encode("utf-8")  # a lone surrogate ("\ud800") cannot be UTF-8
    except RecursionError:
        raise HTTPException(400, f"body: nested too deeply; expected a JSON object {expected}") from None
    except UnicodeEncodeError:
        raise HTTPException(400, f"body: a string holds a lone surrogate; expected UTF-8 text in {expected}") from None
    except (UnicodeDecodeError, ValueError):
        body = None
    if not isinstance(body, dict):
        raise HTTPException(400, f"body: expected a JSON object {expected}, found {bytes(raw[:80])!r}")
    return body


def install(ctx: ConsoleContext) -> None:
    """Add the API routes to NiceGUI's app (before it starts); the feed numbers the core's arrivals from now."""
    feed = HubFeed(ctx.core, ctx.clock)
    ctx._unsubscribe.append(feed.close)
    core = ctx.core
    logins = ApiLogins(ctx.auth, ctx.clock)
    waits = WaitSlots(per_person=WAITS_PER_PERSON, total=WAITS_TOTAL)

    async def login(request: Request) -> Actor:
        """The person of ``request`` (401 otherwise), checked before its body is read."""
        return await run_in_threadpool(logins.person, request)

    def acting(person: Actor, action: Callable[[Actor], dict[str, Any]]) -> Response:
        try:
            with core.acting_as(person):
                return _answer({"rover": core.rover, **action(person)})
        except GroundError as exc:
            raise _refusal(exc) from exc

    @app.get(PREFIX + "/snapshot")
    def get_snapshot(request: Request) -> Response:
        logins.person(request)
        return _answer(snapshot(core))

    @app.get(PREFIX + "/feed")
    def get_feed(request: Request) -> Response:
        person = logins.person(request)
        query = feed_query(request.query_params)
        slot = waits.slot(person.name) if query.get("wait_s") else contextlib.nullcontext()
        try:
            with slot:
                answer = feed.read(**query)
        except ValidationError as exc:
            raise HTTPException(400, str(exc)) from exc
        return _answer({"rover": core.rover, **answer})

    @app.get(PREFIX + "/dictionary")
    def get_dictionary(request: Request) -> Response:
        logins.person(request)
        dictionary = core.dictionary
        if dictionary is None:
            raise HTTPException(503, "no flight dictionary yet: the hub has not acquired the link")
        return _answer({"rover": core.rover, "dictionary": dictionary.raw})

    @app.get(PREFIX + "/alarms")
    def get_alarms(request: Request) -> Response:
        logins.person(request)
        return _answer(alarms_answer(core))

    @app.post(PREFIX + "/alarms/ack")
    async def post_ack(request: Request) -> Response:
        person = await login(request)
        body = await _body(request, '{"name": ALARM, "comment": TEXT}', ctx.clock)
        name, comment = field(body, "name", str, "an alarm name"), field(body, "comment", str, "a comment")
        return await run_in_threadpool(acting, person, lambda _p: {"alarm": core.alarms.ack(name, comment).as_dict()})

    @app.post(PREFIX + "/alarms/shelve")
    async def post_shelve(request: Request) -> Response:
        person = await login(request)
        body = await _body(request, '{"name": ALARM, "seconds": S}', ctx.clock)
        name, seconds = field(body, "name", str, "an alarm name"), field(body, "seconds", float, "seconds")

        def shelve(_person: Actor) -> dict[str, Any]:
            core.alarms.shelve(name, seconds)
            return {"name": name, "until": core.alarms.shelves().get(name)}

        return await run_in_threadpool(acting, person, shelve)

    @app.post(PREFIX + "/alarms/unshelve")
    async def post_unshelve(request: Request) -> Response:
        person = await login(request)
        name = field(await _body(request, '{"name": ALARM}', ctx.clock), "name", str, "an alarm name")

        def unshelve(_person: Actor) -> dict[str, Any]:
            core.alarms.unshelve(name)
            return {"name": name}

        return await run_in_threadpool(acting, person, unshelve)

    @app.post(PREFIX + "/commands")
    async def post_command(request: Request) -> Response:
        person = await login(request)
        body = await _body(request, '{"name": COMMAND, "args": {...}, "confirmed": bool}', ctx.clock)
        name = field(body, "name", str, "a command name")
        args = field(body, "args", dict, "an object of arguments", default={})
        confirmed = field(body, "confirmed", bool, "true or false", default=False)

        def send(person: Actor) -> dict[str, Any]:
            record = core.send(name, args, confirmed=confirmed, actor=person)
            return {"id": record.id, "source": record.source}

        return await run_in_threadpool(acting, person, send)

    @app.get(PREFIX + "/commands/{command_id}")
    def get_command(request: Request, command_id: str) -> Response:
        logins.person(request)
        record = core.commands.get(command_id)
        if record is None:
            raise HTTPException(404, f"no command {command_id!r} on this hub")
        return _answer(command_answer(core, record))
