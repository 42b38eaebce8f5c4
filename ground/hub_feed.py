"""The hub's feed for partner tools: what arrived from flight, numbered, so a tool reads it with a cursor.

Every telemetry packet, event and command verification stage the hub's ground core delivers becomes one
*item* with the next number ``n`` (1, 2, …, per hub run; ``run`` names the run, so a tool notices a restart
and starts again from the newest). A tool asks for the items after its cursor (:meth:`HubFeed.read`): they
come at once if there are any, else the hub waits up to a bounded time for the next one (a long poll).
The newest :data:`KEEP` items are held; a cursor older than that gets what is left with ``missed`` set.

Items (JSON-ready):

=============  ===================================================================================
``telemetry``  ``{"n", "kind", "samples": [[channel, t epoch s, value], ...]}`` — one packet's samples
``event``      ``{"n", "kind", "event": {seq, t, severity, source, name, message, data}}``
``command``    ``{"n", "kind", "status": {id, name, stage, source, t, reason, message, progress}}``
=============  ===================================================================================
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from typing import Any

from base.clock import Clock
from ground.errors import ValidationError, WaitTimeout
from ground.waiting import wait_until

#: Items held for readers (older ones fall off).
KEEP = 20_000
#: Longest a read may wait for the next item (clock s).
MAX_WAIT_S = 10.0
#: Most items one read returns.
MAX_ITEMS = 5_000
#: Telemetry samples one answer carries at most (a few MB of JSON): a wide channel set at 5,000 items would
#: be over 100 MB; the cursor stops before the item that would pass it, so the next read goes on from there.
MAX_SAMPLES = 100_000
KINDS = ("telemetry", "event", "command")
#: Command records whose reported stages are counted (to number only new ones).
_TRACKED = 4_000


class HubFeed:
    """Numbered arrivals of one ground core (see the module docstring). :meth:`close` unsubscribes."""

    def __init__(self, core: Any, clock: Clock, *, keep: int = KEEP) -> None:
        self.clock = clock
        self.run = uuid.uuid4().hex[:12]
        self._cond = threading.Condition()
        self._items: deque[dict[str, Any]] = deque(maxlen=keep)
        self._n = 0
        self._stages_seen: OrderedDict[str, int] = OrderedDict()
        self._unsubscribe: list[Callable[[], None]] = [
            core.subscribe("telemetry", self._on_telemetry),
            core.subscribe("event", self._on_event),
            core.subscribe("command", self._on_command),
        ]

    def close(self) -> None:
        """Stop numbering the core's arrivals."""
        while self._unsubscribe:
            self._unsubscribe.pop()()

    @property
    def cursor(self) -> int:
        """The number of the newest item (0 before any)."""
        with self._cond:
            return self._n

    # ---------------------------------------------------------------------------------- arrivals
    def _add(self, kind: str, **fields: Any) -> None:
        with self._cond:
            self._n += 1
            self._items.append({"n": self._n, "kind": kind, **fields})
            self._cond.notify_all()

    def _on_telemetry(self, samples: list[tuple[str, float, Any]]) -> None:
        self._add("telemetry", samples=[[channel, t, value] for channel, t, value in samples])

    def _on_event(self, event: dict[str, Any]) -> None:
        self._add("event", event=dict(event))

    def _on_command(self, record: Any) -> None:
        statuses = record.statuses()
        with self._cond:
            seen = self._stages_seen.pop(record.id, 0)
            self._stages_seen[record.id] = len(statuses)
            while len(self._stages_seen) > _TRACKED:
                self._stages_seen.popitem(last=False)
            for status in statuses[seen:]:
                self._n += 1
                self._items.append({"n": self._n, "kind": "command", "status": status})
            if len(statuses) > seen:
                self._cond.notify_all()

    # ------------------------------------------------------------------------------------ reading
    def read(
        self,
        after: int | None,
        *,
        wait_s: float = 0.0,
        kinds: Iterable[str] = KINDS,
        channels: Iterable[str] | None = None,
        limit: int = MAX_ITEMS,
    ) -> dict[str, Any]:
        """The items after cursor ``after`` (None: from now on, so nothing yet) of the given ``kinds``,
        telemetry cut to ``channels`` if given; waits up to ``wait_s`` clock seconds for one if there are none.

        Returns ``{"run", "cursor", "items", "missed"}``: pass ``cursor`` as the next ``after``; ``missed`` is
        true when items after ``after`` had already fallen off. Raises :class:`ValidationError` naming the
        argument (``after`` beyond this run's newest item, ``wait`` or ``limit`` out of range, an unknown kind).
        """
        kinds = _checked_kinds(kinds)
        wanted = None if channels is None else frozenset(channels)
        if not (isinstance(wait_s, int | float) and 0.0 <= wait_s <= MAX_WAIT_S):
            raise ValidationError("feed", "wait", f"seconds to wait, 0..{MAX_WAIT_S:g}", repr(wait_s))
        if not (isinstance(limit, int) and 1 <= limit <= MAX_ITEMS):
            raise ValidationError("feed", "limit", f"an item count 1..{MAX_ITEMS}", repr(limit))
        with self._cond:
            newest = self._n
            if after is None:
                return {"run": self.run, "cursor": newest, "items": [], "missed": False}
            if not isinstance(after, int) or not 0 <= after <= newest:
                raise ValidationError(
                    "feed",
                    "after",
                    f"a cursor 0..{newest} from this hub run ({self.run}; start with no cursor after a restart)",
                    repr(after),
                )

        scanned = [after, False]  # how far the reads got (items of other kinds or channels are passed over)

        def found() -> list[dict[str, Any]] | None:
            picked, scanned[0], missed = self._pick(after, kinds, wanted, limit)
            scanned[1] = bool(scanned[1] or missed)
            return picked or None

        try:
            items = wait_until(self._cond, self.clock, found, float(wait_s), "feed items")
        except WaitTimeout:
            items = []
        return {"run": self.run, "cursor": scanned[0], "items": items, "missed": scanned[1]}

    def _pick(
        self, after: int, kinds: frozenset[str], wanted: frozenset[str] | None, limit: int
    ) -> tuple[list[dict[str, Any]], int, bool]:
        """Items after ``after`` that match (called holding the lock), the cursor past them, and whether
        some had fallen off."""
        held = self._items
        missed = bool(held) and held[0]["n"] > after + 1
        first = held[0]["n"] if held else self._n + 1
        picked: list[dict[str, Any]] = []
        last = after
        budget = MAX_SAMPLES
        for index in range(max(0, after + 1 - first), len(held)):
            item = held[index]
            if item["kind"] in kinds:
                if item["kind"] == "telemetry":
                    samples = item["samples"] if wanted is None else [s for s in item["samples"] if s[0] in wanted]
                    if picked and len(samples) > budget:
                        break  # the answer is full: this item starts the next one
                    budget -= len(samples)
                    if samples and wanted is not None:
                        item = {**item, "samples": samples}
                if item["kind"] != "telemetry" or samples:
                    picked.append(item)
            last = item["n"]
            if len(picked) >= limit:
                break
        return picked, last, missed


def _checked_kinds(kinds: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(kinds)
    unknown = sorted(chosen - set(KINDS))
    if unknown or not chosen:
        raise ValidationError("feed", "kinds", f"some of {', '.join(KINDS)}", repr(sorted(chosen)))
    return chosen
