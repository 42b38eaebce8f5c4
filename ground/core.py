"""The ground core: what the console, the CLI and procedures stand on.

It ties a link client to the archive, the latest value of every channel, recent events, the command
history with every verification stage, the alarm board and the link status. Data flows in on the client's
thread through the ``handle_*`` methods (registered as the client's callbacks; tests may call them
directly); readers on other threads get copies taken under a lock.

Every rule about commanding is enforced here before anything leaves (and again on flight): an observer may
not command or act on alarms (:class:`~ground.errors.Forbidden`), arguments must match the dictionary
(:class:`~ground.errors.ValidationError`), and a hazardous command needs ``confirmed=True``
(:class:`~ground.errors.NeedsConfirmation`, carrying the hazard text). UIs only present these rules.

Nothing is acknowledged to flight before the archive has committed it: the client's ack gate flushes the
archive first.

Subscriptions (:meth:`GroundCore.subscribe`), each called on the thread that delivered the data:

============== =========================================================
``telemetry``  ``cb(samples)`` — list of ``(channel, t epoch s, value)``
``event``      ``cb(event)`` — ``Event.as_dict()`` shape
``command``    ``cb(record)`` — the :class:`~ground.verifier.CommandRecord` that changed
``alarm``      ``cb(alarm)`` — an :class:`~ground.alarms.Alarm` snapshot
``link``       ``cb(status)`` — the client's ``LinkStatus``
``dictionary`` ``cb(dictionary)`` — the new :class:`~ground.dictionary.GroundDictionary`
============== =========================================================
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from base.clock import Clock
from ground.acting import Actor, ActorSource, ActsForPeople, AuditedAlarmBoard, audit_safely
from ground.archive import Archive, latest_values
from ground.audit import AuditLog
from ground.client import LinkClient
from ground.dictionary import GroundDictionary
from ground.errors import ArchiveError, Forbidden, GroundError, NeedsConfirmation, NotConnected, SendFailed
from ground.hub_state import HubState
from ground.link_silence import SilenceWatch
from ground.subscribers import Subscribers
from ground.timeline import Timeline
from ground.verifier import CommandHistory, CommandRecord
from link.errors import LinkError
from link.keys import COMMANDING_ROLES

_LOGGER = logging.getLogger(__name__)

KINDS = ("telemetry", "event", "command", "alarm", "link", "dictionary")
#: Recent events kept in memory (the archive keeps all of them).
KEEP_EVENTS = 1000
OPERATOR = "operator"
#: Alarm journal rows read back when a hub restarts (the newest; each alarm's last state counts).
JOURNAL_RESTORE_ROWS = 20_000
#: How often retention runs while the link reports (clock seconds).
RETENTION_PERIOD_S = 3600.0


class GroundCore(ActsForPeople):
    """Client → archive, latest values, events, commands, alarms and link status; commanding with its rules.

    ``client`` is a :class:`ground.client.LinkClient` (None: an archive-only core that can read history but
    never command). ``rover`` names the rover this core's link reaches (its data model carries it so one hub
    can later serve several; '' = flight's own name from the welcome). ``audit`` (an
    :class:`~ground.audit.AuditLog`) records every person's action; ``actor_source`` (see
    :mod:`ground.acting`) says which person acts now (:meth:`acting_as` names one for a block, on this thread).
    ``hub_state`` (a :class:`~ground.hub_state.HubState`) keeps the alarm shelves across a hub restart.
    """

    def __init__(
        self,
        client: LinkClient | None,
        archive: Archive,
        clock: Clock,
        *,
        keep_events: int = KEEP_EVENTS,
        rover: str = "",
        audit: AuditLog | None = None,
        hub_state: HubState | None = None,
    ) -> None:
        self.client = client
        self.archive = archive
        self.clock = clock
        self._rover = rover
        self.audit = audit
        self.hub_state = hub_state
        self.actor_source: ActorSource | None = None
        self._acting = threading.local()
        self._lock = threading.RLock()
        self._latest: dict[str, tuple[Any, float]] = {}
        self._events: deque[dict[str, Any]] = deque(maxlen=keep_events)
        self._subscribers = Subscribers(KINDS)
        self._link: Any = getattr(client, "status", None)
        self._retention_due = clock.monotonic()
        self.timeline = Timeline()  # flight's sample times, kept monotonic across its clock steps
        self.dictionary: GroundDictionary | None = None
        self.commands = CommandHistory(clock)
        self.alarms = AuditedAlarmBoard(
            clock,
            guard=self._require_operator,
            who=lambda: self._who()[0],
            role=lambda: self._who()[1],
            audit=lambda: self.audit,
            logger=_LOGGER,
            state=lambda: self.hub_state,
            note=self._journal_note,
        )
        self.alarms.subscribe(self._on_alarm)
        self._silence = SilenceWatch()
        if client is not None:
            client.on_dictionary(self.handle_dictionary)
            client.on_telemetry(self.handle_telemetry)
            client.on_event(self.handle_event)
            client.on_command_status(self.handle_command_status)
            client.on_link(self.handle_link)
            client.set_ack_gate(self.ack_gate)
            if client.dictionary:
                self.handle_dictionary(client.dictionary)

    @classmethod
    def connect(
        cls,
        endpoint: str,
        archive: Archive,
        clock: Clock,
        *,
        archiving: bool = True,
        rover: str = "",
        audit: AuditLog | None = None,
        hub_state: HubState | None = None,
        **client_options: Any,
    ) -> GroundCore:
        """A core over a new :class:`ground.client.LinkClient` to ``endpoint``.

        An ``archiving`` core (the ground station) resumes after the last seq the archive holds, so a restarted
        ground gets exactly the packets it is missing, and its acknowledgements let flight prune its spool; a
        live view (``archiving=False``: the CLI's watch, a second console) starts from what flight still holds
        and never prunes. ``client_options`` go to the client (``keys_dir``, ``identity``, ``insecure``,
        ``light_time_s`` …); the caller services the client (``run_in_thread()`` or ``poll()``) and closes it.
        An archiving core starts with the newest archived value of every channel (:meth:`seed_latest`).
        """
        resume_after = archive.high_seq() if archiving else 0
        client = LinkClient(endpoint, clock, resume_after=resume_after, archive=archiving, **client_options)
        core = cls(client, archive, clock, rover=rover, audit=audit, hub_state=hub_state)
        if archiving:
            core.seed_latest()
        return core

    # ------------------------------------------------------------------------------------- state
    @property
    def link_client(self) -> LinkClient:
        """The link client (:class:`NotConnected` for an archive-only core, which has none)."""
        if self.client is None:
            raise NotConnected("this ground core has no link (archive only)")
        return self.client

    @property
    def role(self) -> str:
        """The link role: ``operator`` (may command) or ``observer`` (read-only; also an archive-only core);
        '' until flight has welcomed the client."""
        if self.client is None:
            return "observer"
        return str(getattr(self._link, "role", "") or "")

    @property
    def identity(self) -> str:
        """Who acts through this core (the client certificate's name; the role if the client has none)."""
        return str(getattr(self.client, "identity", "") or self.role)

    @property
    def rover(self) -> str:
        """The rover this core's link reaches: the configured id, else flight's name once welcomed."""
        return self._rover or str(getattr(self._link, "flight", "") or "rover")

    def _who(self, person: Actor | None = None) -> tuple[str, str]:
        """(name, role) of whoever acts now: ``person``, else the actor source's, else this station's identity
        and link role."""
        person = person or self.actor()
        return (person.name, person.role) if person is not None else (self.identity, self.role)

    def seed_latest(self) -> int:
        """Take the newest archived value of every channel as its latest value, and put back the alarms the
        journal says were on the board and the shelves the hub state keeps (a restarted hub shows every channel,
        the same alarms and the same shelves at once);
        returns how many channels were seeded. Live samples newer than an archived one always win."""
        try:
            newest = latest_values(self.archive)
            self.alarms.restore_all(self.archive.alarm_journal(limit=JOURNAL_RESTORE_ROWS))
        except ArchiveError as exc:
            _LOGGER.error("latest values and alarms not read from the archive: %s", exc)
            return 0
        with self._lock:
            for channel, (value, t) in newest.items():
                held = self._latest.get(channel)
                if held is None or t > held[1]:
                    self._latest[channel] = (value, t)
        return len(newest)

    @property
    def link(self) -> Any:
        """The latest link status (the client's ``LinkStatus``; None for an archive-only core)."""
        with self._lock:
            return self._link

    @property
    def latest(self) -> dict[str, tuple[Any, float]]:
        """A copy of channel → ``(value, t epoch s)`` for every channel received."""
        with self._lock:
            return dict(self._latest)

    def value(self, channel: str, default: Any = None) -> Any:
        """The latest value of ``channel`` (``default`` if none yet)."""
        item = self.sample(channel)
        return default if item is None else item[0]

    def sample(self, channel: str) -> tuple[Any, float] | None:
        """The latest ``(value, t epoch s)`` of ``channel``, None if none yet."""
        with self._lock:
            return self._latest.get(channel)

    @property
    def events(self) -> deque[dict[str, Any]]:
        """A copy of the recent events, oldest first."""
        with self._lock:
            return deque(self._events, maxlen=self._events.maxlen)

    def subscribe(self, kind: str, cb: Callable[..., None]) -> Callable[[], None]:
        """Call ``cb`` on every ``kind`` of update (see the module docstring); returns an unsubscribe function."""
        return self._subscribers.subscribe(kind, cb)

    def _emit(self, kind: str, *payload: Any) -> None:
        self._subscribers.emit(kind, *payload)

    def _journal_note(self, name: str, state: dict[str, Any]) -> None:
        """Write a note (a shelf change) to the alarm journal, with the rover and the time."""
        try:
            self.archive.ingest_alarm(self.clock.now(), name, {**state, "rover": self.rover})
        except ArchiveError as exc:
            _LOGGER.error("alarm journal note on %s not archived: %s", name, exc)

    def _on_alarm(self, alarm: Any) -> None:
        try:
            self.archive.ingest_alarm(self.clock.now(), alarm.name, {**alarm.as_dict(), "rover": self.rover})
        except ArchiveError as exc:
            _LOGGER.error("alarm change of %s not archived: %s", alarm.name, exc)
        self._emit("alarm", alarm)

    # ------------------------------------------------------------------------ ingest (link thread)
    def handle_dictionary(self, raw: dict[str, Any]) -> None:
        """Take the flight dictionary: validation, forms and alarm limits come from it."""
        try:
            dictionary = GroundDictionary(raw)
        except GroundError as exc:
            _LOGGER.error("flight dictionary refused: %s", exc)
            return
        self.dictionary = dictionary
        limited = self.alarms.configure(dictionary.channels())
        _LOGGER.info(
            "dictionary: %d commands, %d channels (%d with limits), %d parameters",
            len(dictionary.commands()),
            len(dictionary.channels()),
            limited,
            len(dictionary.parameters()),
        )
        self.commands.wake()
        self._emit("dictionary", dictionary)

    def handle_telemetry(self, seq: int, samples: list[tuple[str, float, Any]]) -> None:
        """Archive telemetry packet ``seq`` (its times kept monotonic across flight clock steps, a step raising
        an alarm), update latest values and alarms, tell subscribers."""
        samples, step = self.timeline.correct(seq, samples)
        if step:
            self._clock_step(seq, step)
        try:
            if not self.archive.ingest_telemetry(seq, samples):
                return  # already held: delivered before this ground restart
        except ArchiveError as exc:
            _LOGGER.error("telemetry packet %s not archived: %s", seq, exc)
            return
        with self._lock:
            latest = self._latest
            for channel, t, value in samples:
                previous = latest.get(channel)
                if previous is None or t >= previous[1]:
                    latest[channel] = (value, t)
        self.alarms.update(samples)
        self._emit("telemetry", samples)

    def _clock_step(self, seq: int, step: float) -> None:
        """Flight's clock went back ``step`` s (negative) before packet ``seq``: an alarm, journaled."""
        message = (
            f"flight's wall clock stepped back {-step:.3f} s before packet {seq}; archived times from here on are "
            f"shifted +{self.timeline.correction_s:.3f} s to stay monotonic"
        )
        _LOGGER.warning("archive: %s", message)
        now = self.clock.now()
        self.alarms.event({"severity": "error", "source": "ground", "name": "clock_step", "message": message, "t": now})

    def handle_event(self, seq: int, event: dict[str, Any]) -> None:
        """Archive event packet ``seq``, keep it among the recent events, raise an alarm if severe."""
        try:
            if not self.archive.ingest_event(seq, event):
                return
        except ArchiveError as exc:
            _LOGGER.error("event packet %s not archived: %s", seq, exc)
            return
        with self._lock:
            self._events.append(event)
        self.alarms.event(event)
        self._emit("event", event)

    def handle_command_status(self, status: dict[str, Any]) -> None:
        """Archive a command verification report and add it to the command's record."""
        try:
            self.archive.ingest_command_status(status)
        except ArchiveError as exc:
            _LOGGER.error("command status not archived: %s", exc)
        record = self.commands.update(status)
        if record is not None:
            self._emit("command", record)

    def handle_link(self, status: Any) -> None:
        """Take a link status (on change and about once a second): archive it, commit what is buffered,
        apply the archive's retention once an hour."""
        with self._lock:
            self._link = status
        stats = (
            dataclasses.asdict(status)
            if dataclasses.is_dataclass(status) and not isinstance(status, type)
            else dict(vars(status))
        )
        try:
            self.archive.ingest_link_stats(self.clock.now(), stats)
            self.archive.flush()
            if (
                self.archive.retention_days > 0 or self.archive.max_bytes > 0
            ) and self.clock.monotonic() >= self._retention_due:
                self._retention_due = self.clock.monotonic() + RETENTION_PERIOD_S
                self.archive.apply_retention(self.clock.now())
        except ArchiveError as exc:
            _LOGGER.error("link statistics not archived: %s", exc)
        self._silence.judge(status, self.clock, self.alarms)  # flight heartbeating but sending nothing
        self.alarms.expire_shelves()
        self.commands.wake()
        self._emit("link", status)

    def wait(self, found: Callable[[], Any], timeout_s: float, what: str) -> Any:
        """Wait until ``found()`` returns something other than None (re-checked on every command status,
        dictionary and link report, and at least every 50 ms); returns it. The deadline is ``timeout_s``
        clock seconds; raises :class:`~ground.errors.WaitTimeout` naming ``what``."""
        return self.commands.wait(found, timeout_s, what)

    def ack_gate(self, seq: int) -> None:
        """Called by the client before it acknowledges packets up to ``seq``: commit the archive first.
        Raises :class:`ArchiveError` (so nothing is acknowledged) if the commit fails."""
        self.archive.flush()

    def flush(self) -> None:
        """Commit whatever the archive has buffered."""
        self.archive.flush()

    # --------------------------------------------------------------------------------- commanding
    def require_commanding_person(self, action: str, person: Actor | None = None) -> Actor | None:
        """The person acting (``person``, else the one acting now; None for the station itself), once checked
        that they may command: :class:`~ground.errors.Forbidden`, audited as ``command_refused``, for an
        observer. What a hub's people do to commands (send, prepare, release) goes through this."""
        person = person or self.actor()
        if person is not None:
            try:
                person.require_commanding(action)
            except Forbidden as exc:
                audit_safely(self.audit, _LOGGER, person.name, person.role, "command_refused", action, str(exc))
                raise
        return person

    def _require_operator(self, action: str, person: Actor | None = None) -> None:
        self.require_commanding_person(action, person)
        role = self.role
        if not role:
            raise NotConnected(f"{action}: the link has not been acquired yet, so this client's role is unknown")
        if role not in COMMANDING_ROLES and role != "safety":  # flight limits safety to estop and mission.hold
            why = "this ground core has no link" if self.client is None else f"this link's role is {role!r}"
            raise Forbidden(
                f"{action}: refused, {why}; only an operator or the archive station may command "
                "(observers are read-only)"
            )

    def _dictionary(self) -> GroundDictionary:
        dictionary = self.dictionary
        if dictionary is None:
            raise NotConnected("no flight dictionary yet: the link has not been acquired")
        return dictionary

    def send(
        self, name: str, args: dict[str, Any] | None = None, *, confirmed: bool = False, actor: Actor | None = None
    ) -> CommandRecord:
        """Send command ``name`` with ``args`` for ``actor`` (default: the actor source's person, else the
        station) and return its record (stages arrive later).

        Raises, with nothing sent: :class:`~ground.errors.Forbidden` (observer, or no link),
        :class:`~ground.errors.NotConnected` (no dictionary yet), :class:`~ground.errors.UnknownCommand`,
        :class:`~ground.errors.ValidationError`, :class:`~ground.errors.NeedsConfirmation` (hazardous, not
        confirmed) or :class:`~ground.errors.SendFailed` (the link would not take it).
        """
        self._require_operator(f"send {name}", actor)
        dictionary = self._dictionary()
        values = dictionary.validate(name, args)
        hazard = dictionary.hazard(name)
        if hazard is not None and not confirmed:
            raise NeedsConfirmation(name, hazard)
        return self._send(name, values, actor)

    def estop(self) -> CommandRecord:
        """Send the emergency stop (its name from the dictionary). Operators only; never needs confirmation."""
        self._require_operator("emergency stop")
        dictionary = self._dictionary()
        name = dictionary.estop_command
        return self._send(name, dictionary.validate(name, {}))

    def _send(self, name: str, values: dict[str, Any], actor: Actor | None = None) -> CommandRecord:
        assert self.client is not None  # _require_operator refuses a core without a link
        who, role = self._who(actor)
        command_id = f"{self.identity}-{uuid.uuid4().hex[:16]}"
        # Recorded before it leaves, so a status arriving on the link thread always finds its record.
        record = self.commands.expect(command_id, name, values, who)
        try:
            self.client.send_command(name, values, command_id=command_id)
        except LinkError as exc:
            self.commands.forget(command_id)
            raise SendFailed(name, exc) from exc
        _LOGGER.info("sent %s %s as %s for %s", name, values, command_id, who)
        audit_safely(self.audit, _LOGGER, who, role, "command", name, f"{values} id {command_id}")
        self._emit("command", record)
        return record

    # ------------------------------------------------------------------------------------ history
    def history(self, channel: str, t0: float, t1: float) -> list[tuple[float, Any]]:
        """``(t, value)`` samples of ``channel`` with ``t0 <= t <= t1`` (epoch s) from the archive."""
        return self.archive.query(channel, t0, t1)

    def export_csv(self, channels: list[str], t0: float, t1: float, path: str | Path) -> int:
        """Write ``channels`` between ``t0`` and ``t1`` (epoch s) to a CSV file; returns the rows written."""
        return self.archive.export_csv(channels, t0, t1, path)

    def close(self) -> None:
        """Commit what the archive has buffered (the caller closes the client and the archive it made)."""
        try:
            self.archive.flush()
        except ArchiveError as exc:
            _LOGGER.error("final archive flush failed: %s", exc)
