"""Flight's end of the ground link: a ROUTER socket serving every ground client (``docs/link.md``).

:class:`LinkServer` composes the parts: :mod:`flight.link_socket` (the socket, opened by
:meth:`LinkServer.open`), :mod:`flight.link_packets` (telemetry, events and statuses numbered and committed to
the :class:`~flight.spool.Spool` first, sent after), :mod:`flight.link_sessions` (a cursor and a window per
client; loss of signal), :mod:`flight.link_admission` (roles and command counters), :mod:`flight.link_batches`
(one batch frame per client per pass), :mod:`flight.link_pump` (the per-pass socket work) and
:mod:`flight.link_reports` (rate-limited events about refused traffic). Flight never has
more than ``window`` packets + statuses unacknowledged by a client, so no high-water mark ever drops
must-deliver data.

Malformed messages are counted, answered with a reject and reported by an event (at most one per second).
The executive's idle wait services the socket (:meth:`LinkServer.wait_until`), so a command is answered as
soon as it arrives. Times are clock seconds (monotonic unless named ``t``, which is epoch).
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq

from base.clock import Clock
from flight.errors import AdmissionRefused
from flight.link_admission import Admission, CounterStore
from flight.link_batches import Batcher
from flight.link_packets import PacketWriter, SpooledIds, encode
from flight.link_pump import Pump
from flight.link_quota import LinkLimits, Quotas
from flight.link_reports import LINK_CHANNELS, TrafficReports
from flight.link_sessions import Session, SessionTable
from flight.link_socket import RouterSocket, open_router
from flight.spool import Spool
from flight.telemetry import ChannelSpec
from link import wire
from link.config import LinkConfig
from link.errors import LinkError, MalformedMessage
from link.keys import ROLES, ClientIdentity, parse_roles
from link.lighttime import los_timeout_s
from link.schema import SEVERITIES, Stage

_LOGGER = logging.getLogger(__name__)

__all__ = ["CounterStore", "LinkServer"]

SOURCE = "link"
#: How often the allowed-keys folder is checked for changes (clock s): revocation takes effect within this.
KEYS_REFRESH_S = 2.0


#: The server's counters (``stats``), all from 0: messages in and out, refused traffic, accepted commands, losses
#: of signal, receive passes cut short by the time budget, the last pass's wall µs, paused sends.
STATS = (
    "messages_in",
    "messages_out",
    "malformed",
    "unauthenticated",
    "replays",
    "forbidden",
    "commands",
    "losses",
    "budget_spent",
    "service_us",
    "throttled",
    "over_cap",
)


class LinkServer:
    """Serves ground clients from flight's table, events and dispatcher; see the module docstring.
    Made by :meth:`open` (or :meth:`attach`), which opens the socket and the spool it is given."""

    def __init__(
        self,
        clock: Clock,
        socket: RouterSocket,
        spool: Spool,
        *,
        table: Any,
        events: Any,
        dispatcher: Any,
        failsafe: Any,
        dictionary: Callable[[], dict[str, Any]],
        name: str = "isru",
        light_time_s: float = 0.0,
        heartbeat_s: float = 1.0,
        los_missed: int = 3,
        counters: CounterStore | None = None,
        limits: LinkLimits | None = None,
    ) -> None:
        self.clock = clock
        self.socket = socket
        self.spool = spool
        self.table = table
        self.events = events
        self.dispatcher = dispatcher
        self.failsafe = failsafe
        self._dictionary = dictionary
        self.name = name
        self.boot_id = uuid.uuid4().hex[:12]
        self.heartbeat_s = heartbeat_s
        self.light_time_s = light_time_s
        # Ground heartbeats on its own (wall) clock; a scaled flight clock runs warp times faster, so the silence
        # that means loss of signal is converted to flight's clock here (docs/link.md, one time base per decision).
        self.los_timeout_s = los_timeout_s(heartbeat_s * clock.warp, los_missed, light_time_s)
        self.counters: CounterStore = counters if counters is not None else spool
        self.stats = dict.fromkeys(STATS, 0)
        self.limits = limits if limits is not None else LinkLimits()
        self._reports = TrafficReports(clock, events, self.stats)
        self._packets = PacketWriter(spool, clock, events, spool_max_bytes=self.limits.spool_max_bytes)
        self._sessions = SessionTable(spool, events, failsafe, self.los_timeout_s, self.stats, Quotas(self.limits))
        self._sessions.report = self._reports.report
        self._sessions.light_time_s = light_time_s
        self._dictionary_frame: tuple[float, bytes] | None = None
        self._keys_due = 0.0  # when the allowed keys are next checked for changes (clock monotonic s)
        self._admission = Admission(self.counters, spool_keeps_counters=self.counters is spool, stats=self.stats)
        if self.counters is spool:  # no flight store: the spool keeps the executed command ids too
            dispatcher.id_store = self._packets.ids = SpooledIds(spool)
        self._batcher = Batcher(socket, clock, light_time_s, self.stats, self._sessions.unreachable)
        self._pump = Pump(
            socket,
            clock,
            light_time_s,
            self.stats,
            handle=self._handle,
            unauthenticated=self._unauthenticated,
            malformed=self._malformed,
            limits=self.limits,
        )
        # Set by open(): the context it made and the spool's temporary folder, closed with the server.
        self._own_context: zmq.Context | None = None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        if spool.moved_aside is not None:
            kept = ", ".join(f"{k} {v}" for k, v in sorted(spool.salvaged.items())) or "nothing"
            self.events.error(
                SOURCE,
                "spool_damaged",
                f"spool {spool.path} was damaged: moved aside to {spool.moved_aside}; started a fresh one taking "
                f"over {kept}; its unacknowledged packets are not resent",
                moved_to=str(spool.moved_aside),
            )
        table.subscribe_batch(self._packets.collector.extend)
        events.subscribe(self._on_event)
        dispatcher.on_status(self._on_status)
        table.define_many(self.channels())
        _LOGGER.info("link: flight %s serving on %s (boot %s)", name, self.endpoint, self.boot_id)

    @classmethod
    def open(
        cls,
        clock: Clock,
        *,
        endpoint: str = "tcp://127.0.0.1:0",
        reserved_endpoint: str = "",
        keys_dir: str | Path | None = None,
        insecure: bool = False,
        spool: str | Path | None = None,
        context: zmq.Context | None = None,
        admit_roles: tuple[str, ...] = ROLES,
        **parts: Any,
    ) -> LinkServer:
        """A server bound to ``endpoint`` (CURVE with the keys in ``keys_dir``, plaintext only if ``insecure``),
        spooling to ``spool`` (a temporary file if None); ``parts`` go to the constructor (``table``, ``events``,
        ``dispatcher``, ``failsafe``, ``dictionary``, ``name``, ``light_time_s``, ``heartbeat_s``,
        ``los_missed``, ``counters``); only client keys of ``admit_roles`` are let in. Raises a
        :class:`~link.errors.LinkError` if the socket cannot be opened."""
        tmpdir = None
        if not spool:
            tmpdir = tempfile.TemporaryDirectory(prefix="isru-spool-")
            spool = Path(tmpdir.name) / "spool.db"
        opened = Spool(spool)
        own_context = None
        if context is None:
            context = own_context = zmq.Context()
        try:
            socket = open_router(
                context, endpoint, keys_dir, insecure=insecure, reserved_endpoint=reserved_endpoint, roles=admit_roles
            )
        except LinkError:
            if own_context is not None:
                own_context.term()
            opened.close()
            if tmpdir is not None:
                tmpdir.cleanup()
            raise
        server = cls(clock, socket, opened, **parts)
        server._own_context = own_context
        server._tmpdir = tmpdir
        return server

    @classmethod
    def attach(cls, app: Any, config: LinkConfig | None = None, **overrides: Any) -> LinkServer:
        """Serve ``app`` (a :class:`flight.app.FlightApp`): link settings from ``config`` (a LinkConfig; default
        ``app.config.link``) and ``overrides``; registers the packet and service tasks and the executive's waiter."""
        link = config if config is not None else app.config.link
        settings: dict[str, Any] = {
            "endpoint": link.endpoint,
            "reserved_endpoint": link.reserved_endpoint,
            "keys_dir": link.keys or None,
            "insecure": link.insecure,
            "light_time_s": link.light_time_s,
            "heartbeat_s": link.heartbeat_s,
            "los_missed": link.los_missed,
            "spool": link.spool or None,
            "limits": link_limits(link),
            "admit_roles": parse_roles(link.admit),
        }
        settings.update(overrides)
        server = cls.open(
            app.clock,
            table=app.table,
            events=app.events,
            dispatcher=app.dispatcher,
            failsafe=app.failsafe,
            dictionary=app.dictionary,
            name=app.config.name,
            counters=app.store,
            **settings,
        )
        server.install(app.executive)
        return server

    def install(self, executive: Any) -> None:
        """Packetise telemetry in the ``telemetry`` group, service the socket in ``control`` and while idle."""
        executive.add_task("telemetry", "link", self.tick)
        executive.add_task("control", "link", lambda _now: self.service())
        executive.set_waiter(self.wait_until)

    @property
    def endpoint(self) -> str:
        """The endpoint the socket is bound to (the port filled in)."""
        return self.socket.endpoint

    @property
    def security(self) -> Any:
        """The socket's :class:`~link.security.ServerSecurity` (its authenticator counts denials)."""
        return self.socket.security

    @property
    def sessions(self) -> dict[bytes, Session]:
        """The connected clients by routing id."""
        return self._sessions.sessions

    @property
    def state(self) -> str:
        """The link: ``waiting`` (no ground yet), ``up`` or ``los``."""
        return self._sessions.state

    # ----------------------------------------------------------------------------------- sources
    def _on_event(self, event: Any) -> None:
        self._packets.add_event(event.as_dict())

    def _on_status(self, status: Any) -> None:
        self._packets.add_status(status.as_dict())
        if self._admission.admitting:
            error = self._admit()
            if error is not None and status.stage == Stage.ACCEPTED:
                # The dispatcher stops the command before its handler runs (it reports it failed instead).
                raise AdmissionRefused("persistence", f"the command counter could not be recorded: {error}")

    def tick(self, _now: float = 0.0) -> None:
        """Telemetry rate: the samples since the last tick become a packet; then commit and send."""
        self.table.update(self.telemetry(), self.clock.now())
        self._packets.commit_or_buffer(with_telemetry=True)
        self.service()

    # ----------------------------------------------------------------------------------- service
    def wait_until(self, deadline: float) -> None:
        """The executive's idle wait: service the link until clock ``deadline`` (monotonic s)."""
        self._pump.wait_until(deadline, self.service, self._batcher.outbound)

    def service(self) -> int:
        """Receive and handle what arrived, flush pending events/statuses, send what windows allow, watch for
        loss of signal. Returns the messages handled."""
        now = self.clock.monotonic()
        handled = self._pump.receive(now)
        if self._packets.pending:
            self._packets.commit_or_buffer(with_telemetry=False)
        self._send_windows()
        self._send_dictionaries(now)
        self._batcher.release(now)
        self._batcher.flush()
        self._sessions.watch(now)
        if now >= self._keys_due:
            self._keys_due = now + KEYS_REFRESH_S
            if self.socket.security.refresh():
                self._sessions.revalidate(self.socket.security.current, now)
        return handled

    def _send_windows(self) -> None:
        Pump.send_windows(self._sessions, self.spool, self._batcher, self.clock.monotonic())

    def _send_dictionaries(self, now: float) -> None:
        """Send the dictionaries that are due (one per key per interval: a deferred request waits here)."""
        for session in list(self.sessions.values()):
            if session.dictionary_at is not None and session.dictionary_at <= now:
                if session.sent.bytes and self._sessions.quotas.room(session.identity.name, now) <= 0:
                    continue  # over its key's byte cap: waits for acks like a packet would
                session.dictionary_at = None
                frame = self._dictionary_bytes(now)
                self._batcher.send(session.routing_id, frame)
                # charged like a packet sent after the current one: freed when the client acknowledges past it
                session.sent.charge(0, session.sent_seq + 1, len(frame))
                self._sessions.quotas.charge(session.identity.name, len(frame))

    def _handle(self, routing_id: bytes, identity: ClientIdentity, payload: bytes, now: float) -> None:
        try:
            message = wire.decode([payload], wire.MAX_UPLINK_BYTES)
        except MalformedMessage as exc:
            self._malformed(routing_id, str(exc))
            return
        if isinstance(message, wire.Hello):
            self._hello(routing_id, identity, message, now)
            return
        session = self._sessions.get(routing_id)
        if session is None:
            self._send(routing_id, wire.Reject("hello_required", "no session: send hello first", "", 0))
            return
        session.last_heard = now
        self._sessions.heard()
        if isinstance(message, wire.Ack):
            self._sessions.acknowledge(session, message)
        elif isinstance(message, wire.Heartbeat):
            self._send(routing_id, wire.Heartbeat(now, message.t, self.spool.depth))
        elif isinstance(message, wire.Command):
            self._command(session, message)
        else:
            self._malformed(routing_id, f"{type(message).__name__} is not a message ground may send")

    def _hello(self, routing_id: bytes, identity: ClientIdentity, hello: wire.Hello, now: float) -> None:
        if hello.version != wire.PROTOCOL_VERSION:
            self._send(
                routing_id,
                wire.Reject("version", f"protocol version {hello.version}; expected {wire.PROTOCOL_VERSION}", "", 0),
            )
            return
        resent = self._sessions.resent(routing_id, identity)
        session = self._sessions.open(routing_id, identity, hello, now)
        welcome = wire.Welcome(
            wire.PROTOCOL_VERSION,
            identity.name,
            identity.role,
            self._admission.last_counter(identity.name),
            self.name,
            self.boot_id,
            self.light_time_s,
            self.heartbeat_s,
            session.sent_seq,
            session.sent_sseq,
        )
        self._send(routing_id, welcome)
        if hello.want_dictionary and session.dictionary_at is None:
            session.dictionary_at = self._sessions.quotas.dictionary_slot(identity.name, now)
            if session.dictionary_at > now and not resent:  # a re-sent hello's is deferred, but not refused traffic
                self.stats["throttled"] += 1
                self._reports.dictionary_deferred(identity.name)
            else:
                self._send_dictionaries(now)

    def _dictionary_bytes(self, now: float) -> bytes:
        """The encoded dictionary message, rebuilt at most once per ``dictionary_cache_s``."""
        cached = self._dictionary_frame
        if cached is None or now - cached[0] >= self.limits.dictionary_cache_s:
            cached = self._dictionary_frame = (now, encode(wire.DictionaryMessage(self.dictionary())))
        return cached[1]

    def dictionary(self) -> dict[str, Any]:
        """The flight dictionary plus event severities and flight's name and boot id."""
        dictionary = dict(self._dictionary())
        dictionary.setdefault("events", list(SEVERITIES))
        dictionary["flight"] = {"name": self.name, "boot_id": self.boot_id}
        return dictionary

    def _command(self, session: Session, command: wire.Command) -> None:
        identity = session.identity
        refusal = self._admission.refusal(identity, command)
        if refusal is not None:
            self._send(session.routing_id, wire.Reject(refusal.reason, refusal.message, command.id, refusal.counter))
            self._reports.report(
                refusal.reason, f"command {command.name} ({command.id}) from {identity.name} refused: {refusal.message}"
            )
            return
        # The dispatcher reports the command's first status (accepted, or failed) before its handler runs:
        # _on_status then commits that status -- with the counter, when the spool keeps counters -- in one
        # transaction and sends it at once, so ground hears "accepted" before the handler runs.
        try:
            self._admission.begin(identity.name, command.counter)
        except AdmissionRefused as exc:  # flight's store cannot record the counter: the command never runs
            self.dispatcher.refuse(command.name, command.id, identity.name, exc.reason, exc.message)
            self._commit_statuses(command.id)
            return
        try:
            self.dispatcher.submit(command.name, command.args, command_id=command.id, source=identity.name)
        except Exception as exc:  # a failing handler must not take the link down
            _LOGGER.exception("link: command %s failed in the dispatcher", command.name)
            self.events.error(SOURCE, "command_error", f"{command.name} ({command.id}) raised {exc!r}")
        if self._admission.admitting:  # no status reported: the counter is recorded all the same
            self._admit()
        self._commit_statuses(command.id)

    def _commit_statuses(self, command_id: str) -> None:
        """Spool and send the statuses the command ``command_id`` produced (kept for the next commit if the
        spool cannot take them now)."""
        try:
            self._packets.commit(with_telemetry=False)
        except LinkError as exc:  # kept for the next commit; the link and the flight loop go on
            _LOGGER.error("link: statuses of %s not spooled yet: %s", command_id, exc)
        self._send_windows()

    def _admit(self) -> LinkError | None:
        """Commit the submitted command's counter with what is pending (its first status) and send it now;
        returns the error if the commit failed (the command must then not run)."""
        admitted = self._admission.settle()
        try:
            self._packets.commit(with_telemetry=False, counter=admitted.spool_record)
        except LinkError as exc:
            _LOGGER.error("link: counter %d of %s not recorded: %s", admitted.counter, admitted.client, exc)
            return exc
        self._send_windows()
        self._batcher.flush()
        return None

    def _unauthenticated(self) -> None:
        self.stats["unauthenticated"] += 1
        self._reports.report("unauthenticated", "message from a peer without an allowed key dropped")

    def _malformed(self, routing_id: bytes, detail: str) -> None:
        self.stats["malformed"] += 1
        self._reports.report("malformed", f"malformed message dropped: {detail}")
        self._send(routing_id, wire.Reject("malformed", detail[:4000], "", 0))

    def _send(self, routing_id: bytes, message: wire.Message) -> None:
        self._batcher.send(routing_id, encode(message))

    # ------------------------------------------------------------------------------- telemetry
    def telemetry(self) -> dict[str, Any]:
        """Link channels: state, clients, spool depth, refused and malformed message counts."""
        return {
            "link.state": self.state,
            "link.clients": len(self.sessions),
            "link.spool_depth": self.spool.depth,
            "link.malformed": self.stats["malformed"],
            "link.replays": self.stats["replays"],
            "link.forbidden": self.stats["forbidden"],
            "link.service_us": self.stats["service_us"],
            "link.throttled": self.stats["throttled"] + self.stats["over_cap"],
            "link.spool_ok": int(self._packets.degraded is None),
            "link.spool_buffered": self._packets.buffered_bytes,
            "link.samples_dropped": self._packets.dropped_samples,
        }

    def channels(self) -> list[ChannelSpec]:
        """Dictionary entries of :meth:`telemetry`."""
        return list(LINK_CHANNELS)

    def close(self) -> None:
        """Flush what is pending, close the socket, the authenticator, the context and the spool."""
        try:
            self._packets.commit(with_telemetry=True)
        except LinkError as exc:
            _LOGGER.error("link: could not flush the spool on close: %s", exc)
        self.socket.close()
        if self._own_context is not None:
            self._own_context.term()
        self.spool.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()


def link_limits(link: LinkConfig) -> LinkLimits:
    """The caps a :class:`~link.config.LinkConfig` sets (MiB settings in bytes)."""
    return LinkLimits(
        max_bytes=int(link.client_max_mb * 1024 * 1024), spool_max_bytes=int(link.spool_max_mb * 1024 * 1024)
    )
