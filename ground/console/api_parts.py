"""The hub API's answers and the checks of what a request brings (:mod:`ground.console.api` has the routes).

A field that is missing or of the wrong type is refused with 400 naming the field and what was expected.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from fastapi import HTTPException

from ground.hub_feed import KINDS, MAX_ITEMS

_MISSING = object()
_TYPE_NAMES = {str: "text", float: "a number", bool: "true or false", dict: "an object", int: "an integer"}


def field(body: Mapping[str, Any], name: str, kind: type, expected: str, default: Any = _MISSING) -> Any:
    """``body[name]`` if it is a ``kind`` (an int counts as a float, a bool never as a number); else 400."""
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        if default is not _MISSING:
            return default
        raise HTTPException(400, f"field {name!r}: missing; expected {expected} ({_TYPE_NAMES[kind]})")
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if kind is str and ok and not value.strip():
        ok = False
    if not ok:
        raise HTTPException(400, f"field {name!r}: expected {expected} ({_TYPE_NAMES[kind]}), found {value!r}"[:300])
    return value


def feed_query(query: Mapping[str, str]) -> dict[str, Any]:
    """The feed's arguments from the query string (``after``, ``wait``, ``kinds``, ``channels``, ``limit``);
    400 naming the parameter that is not a number or not known."""
    unknown = sorted(set(query) - {"after", "wait", "kinds", "channels", "limit"})
    if unknown:
        raise HTTPException(400, f"query {unknown[0]!r}: not known; expected after, wait, kinds, channels, limit")
    args: dict[str, Any] = {"after": _number(query, "after", int, "a cursor (an integer from an earlier answer)")}
    wait = _number(query, "wait", float, "seconds to wait for news")
    if wait is not None:
        args["wait_s"] = wait
    limit = _number(query, "limit", int, f"an item count 1..{MAX_ITEMS}")
    if limit is not None:
        args["limit"] = limit
    if query.get("kinds"):
        args["kinds"] = [k for k in query["kinds"].split(",") if k]
    if query.get("channels"):
        args["channels"] = [c for c in query["channels"].split(",") if c]
    return args


def _number(query: Mapping[str, str], name: str, kind: type, expected: str) -> Any:
    text = query.get(name)
    if text is None or text == "":
        return None
    try:
        return kind(text)
    except ValueError:
        raise HTTPException(400, f"query {name!r}: expected {expected}, found {text[:40]!r}") from None


def snapshot(core: Any) -> dict[str, Any]:
    """What every console shows now: rover, link state, the latest value of every channel, the alarm board and
    the shelves in force."""
    link = getattr(core, "link", None)
    return {
        "rover": core.rover,
        "link": getattr(link, "state", "none"),
        "latest": {name: [value, t] for name, (value, t) in core.latest.items()},
        "alarms": [alarm.as_dict() for alarm in core.alarms.alarms()],
        "shelves": core.alarms.shelves(),
    }


def alarms_answer(core: Any) -> dict[str, Any]:
    """The alarm board and every shelf in force (name → end, epoch s)."""
    return {
        "rover": core.rover,
        "alarms": [alarm.as_dict() for alarm in core.alarms.alarms()],
        "shelves": core.alarms.shelves(),
    }


def command_answer(core: Any, record: Any) -> dict[str, Any]:
    """A command's record: every stage, its end, reason and message."""
    return {
        "rover": core.rover,
        "id": record.id,
        "name": record.name,
        "source": record.source,
        "statuses": record.statuses(),
        "terminal": record.terminal,
        "reason": record.reason,
        "message": record.message,
    }


__all__ = ["KINDS", "alarms_answer", "command_answer", "feed_query", "field", "snapshot"]


class WaitSlots:
    """Bounds the feed's long polls, each of which holds one of the server's worker threads while it waits: at
    most ``per_person`` at once for one account and ``total`` for everyone, so the threads left always answer
    commands, snapshots and the other people (a poll past a bound gets 429 at once, naming it)."""

    def __init__(self, per_person: int, total: int) -> None:
        self.per_person = per_person
        self.total = total
        self._lock = threading.Lock()
        self._held: dict[str, int] = {}

    @contextmanager
    def slot(self, person: str) -> Iterator[None]:
        """Hold one slot for ``person`` during the block (``HTTPException(429)`` if none is free)."""
        with self._lock:
            mine = self._held.get(person, 0)
            if mine >= self.per_person:
                raise HTTPException(
                    429,
                    f"wait: {person!r} already has {mine} feed requests waiting; expected at most {self.per_person} "
                    "at once (read with wait=0, or wait for an answer before asking again)",
                    {"Retry-After": "1"},
                )
            if sum(self._held.values()) >= self.total:
                raise HTTPException(
                    429, f"wait: {self.total} feed requests already wait on this hub; try again", {"Retry-After": "1"}
                )
            self._held[person] = mine + 1
        try:
            yield
        finally:
            with self._lock:
                self._held[person] -= 1
                if not self._held[person]:
                    del self._held[person]
