"""A partner tool's connection to the ground hub (``ground.console.api``): never to flight.

Plain HTTP(S) with the person's account in Basic authentication, from the standard library; every error is a
:class:`~ground.errors.HubError` carrying the hub's HTTP status and its reason text.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from typing import Any

from ground.errors import HubError

#: Wall seconds one request may take.
REQUEST_TIMEOUT_S = 10.0


class HubClient:
    """The hub at ``url`` (e.g. ``http://127.0.0.1:8080``) as account ``user``. ``cafile`` names a PEM
    certificate to trust for a hub with its own TLS certificate."""

    def __init__(self, url: str, user: str, password: str, *, cafile: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.user = user
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self._headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        self._context = ssl.create_default_context(cafile=cafile) if self.url.startswith("https") else None

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None, wait_s: float = 0.0) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = dict(self._headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S + wait_s, context=self._context) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise HubError(exc.code, _detail(exc)) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise HubError(0, f"no answer from the hub at {self.url}: {exc}") from exc

    def snapshot(self) -> dict[str, Any]:
        """Rover, link state, the latest value of every channel (``{name: [value, t]}``) and the alarms."""
        return dict(self._request("GET", "/api/snapshot"))

    def send(self, name: str, args: dict[str, Any] | None = None, *, confirmed: bool = False) -> str:
        """Send command ``name`` through the hub for this account; returns its id."""
        answer = self._request("POST", "/api/commands", {"name": name, "args": args or {}, "confirmed": confirmed})
        return str(answer["id"])

    def command(self, command_id: str) -> dict[str, Any]:
        """The hub's record of a command: ``statuses``, ``terminal`` (None until it ends), ``reason``, ``message``."""
        return dict(self._request("GET", f"/api/commands/{urllib.parse.quote(command_id, safe='')}"))

    def feed(
        self,
        after: int | None = None,
        *,
        wait_s: float = 0.0,
        kinds: Iterable[str] | None = None,
        channels: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """What arrived after cursor ``after`` (None: only the cursor of now), waiting up to ``wait_s`` s for
        news: ``{"rover", "run", "cursor", "items", "missed"}`` (see :mod:`ground.hub_feed`)."""
        query: dict[str, str] = {}
        if after is not None:
            query["after"] = str(after)
        if wait_s:
            query["wait"] = f"{wait_s:g}"
        if kinds is not None:
            query["kinds"] = ",".join(kinds)
        if channels is not None:
            query["channels"] = ",".join(channels)
        if limit is not None:
            query["limit"] = str(limit)
        path = "/api/feed" + ("?" + urllib.parse.urlencode(query) if query else "")
        return dict(self._request("GET", path, wait_s=wait_s))

    def dictionary(self) -> dict[str, Any]:
        """The flight dictionary the hub holds (as flight sent it)."""
        return dict(self._request("GET", "/api/dictionary")["dictionary"])

    def alarms(self) -> dict[str, Any]:
        """``{"rover", "alarms": [...], "shelves": {name: end epoch s}}``."""
        return dict(self._request("GET", "/api/alarms"))

    def acknowledge(self, name: str, comment: str) -> dict[str, Any]:
        """Acknowledge alarm ``name`` with ``comment`` as this account; returns the alarm after."""
        return dict(self._request("POST", "/api/alarms/ack", {"name": name, "comment": comment})["alarm"])

    def shelve(self, name: str, seconds: float) -> float:
        """Shelve alarm ``name`` for ``seconds``; returns when the shelf ends (epoch s)."""
        return float(self._request("POST", "/api/alarms/shelve", {"name": name, "seconds": seconds})["until"])

    def unshelve(self, name: str) -> None:
        """Show alarm ``name`` again at once."""
        self._request("POST", "/api/alarms/unshelve", {"name": name})


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read().decode("utf-8")).get("detail", exc.reason))
    except (ValueError, OSError, AttributeError):
        return str(exc.reason)
