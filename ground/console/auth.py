"""Logging people in to the hub's console: sessions, the login page, and the checks on every request.

* **Sessions.** NiceGUI's session middleware gives each browser a signed cookie (``SameSite=Strict``; ``Secure``
  under TLS) carrying a random session id; :class:`HubAuth` maps the id to the account that logged in there.
  With a :class:`~ground.hub_state.HubState` the map is also kept in the archive file — the SHA-256 of the id,
  never the id, with the login's end (:data:`~ground.hub_state.SESSION_TTL_S` after it) — and the cookie's
  signing secret in a file of its own (:func:`session_secret`), so a restarted hub keeps everyone logged in
  until their login ends. Without one the map lives in memory and a restart logs everyone out.
* **Every page request** without a logged-in, non-revoked account is sent to ``/login``; so is every action of
  a session whose account was revoked meanwhile (:meth:`HubAuth.current_actor` looks the account up each time,
  so a role change also applies at once).
* **Origin.** A request (HTTP or the websocket's handshake) carrying an ``Origin`` other than the console's own
  is refused with 403, and the websocket server accepts only that origin (NiceGUI's default reflects any
  origin). State changes travel only over that websocket — there is no state-changing plain HTTP endpoint — so
  a cross-site page can neither post a form nor open the socket: that and the strict cookie are the CSRF
  defence.
* **Audit.** Logins, refused logins and logouts go to the audit trail with the account and the browser's
  address.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import threading
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from nicegui import app, ui
from nicegui.context import context
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from ground.accounts import Accounts
from ground.acting import Actor, audit_safely
from ground.audit import AuditLog
from ground.errors import ArchiveError, Forbidden, LoginRefused
from ground.hub_state import HubState

_LOGGER = logging.getLogger(__name__)

LOGIN_PATH = "/login"
#: Paths served without a session login: the login page, NiceGUI's own assets and websocket, and the API
#: (:mod:`ground.console.api`, which checks each request's own credentials).
OPEN_PREFIXES = (LOGIN_PATH, "/_nicegui", "/favicon", "/api/")


def allowed_origins(host: str, port: int, *, tls: bool, public_origin: str = "") -> list[str]:
    """The origins the console's pages are served from: ``public_origin`` if given, else the scheme, host and
    port it listens on (and ``localhost`` for a loopback address)."""
    if public_origin:
        return [public_origin.rstrip("/")]
    scheme = "https" if tls else "http"
    hosts = [host]
    if host in ("127.0.0.1", "::1", "localhost"):
        hosts = ["127.0.0.1", "localhost"]
    return [f"{scheme}://{name}:{port}" for name in hosts]


class HubAuth:
    """Who is logged in where, against the hub's :class:`~ground.accounts.Accounts`; see the module docstring."""

    def __init__(
        self, accounts: Accounts, audit: AuditLog | None, origins: Iterable[str], state: HubState | None = None
    ) -> None:
        self.accounts = accounts
        self.audit = audit
        self.origins = frozenset(origins)
        self.state = state
        #: The file that keeps the cookies' signing secret (:func:`session_secret`; None: one per run).
        self.secret_path: Path | None = None
        self._sessions: dict[str, str] = {}
        self._lock = threading.Lock()

    # -------------------------------------------------------------------------------- sessions
    def account_of(self, session_id: str | None) -> str | None:
        """The account name logged in on browser session ``session_id`` (None if none, or its login ended)."""
        if not session_id:
            return None
        if self.state is None:
            with self._lock:
                return self._sessions.get(session_id)
        try:
            return self.state.session_account(session_id)
        except ArchiveError as exc:
            _LOGGER.error("console session not read: %s", exc)
            return None

    def _forget(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)
        if self.state is not None:
            try:
                self.state.drop_session(session_id)
            except ArchiveError as exc:
                _LOGGER.error("console session not forgotten in the hub state: %s", exc)

    def login(self, session_id: str, name: str, password: str, where: str = "") -> Actor:
        """Log ``name`` in on ``session_id``; :class:`LoginRefused` (audited) if the account or password is
        wrong. Returns the person."""
        try:
            account = self.accounts.login(name, password)
        except LoginRefused as exc:
            audit_safely(self.audit, _LOGGER, str(name)[:64], "", "login_refused", where, exc.detail)
            raise
        with self._lock:
            self._sessions[session_id] = account.name
        if self.state is not None:
            try:
                self.state.save_session(session_id, account.name)
            except ArchiveError as exc:  # still logged in, until the hub restarts
                _LOGGER.error("console session of %s not kept for a restart: %s", account.name, exc)
        audit_safely(self.audit, _LOGGER, account.name, account.role, "login", where, "")
        return Actor(account.name, account.role)

    def logout(self, session_id: str) -> None:
        """End the login on ``session_id``."""
        name = self.account_of(session_id)
        self._forget(session_id)
        if name is not None:
            account = self.accounts.get(name)
            audit_safely(self.audit, _LOGGER, name, account.role if account else "", "logout", "", "")

    def actor_of(self, session_id: str | None) -> Actor | None:
        """The person logged in on ``session_id`` now (None if nobody, or if the account was revoked since)."""
        name = self.account_of(session_id)
        if name is None:
            return None
        try:
            account = self.accounts.active(name)
        except LoginRefused:
            self._forget(session_id or "")
            return None
        return Actor(account.name, account.role)

    def current_actor(self) -> Actor | None:
        """The person behind the console event being handled now — the ground core's ``actor_source``.

        None when the call does not come from the console's event loop (an in-process tool acting as the
        station). Inside the event loop, a call with no logged-in session raises :class:`Forbidden`: nothing
        a page does may act as the station."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return None
        try:
            session_id = context.client.request.session.get("id")
        except (RuntimeError, AttributeError, AssertionError) as exc:
            raise Forbidden("no console session behind this action; log in first") from exc
        person = self.actor_of(session_id)
        if person is None:
            raise Forbidden("this console session is not logged in (or its account was revoked); log in again")
        return person

    # ---------------------------------------------------------------------------------- checks
    def check_origin(self, request: Request) -> str | None:
        """Why ``request`` must be refused for its ``Origin`` (None if it may pass)."""
        origin = request.headers.get("origin")
        if origin is None or origin in self.origins:
            return None
        return f"origin {origin!r} is not this console's ({', '.join(sorted(self.origins))})"

    def install(self) -> None:
        """Add the origin and login checks to NiceGUI's app and restrict its websocket to the console's origin
        (call before the server starts)."""
        from nicegui import core

        core.sio.eio.cors_allowed_origins = sorted(self.origins)
        auth = self

        class _Gate(BaseHTTPMiddleware):
            async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
                why = auth.check_origin(request)
                if why is not None:
                    _LOGGER.warning("console: refused %s %s: %s", request.method, request.url.path, why)
                    return PlainTextResponse(f"refused: {why}", status_code=403)
                path = request.url.path
                if not path.startswith(OPEN_PREFIXES) and auth.actor_of(request.session.get("id")) is None:
                    return RedirectResponse(f"{LOGIN_PATH}?next={path}", status_code=303)
                return await call_next(request)

        app.add_middleware(_Gate)


def local_path(target: str) -> str:
    """``target`` if it is a path on this hub, else ``/``: never an open redirect. A browser reads ``//host``,
    ``/`` + backslash + ``host``, and a slash split by a tab or newline (which it drops) as another site, so only
    a path of one leading ``/`` with no second slash after it, no backslash and no control character passes."""
    if (
        not target.startswith("/")
        or target[1:2] in ("/", "\\")
        or "\\" in target
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)
    ):
        return "/"
    return target


def login_page(auth: HubAuth, request: Request) -> None:
    """The login form; on success it goes to the page asked for (``next``), on failure it says why."""
    session_id = str(request.session.get("id") or "")
    target = local_path(request.query_params.get("next", "/"))
    where = request.client.host if request.client else ""
    ui.page_title("isru · log in")
    with ui.card().classes("absolute-center w-96").mark("login"):
        ui.label("isru ground hub").classes("text-xl font-bold")
        name = ui.input("user").classes("w-full").mark("login-user")
        password = ui.input("password", password=True).classes("w-full").mark("login-password")
        error = ui.label("").classes("text-red-700").mark("login-error")

        def submit() -> None:
            if not session_id:
                error.set_text("no browser session: enable cookies for this site and reload")
                return
            try:
                person = auth.login(session_id, str(name.value or ""), str(password.value or ""), where)
            except LoginRefused as exc:
                error.set_text(f"login refused: {exc}")
                password.set_value("")
                return
            ui.notify(f"logged in as {person.name} ({person.role})", type="positive")
            ui.navigate.to(target)

        password.on("keydown.enter", submit)
        ui.button("Log in", on_click=submit).mark("login-submit")


def logout(auth: HubAuth) -> None:
    """End this browser's login and go to the login page (a console event handler)."""
    auth.logout(str(context.client.request.session.get("id") or ""))
    ui.navigate.to(LOGIN_PATH)


def session_secret(path: str | Path | None = None) -> str:
    """The secret that signs session cookies: kept in file ``path`` (made with mode 0600 on first use) so the
    cookies of a restarted hub stay valid; with no path a fresh one per run (a restart logs everyone out).
    Raises :class:`~ground.errors.ArchiveError` naming the file if it cannot be read or written."""
    if path is None:
        return secrets.token_urlsafe(32)
    file = Path(path)
    try:
        if not file.exists():
            file.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as out:
                out.write(secrets.token_urlsafe(32))
        secret = file.read_text().strip()
    except OSError as exc:
        raise ArchiveError(f"console session secret {str(file)!r}: {exc}") from exc
    if len(secret) < 32:
        raise ArchiveError(
            f"console session secret {str(file)!r}: expected at least 32 characters, found {len(secret)}"
        )
    return secret
