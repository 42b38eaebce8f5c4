"""Flight's end of the ground link: a ROUTER socket serving every ground client (``docs/link.md``).

Per telemetry tick the samples published since the previous tick become one telemetry packet; every
event becomes an event packet; both share one sequence, are committed to the :class:`~flight.spool.Spool`
first and sent after. Command verification reports go the same way in their own sequence. What one
service pass sends to a client leaves as one *batch* frame, the messages back to back (one ZeroMQ send and
one wake-up of the I/O thread instead of one per message). Each client
session holds a cursor per stream and a *window* (credit) granted by the client: flight never has more
than ``window`` packets + statuses unacknowledged by a client, so no high-water mark ever drops
must-deliver data (the socket's HWM is far above any window, and sends use ``ROUTER_MANDATORY`` and
``NOBLOCK``, so a full or vanished peer is an error here, never a silent drop).

Commands from operators pass the per-client counter check (strictly increasing, persisted before the
command runs) and go to the dispatcher; observers get ``forbidden``, stale or repeated counters ``replay``.
Malformed messages are counted, answered with a reject and reported by an event (at most one per second).
A client that stays silent for ``heartbeat_s * los_missed + 2 * light_time_s`` is dropped; when the last one
goes, loss of signal is declared and the failsafe applied at once; the next message restores the link.

The executive's idle wait services the socket (:meth:`LinkServer.wait_until`), so a command is answered as
soon as it arrives. Times are clock seconds (monotonic unless named ``t``, which is epoch).
"""

from __future__ import annotations

import logging
import math
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import zmq

from base.clock import Clock, VirtualClock
from flight.errors import AdmissionRefused
from flight.spool import Spool
from flight.telemetry import ChannelSpec
from link import wire
from link.errors import EncodeError, LinkError, MalformedMessage
from link.keys import ClientIdentity
from link.lighttime import DelayLine, los_timeout_s
from link.security import ServerSecurity

_LOGGER = logging.getLogger(__name__)

__all__ = ["LinkServer"]

SOURCE = "link"
#: Samples per telemetry packet at most (a tick with more is split into several packets).
MAX_PACKET_SAMPLES = 20_000
#: Messages handled per service call at most, so a flood cannot starve the control loop.
MAX_MESSAGES_PER_SERVICE = 2_000
#: Link messages per batch frame at most, and the batch's size in bytes (a larger message goes alone).
MAX_BATCH_MESSAGES = 256
BATCH_BYTES = 1024 * 1024
#: Socket high-water marks (messages); far above any window so flow control, not the HWM, bounds queues.
SOCKET_HWM = 1_000_000
#: Largest window a client may ask for (packets + statuses outstanding).
MAX_WINDOW = 100_000
#: Messages larger than this make libzmq drop the connection before they are buffered (bytes).
SOCKET_MAX_MSG_BYTES = 4 * wire.MAX_MESSAGE_BYTES
#: Seconds between two events reporting malformed or refused traffic (the counts keep every one).
REPORT_INTERVAL_S = 1.0


class CounterStore(Protocol):
    """Where the last accepted command counter of each client lives (FlightStore or the spool)."""

    def last_counter(self, client: str) -> int:
        """The last counter accepted from ``client`` (0 if none)."""
        ...

    def set_counter(self, client: str, n: int) -> None:
        """Record ``n`` as accepted from ``client``, durably, before returning."""
        ...


@dataclass
class _Session:
    routing_id: bytes
    identity: ClientIdentity
    window: int
    prunes: bool
    sent_seq: int
    sent_sseq: int
    acked_seq: int
    acked_sseq: int
    last_heard: float
    reachable: bool = True

    @property
    def outstanding(self) -> int:
        return (self.sent_seq - self.acked_seq) + (self.sent_sseq - self.acked_sseq)


class _Collector:
    """Table listener collecting samples since the last packet (columns kept apart for the encoder)."""

    __slots__ = ("names", "times", "values")

    def __init__(self) -> None:
        self.names: list[str] = []
        self.times: list[float] = []
        self.values: list[Any] = []

    def __call__(self, name: str, value: Any, t: float) -> None:
        self.names.append(name)
        self.times.append(t)
        self.values.append(value)

    def take(self) -> tuple[list[str], list[float], list[Any]]:
        columns = (self.names, self.times, self.values)
        self.names, self.times, self.values = [], [], []
        return columns


class LinkServer:
    """Serves ground clients from flight's table, events and dispatcher; see the module docstring."""

    def __init__(
        self,
        clock: Clock,
        *,
        table: Any,
        events: Any,
        dispatcher: Any,
        failsafe: Any,
        dictionary: Callable[[], dict[str, Any]],
        name: str = "isru",
        endpoint: str = "tcp://127.0.0.1:0",
        keys_dir: str | Path | None = None,
        insecure: bool = False,
        light_time_s: float = 0.0,
        heartbeat_s: float = 1.0,
        los_missed: int = 3,
        spool: str | Path | None = None,
        counters: CounterStore | None = None,
        context: zmq.Context | None = None,
    ) -> None:
        self.clock = clock
        self.table = table
        self.events = events
        self.dispatcher = dispatcher
        self.failsafe = failsafe
        self._dictionary = dictionary
        self.name = name
        self.boot_id = uuid.uuid4().hex[:12]
        self.heartbeat_s = heartbeat_s
        self.light_time_s = light_time_s
        self.los_timeout_s = los_timeout_s(heartbeat_s, los_missed, light_time_s)
        self._tmpdir = None
        if not spool:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="isru-spool-")
            spool = Path(self._tmpdir.name) / "spool.db"
        self.spool = Spool(spool)
        self.counters: CounterStore = counters if counters is not None else self.spool
        self._own_context = context is None
        self.context = context or zmq.Context()
        self.security = ServerSecurity(self.context, keys_dir, insecure=insecure)
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.linger = 0
        self.socket.sndhwm = SOCKET_HWM
        self.socket.rcvhwm = SOCKET_HWM
        self.socket.maxmsgsize = SOCKET_MAX_MSG_BYTES
        self.socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
        try:
            self.endpoint = self.security.bind(self.socket, endpoint)
        except LinkError:
            self.socket.close(0)
            self.security.close()
            raise
        self._poller = zmq.Poller()
        self._poller.register(self.socket, zmq.POLLIN)
        self._inbound: DelayLine[tuple[bytes, ClientIdentity, bytes]] = DelayLine(light_time_s)
        self._outbound: DelayLine[tuple[bytes, bytes]] = DelayLine(light_time_s)
        self.sessions: dict[bytes, _Session] = {}
        self._collector = _Collector()
        self._pending_events: list[dict[str, Any]] = []
        self._pending_statuses: list[dict[str, Any]] = []
        self._batches: dict[bytes, list[bytes]] = {}
        self._batch_bytes: dict[bytes, int] = {}
        self._counter_cache: dict[str, int] = {}
        # (client, counter) of the command being submitted until its counter is durable (see _command)
        self._admitting: tuple[str, int] | None = None
        # Packets and statuses a failed spool append left, numbered, for the next commit.
        self._unspooled: tuple[list[tuple[int, bytes]], list[tuple[int, bytes]]] = ([], [])
        self.state = "waiting"  # waiting (no ground yet) | up | los
        self.stats = {
            "messages_in": 0,
            "messages_out": 0,
            "malformed": 0,
            "unauthenticated": 0,
            "replays": 0,
            "forbidden": 0,
            "commands": 0,
            "losses": 0,
        }
        self._reported: dict[str, tuple[float, int]] = {}
        self._last_service = -math.inf
        table.subscribe(self._collector)
        events.subscribe(self._on_event)
        dispatcher.on_status(self._on_status)
        table.define_many(self.channels())
        _LOGGER.info("link: flight %s serving on %s (boot %s)", name, self.endpoint, self.boot_id)

    @classmethod
    def attach(cls, app: Any, config: Any = None, **overrides: Any) -> LinkServer:
        """Serve ``app`` (a :class:`flight.app.FlightApp`): link settings from ``config`` (a LinkConfig; default
        ``app.config.link``) and ``overrides``; registers the packet and service tasks and the executive's waiter."""
        link = config if config is not None else app.config.link
        settings: dict[str, Any] = {
            "endpoint": link.endpoint,
            "keys_dir": link.keys or None,
            "insecure": link.insecure,
            "light_time_s": link.light_time_s,
            "heartbeat_s": link.heartbeat_s,
            "los_missed": link.los_missed,
            "spool": link.spool or None,
        }
        settings.update(overrides)
        server = cls(
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

    # ----------------------------------------------------------------------------------- sources
    def _on_event(self, event: Any) -> None:
        self._pending_events.append(event.as_dict())

    def _on_status(self, status: Any) -> None:
        self._pending_statuses.append(status.as_dict())
        if self._admitting is not None:
            error = self._admit()
            if error is not None and status.stage == "accepted":
                # The dispatcher stops the command before its handler runs (it reports it failed instead).
                raise AdmissionRefused("persistence", f"the command counter could not be recorded: {error}")

    def tick(self, _now: float = 0.0) -> None:
        """Telemetry rate: the samples since the last tick become a packet; then commit and send."""
        self.table.update(self.telemetry(), self.clock.now())
        self._commit(with_telemetry=True)
        self.service()

    def _commit(self, *, with_telemetry: bool, counter: tuple[str, int] | None = None) -> None:
        """Number, encode and spool what is pending, and ``counter`` (client, last accepted command counter)
        if given, in one transaction, oldest first."""
        spool = self.spool
        # What a failed append left (numbered from the spool's next numbers) goes first, so nothing is lost.
        packets, statuses = self._unspooled
        self._unspooled = ([], [])
        seq = spool.next_seq + len(packets)
        if self._pending_events:
            events, self._pending_events = self._pending_events, []
            for event in events:
                packets.append((seq, self._encode(wire.EventPacket(seq, event))))
                seq += 1
        if with_telemetry and self._collector.names:
            t = self.clock.now()
            names, times, values = self._collector.take()
            for start in range(0, len(names), MAX_PACKET_SAMPLES):
                end = start + MAX_PACKET_SAMPLES
                for frame in self._telemetry_frames(seq, t, names[start:end], times[start:end], values[start:end]):
                    packets.append((seq, frame))
                    seq += 1
        if self._pending_statuses:
            pending, self._pending_statuses = self._pending_statuses, []
            sseq = spool.next_sseq + len(statuses)
            for status in pending:
                statuses.append((sseq, wire.pack([wire.Kind.STATUS, sseq, status], "status message")))
                sseq += 1
        try:
            spool.append(packets, statuses, counter=counter)
        except LinkError:
            self._unspooled = (packets, statuses)  # retried by the next commit
            raise

    def _telemetry_frames(self, seq: int, t: float, names: list, times: list, values: list) -> list[bytes]:
        """One frame, or several if the samples do not fit the size limit (each split numbered on)."""
        try:
            return [wire.encode_telemetry(seq, t, names, times, values)]
        except EncodeError:
            if len(names) <= 1:
                _LOGGER.error("link: dropping a sample too large for a packet: %s", names[:1])
                self.events.error(SOURCE, "sample_too_large", f"sample of {names[:1]} exceeds the packet size limit")
                return []
            half = len(names) // 2
            first = self._telemetry_frames(seq, t, names[:half], times[:half], values[:half])
            rest = self._telemetry_frames(seq + len(first), t, names[half:], times[half:], values[half:])
            return first + rest

    def _encode(self, message: wire.Message) -> bytes:
        try:
            return wire.encode(message)[0]
        except EncodeError as exc:
            _LOGGER.error("link: cannot encode %s: %s", type(message).__name__, exc)
            replacement = {"error": f"unencodable {type(message).__name__}: {exc}"}
            if isinstance(message, wire.EventPacket):
                return wire.encode(wire.EventPacket(message.seq, {**message.event, "data": replacement}))[0]
            raise

    # ----------------------------------------------------------------------------------- service
    def wait_until(self, deadline: float) -> None:
        """The executive's idle wait: service the link until clock ``deadline`` (monotonic s)."""
        clock = self.clock
        if isinstance(clock, VirtualClock):
            self.service()
            clock.sleep_until(deadline)
            return
        while True:
            self.service()
            now = clock.monotonic()
            if now >= deadline:
                return
            wake = deadline
            for due in (self._inbound.next_due(), self._outbound.next_due()):
                if due is not None:
                    wake = min(wake, due)
            timeout_ms = math.floor(clock.wall_timeout(wake - now) * 1000.0)
            if timeout_ms <= 0:
                clock.sleep_until(wake)
                continue
            self._poller.poll(timeout_ms)

    def service(self) -> int:
        """Receive and handle what arrived, flush pending events/statuses, send what windows allow, watch for
        loss of signal. Returns the messages handled."""
        now = self.clock.monotonic()
        handled = self._receive(now)
        for routing_id, identity, payload in self._inbound.due(now):
            self._handle(routing_id, identity, payload, now)
        if self._pending_events or self._pending_statuses:
            self._commit(with_telemetry=False)
        self._pump(now)
        for routing_id, frame in self._outbound.due(now):
            self._queue(routing_id, frame)
        self._flush()
        self._watch(now)
        return handled

    def _receive(self, now: float) -> int:
        socket = self.socket
        count = 0
        while count < MAX_MESSAGES_PER_SERVICE:
            try:
                frames = socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            count += 1
            self.stats["messages_in"] += 1
            identity = self.security.identify(frames[-1])
            if identity is None:
                self.stats["unauthenticated"] += 1
                self._report("unauthenticated", "message from a peer without an allowed key dropped")
                continue
            routing_id = frames[0].bytes
            if len(frames) != 2:
                self._malformed(routing_id, f"expected 1 payload frame, got {len(frames) - 1}")
                continue
            payload = frames[1].bytes
            if self.light_time_s > 0:
                self._inbound.push((routing_id, identity, payload), now)
            else:
                self._handle(routing_id, identity, payload, now)
        return count

    def _handle(self, routing_id: bytes, identity: ClientIdentity, payload: bytes, now: float) -> None:
        try:
            message = wire.decode([payload])
        except MalformedMessage as exc:
            self._malformed(routing_id, str(exc))
            return
        session = self.sessions.get(routing_id)
        if isinstance(message, wire.Hello):
            self._hello(routing_id, identity, message, now)
            return
        if session is None:
            self._send(routing_id, wire.Reject("hello_required", "no session: send hello first", "", 0))
            return
        session.last_heard = now
        self._link_heard()
        if isinstance(message, wire.Ack):
            self._ack(session, message)
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
        spool = self.spool
        seq = min(max(hello.resume_after, spool.packets.acked), spool.next_seq - 1)
        sseq = min(max(hello.status_after, spool.statuses.acked), spool.next_sseq - 1)
        prunes = identity.role == "operator" and hello.archive
        session = _Session(routing_id, identity, min(hello.window, MAX_WINDOW), prunes, seq, sseq, seq, sseq, now)
        fresh = routing_id not in self.sessions
        self.sessions[routing_id] = session
        if fresh:
            _LOGGER.info("link: %s (%s) connected, resuming after seq %d", identity.name, identity.role, seq)
            self.events.info(
                SOURCE,
                "client_connected",
                f"ground client {identity.name} ({identity.role}) connected; resuming after packet {seq}",
                client=identity.name,
                role=identity.role,
            )
        self._link_heard()
        last_counter = self._last_counter(identity.name)
        welcome = wire.Welcome(
            wire.PROTOCOL_VERSION,
            identity.name,
            identity.role,
            last_counter,
            self.name,
            self.boot_id,
            self.light_time_s,
            self.heartbeat_s,
            seq,
            sseq,
        )
        self._send(routing_id, welcome)
        if hello.want_dictionary:
            self._send(routing_id, wire.DictionaryMessage(self.dictionary()))

    def dictionary(self) -> dict[str, Any]:
        """The flight dictionary plus event severities and flight's name and boot id."""
        dictionary = dict(self._dictionary())
        dictionary.setdefault("events", ["debug", "info", "warning", "error", "critical"])
        dictionary["flight"] = {"name": self.name, "boot_id": self.boot_id}
        return dictionary

    def _ack(self, session: _Session, ack: wire.Ack) -> None:
        session.acked_seq = max(session.acked_seq, min(ack.seq, session.sent_seq))
        session.acked_sseq = max(session.acked_sseq, min(ack.sseq, session.sent_sseq))
        session.window = min(ack.window, MAX_WINDOW)
        self._prune()

    def _prune(self) -> None:
        """Drop from the spool what every connected archiving client has acknowledged."""
        pruning = [s for s in self.sessions.values() if s.prunes and s.reachable]
        if pruning:
            self.spool.acknowledge(min(s.acked_seq for s in pruning), min(s.acked_sseq for s in pruning))

    def _command(self, session: _Session, command: wire.Command) -> None:
        identity = session.identity
        if identity.role != "operator":
            self.stats["forbidden"] += 1
            self._refuse(session, command, "forbidden", f"{identity.name} is an {identity.role}: may not command")
            return
        last = self._last_counter(identity.name)
        if command.counter <= last:
            self.stats["replays"] += 1
            # The reject carries the last accepted counter, so a legitimate client sharing this key with another
            # process can re-send its (never executed) command above it; the command id still runs only once.
            self._refuse(
                session,
                command,
                "replay",
                f"counter {command.counter} is not above {last}, the last one accepted",
                counter=last,
            )
            return
        self.stats["commands"] += 1
        if self.counters is not self.spool:
            self.counters.set_counter(identity.name, command.counter)  # durable before the command runs
            self._counter_cache[identity.name] = command.counter
        # The dispatcher reports the command's first status (accepted, or failed) before its handler runs:
        # _on_status then commits that status -- with the counter, when the spool keeps counters -- in one
        # transaction and sends it at once, so ground hears "accepted" before the handler runs.
        self._admitting = (identity.name, command.counter)
        try:
            self.dispatcher.submit(command.name, command.args, command_id=command.id, source=identity.name)
        except Exception as exc:  # a failing handler must not take the link down
            _LOGGER.exception("link: command %s failed in the dispatcher", command.name)
            self.events.error(SOURCE, "command_error", f"{command.name} ({command.id}) raised {exc!r}")
        if self._admitting is not None:  # no status reported: the counter is recorded all the same
            self._admit()
        try:
            self._commit(with_telemetry=False)
        except LinkError as exc:  # kept for the next commit; the link and the flight loop go on
            _LOGGER.error("link: statuses of %s not spooled yet: %s", command.id, exc)
        self._pump(self.clock.monotonic())

    def _admit(self) -> LinkError | None:
        """Commit the submitted command's counter with what is pending (its first status) and send it now;
        returns the error if the commit failed (the command must then not run)."""
        assert self._admitting is not None
        client, counter = self._admitting
        self._admitting = None
        self._counter_cache[client] = counter  # refuses replays in this run even if the commit fails
        try:
            self._commit(with_telemetry=False, counter=(client, counter) if self.counters is self.spool else None)
        except LinkError as exc:
            _LOGGER.error("link: counter %d of %s not recorded: %s", counter, client, exc)
            return exc
        self._pump(self.clock.monotonic())
        self._flush()
        return None

    def _last_counter(self, client: str) -> int:
        """The last counter accepted from ``client``: read from the store once, then kept (only we write it)."""
        last = self._counter_cache.get(client)
        if last is None:
            last = self._counter_cache[client] = self.counters.last_counter(client)
        return last

    def _refuse(
        self, session: _Session, command: wire.Command, reason: str, message: str, *, counter: int | None = None
    ) -> None:
        """Refuse ``command``; the reject names it and ``counter`` (default: the command's own)."""
        reject_counter = command.counter if counter is None else counter
        self._send(session.routing_id, wire.Reject(reason, message, command.id, reject_counter))
        self._report(reason, f"command {command.name} ({command.id}) from {session.identity.name} refused: {message}")

    def _malformed(self, routing_id: bytes, detail: str) -> None:
        self.stats["malformed"] += 1
        self._report("malformed", f"malformed message dropped: {detail}")
        self._send(routing_id, wire.Reject("malformed", detail[:4000], "", 0))

    def _report(self, kind: str, message: str) -> None:
        """An event for ``kind``, at most one per REPORT_INTERVAL_S (with the count since the last one)."""
        now = self.clock.monotonic()
        last, suppressed = self._reported.get(kind, (-math.inf, 0))
        if now - last < REPORT_INTERVAL_S:
            self._reported[kind] = (last, suppressed + 1)
            return
        self._reported[kind] = (now, 0)
        suffix = f" ({suppressed} more since the last report)" if suppressed else ""
        self.events.warning(SOURCE, kind, message + suffix, count=self.stats.get(kind + "s", self.stats.get(kind, 0)))

    # -------------------------------------------------------------------------------------- send
    def _pump(self, _now: float) -> None:
        """Send spooled statuses then packets to every session, as far as its window allows."""
        spool = self.spool
        for session in list(self.sessions.values()):
            room = session.window - session.outstanding
            if room <= 0 or not session.reachable:
                continue
            if session.sent_sseq < spool.next_sseq - 1:
                for sseq, frame in spool.read_statuses(session.sent_sseq, room):
                    self._send_frame(session.routing_id, frame)
                    session.sent_sseq = sseq
                    room -= 1
            if room > 0 and session.sent_seq < spool.next_seq - 1:
                for seq, frame in spool.read_packets(session.sent_seq, room):
                    self._send_frame(session.routing_id, frame)
                    session.sent_seq = seq

    def _send(self, routing_id: bytes, message: wire.Message) -> None:
        self._send_frame(routing_id, self._encode(message))

    def _send_frame(self, routing_id: bytes, frame: bytes) -> bool:
        """Queue ``frame`` for ``routing_id``: through the light-time delay line, else into this pass's batch."""
        if self.light_time_s > 0:
            self._outbound.push((routing_id, frame), self.clock.monotonic())
            return True
        self._queue(routing_id, frame)
        return True

    def _queue(self, routing_id: bytes, frame: bytes) -> None:
        batch = self._batches.get(routing_id)
        if batch is None:
            batch = self._batches[routing_id] = []
            self._batch_bytes[routing_id] = 0
        elif self._batch_bytes[routing_id] + len(frame) > BATCH_BYTES or len(batch) >= MAX_BATCH_MESSAGES:
            self._flush_batch(routing_id)
            self._queue(routing_id, frame)
            return
        batch.append(frame)
        self._batch_bytes[routing_id] += len(frame)

    def _flush(self) -> None:
        """Send every queued batch: per client, its messages of this pass back to back in one frame."""
        for routing_id in list(self._batches):
            self._flush_batch(routing_id)

    def _flush_batch(self, routing_id: bytes) -> None:
        batch = self._batches.pop(routing_id)
        del self._batch_bytes[routing_id]
        try:
            self.socket.send_multipart((routing_id, b"".join(batch)), zmq.NOBLOCK)
        except zmq.ZMQError as exc:  # EHOSTUNREACH (ROUTER_MANDATORY): the peer is gone; EAGAIN: full
            session = self.sessions.get(routing_id)
            if session is not None and session.reachable:
                # kept until its silence times out: loss of signal is timed by heartbeats, not by TCP;
                # a client that comes back says hello from what it holds, so nothing is skipped
                session.reachable = False
                _LOGGER.info("link: %s unreachable (%s)", session.identity.name, exc)
                self._prune()
            return
        self.stats["messages_out"] += len(batch)

    # ------------------------------------------------------------------------------- link state
    def _link_heard(self) -> None:
        if self.state == "up":
            return
        previous, self.state = self.state, "up"
        self.events.info(SOURCE, "acquired", "ground link acquired", previous=previous)
        if previous == "los":
            self.failsafe.link_restored()

    def _watch(self, now: float) -> None:
        timeout = self.los_timeout_s
        dropped = False
        for routing_id, session in list(self.sessions.items()):
            if now - session.last_heard > timeout:
                del self.sessions[routing_id]
                dropped = True
                _LOGGER.info("link: %s silent for %.1f s; session dropped", session.identity.name, timeout)
        if dropped:
            self._prune()
        if self.state == "up" and not self.sessions:  # nobody heard within the timeout
            self.state = "los"
            self.stats["losses"] += 1
            self.events.warning(SOURCE, "los", f"loss of signal: no ground traffic for {timeout:.1f} s")
            self.failsafe.link_lost(f"no ground traffic for {timeout:.1f} s")

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
        }

    def channels(self) -> list[ChannelSpec]:
        """Dictionary entries of :meth:`telemetry`."""
        return [
            ChannelSpec("link.state", description="ground link: waiting, up or los", type="str"),
            ChannelSpec("link.clients", description="ground clients connected", type="int"),
            ChannelSpec("link.spool_depth", description="packets + statuses not yet acknowledged", type="int"),
            ChannelSpec("link.malformed", description="malformed messages dropped since start", type="int"),
            ChannelSpec("link.replays", description="commands refused for a stale counter", type="int"),
            ChannelSpec("link.forbidden", description="commands refused from observers", type="int"),
        ]

    def close(self) -> None:
        """Flush what is pending, close the socket, the authenticator, the context and the spool."""
        try:
            self._commit(with_telemetry=True)
        except LinkError as exc:
            _LOGGER.error("link: could not flush the spool on close: %s", exc)
        self.socket.close(0)
        self.security.close()
        if self._own_context:
            self.context.term()
        self.spool.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
