"""Who is behind a request to the hub's API: the account in its HTTP Basic credentials.

Each request is checked against the hub's accounts: revoked accounts and role changes apply at once. A scrypt
check costs about 50 ms of the hub's CPU, and a tool following the feed asks about once a second or more, so a
*successful* check is remembered for :data:`REMEMBER_S` seconds: keyed on the name, an HMAC of the password
under a key made fresh each hub run (the password itself is never kept) and the account's last change (a new
password or role forgets it). A remembered login is still looked up each time, so revoking it works at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import threading
from typing import Any

from fastapi import HTTPException, Request

from base.clock import Clock
from ground.acting import Actor, audit_safely
from ground.errors import LoginRefused

_LOGGER = logging.getLogger(__name__)

#: How long a successful check is remembered (clock s).
REMEMBER_S = 60.0
#: Remembered logins at most (the oldest go first).
REMEMBER_MAX = 256
_BASIC = {"WWW-Authenticate": "Basic"}


class ApiLogins:
    """Checks the Basic credentials of API requests against ``auth.accounts`` (a
    :class:`~ground.console.auth.HubAuth`), auditing refusals."""

    def __init__(self, auth: Any, clock: Clock) -> None:
        self.auth = auth
        self.clock = clock
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._good: dict[tuple[str, bytes, float], float] = {}

    def person(self, request: Request) -> Actor:
        """The account in ``request``'s Basic credentials (401 naming the reason if missing or wrong)."""
        auth = self.auth
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if auth is None or scheme.lower() != "basic":
            raise HTTPException(401, "expected HTTP Basic credentials of a hub account", _BASIC)
        try:
            name, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise HTTPException(401, "malformed Basic credentials", _BASIC) from None
        try:
            # only a remembered login skips the password check; any refusal comes from the full check, which
            # says the same for an unknown user as for a wrong password
            account = auth.accounts.get(name)
            digest = hmac.new(self._key, password.encode("utf-8"), hashlib.sha256).digest()
            now = self.clock.monotonic()
            remembered = False
            if account is not None and not account.revoked:
                with self._lock:
                    remembered = self._good.get((name, digest, account.changed_t), 0.0) > now
            if not remembered:
                account = auth.accounts.login(name, password)
                self._remember((name, digest, account.changed_t), now)
        except LoginRefused as exc:
            where = request.client.host if request.client else ""
            audit_safely(auth.audit, _LOGGER, name[:64], "", "login_refused", f"api {where}", exc.detail)
            raise HTTPException(401, f"login refused: {exc}", _BASIC) from exc
        assert account is not None  # remembered implies an account, else login returned one
        return Actor(account.name, account.role)

    def _remember(self, key: tuple[str, bytes, float], now: float) -> None:
        with self._lock:
            self._good[key] = now + REMEMBER_S
            if len(self._good) > REMEMBER_MAX:
                for stale in sorted(self._good, key=self._good.__getitem__)[: len(self._good) - REMEMBER_MAX]:
                    del self._good[stale]
