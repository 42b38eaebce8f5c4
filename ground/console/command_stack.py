"""The command stack: commands prepared ahead (checked against the dictionary, hazards confirmed while
preparing) and released in order, each sent once the one before it has completed, for work under light
time where an operator plans a whole pass and lets it go.

The stack is the console's (every browser of one console sees the same); releasing runs on the console's
own timer (:meth:`CommandStack.advance`, called by :func:`ground.console.stack_view.register`), not on a
page, so it goes on when the page is closed. A refusal by ground or a failure at flight stops the release:
the entries after it stay prepared.

Only a person who may command (an operator or an admin) changes the stack: preparing, removing, moving,
clearing, releasing and stopping are checked against the person acting and a refusal is audited
(``command_refused``), as a send is. Each entry names who prepared it; the release sends every entry as the
person who released it (the timer has no browser session of its own).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from ground.acting import Actor
from ground.console.command_text import message_text
from ground.errors import GroundError, NeedsConfirmation

PREPARED, SENT, COMPLETED, FAILED = "prepared", "sent", "completed", "failed"


@dataclass
class StackEntry:
    """One prepared command: its checked arguments, whether its hazard was confirmed, and how it went."""

    name: str
    args: dict[str, Any]
    confirmed: bool = False
    state: str = PREPARED
    record_id: str = ""
    note: str = ""
    prepared_by: str = ""

    def as_row(self, index: int) -> dict[str, Any]:
        """A table row (``index`` is its place, 1-based)."""
        return {
            "key": index,
            "index": index,
            "name": self.name,
            "args": ", ".join(f"{k}={v}" for k, v in self.args.items()),
            "hazard": "confirmed" if self.confirmed else "",
            "by": self.prepared_by,
            "state": self.state,
            "id": self.record_id,
            "note": self.note,
        }


@dataclass
class CommandStack:
    """Commands prepared for one ground core (the console's ``ctx.core``)."""

    core: Any
    entries: list[StackEntry] = field(default_factory=list)
    releasing: bool = False
    #: Who released the stack (its entries are sent as this person); None: the station itself.
    released_by: Actor | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _checked(self, action: str) -> Actor | None:
        """The person acting, once the core has checked they may command (``Forbidden``, audited, if not)."""
        return self.core.require_commanding_person(f"command stack: {action}")

    # ---------------------------------------------------------------------------------- preparing
    def add(self, name: str, args: dict[str, Any], confirmed: bool = False) -> StackEntry:
        """Append ``name`` with ``args``, checked as flight would check them (defaults filled in).

        Raises :class:`~ground.errors.UnknownCommand`, :class:`~ground.errors.ValidationError`, or
        :class:`~ground.errors.NeedsConfirmation` for a hazardous command not ``confirmed``, or
        :class:`~ground.errors.Forbidden` for a person who may not command; nothing is added.
        """
        person = self._checked(f"prepare {name}")
        dictionary = self.core.dictionary
        if dictionary is None:
            raise GroundError("no flight dictionary yet: nothing can be prepared")
        values = dictionary.validate(name, args)
        hazard = dictionary.hazard(name)
        if hazard is not None and not confirmed:
            raise NeedsConfirmation(name, hazard)
        entry = StackEntry(name, values, confirmed=hazard is not None, prepared_by=_name(person))
        with self._lock:
            self.entries.append(entry)
        return entry

    def remove(self, index: int) -> None:
        """Remove the entry at ``index`` (0-based) if it has not been sent."""
        self._checked("remove an entry")
        with self._lock:
            if 0 <= index < len(self.entries) and self.entries[index].state == PREPARED:
                del self.entries[index]

    def move(self, index: int, offset: int) -> None:
        """Move the prepared entry at ``index`` by ``offset`` places among the prepared ones."""
        self._checked("move an entry")
        with self._lock:
            target = index + offset
            entries = self.entries
            if not (0 <= index < len(entries) and 0 <= target < len(entries)):
                return
            if entries[index].state != PREPARED or entries[target].state != PREPARED:
                return
            entries[index], entries[target] = entries[target], entries[index]

    def clear_done(self) -> None:
        """Drop the entries that completed."""
        self._checked("clear completed entries")
        with self._lock:
            self.entries = [e for e in self.entries if e.state != COMPLETED]

    def rows(self) -> list[dict[str, Any]]:
        """Table rows, in release order."""
        with self._lock:
            return [entry.as_row(i + 1) for i, entry in enumerate(self.entries)]

    @property
    def pending(self) -> int:
        """Entries not yet sent."""
        return sum(1 for e in self.entries if e.state == PREPARED)

    # ---------------------------------------------------------------------------------- releasing
    def release(self) -> None:
        """Start sending the prepared entries in order (the first at once), each as the person releasing."""
        self.released_by = self._checked("release")
        self.releasing = self.pending > 0
        self.advance()

    def stop(self) -> None:
        """Stop after the entry in flight; the rest stay prepared."""
        self._checked("stop the release")
        self.releasing = False

    def advance(self) -> None:
        """Follow the entry in flight; once it completed, send the next prepared one. Called by a timer."""
        with self._lock:
            in_flight = next((e for e in self.entries if e.state == SENT), None)
            if in_flight is not None and not self._follow(in_flight):
                return
            if not self.releasing:
                return
            following = next((e for e in self.entries if e.state == PREPARED), None)
            if following is None:
                self.releasing = False
                return
            try:
                record = self.core.send(
                    following.name, following.args, confirmed=following.confirmed, actor=self.released_by
                )
            except GroundError as exc:
                following.state, following.note = FAILED, f"not sent: {exc}"
                self.releasing = False
                return
            following.state, following.record_id = SENT, record.id

    def _follow(self, entry: StackEntry) -> bool:
        """Update ``entry`` from its record; True when it has ended (completed, or failed: release stops)."""
        record = self.core.commands.get(entry.record_id)
        terminal = None if record is None else record.terminal
        if terminal is None:
            return False
        assert record is not None  # terminal is only known from a record
        message = message_text(record.as_dict())
        if terminal == COMPLETED:
            entry.state, entry.note = COMPLETED, message
            return True
        entry.state, entry.note = FAILED, f"{record.reason}: {message}" if message else record.reason
        self.releasing = False
        return True


def _name(person: Actor | None) -> str:
    """Who acts, for the stack's table: the person's account, or "station" for an in-process tool."""
    return person.name if person is not None else "station"
