"""Ground's end of the flight link: a DEALER socket, CURVE client, that receives every packet exactly once.

:class:`LinkClient` says hello (where its archive stops, its window), receives the dictionary, telemetry,
events and command statuses, delivers each packet to the callbacks at most once and in seq order, and
acknowledges cumulatively (after the optional ack gate, e.g. an archive commit) so flight can prune its
spool and send more (credit). A gap in a sequence (packets lost when a connection was re-made) makes it
say hello again from the last packet it holds: flight goes back and sends the rest. Heartbeats every
``heartbeat_s`` measure the round trip; ``los_missed`` missed ones plus the round-trip light time make a
loss of signal, after which it keeps saying hello until flight answers. Commands carry a counter above
the last one flight accepted from this key (flight says which in its welcome).

Callbacks run on the thread that services the socket (:meth:`LinkClient.poll` or :meth:`run_in_thread`).
Times are clock seconds; ``rtt_s`` is in seconds of the client's clock.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq

from base.clock import Clock
from link import wire
from link.errors import MalformedMessage
from link.lighttime import DelayLine, los_timeout_s
from link.security import secure_client

_LOGGER = logging.getLogger(__name__)

__all__ = ["LinkClient", "LinkStatus"]

#: Packets + statuses flight may have unacknowledged towards this client (the credit granted).
DEFAULT_WINDOW = 4_000
#: Acknowledge at least this often while something is unacknowledged (clock s).
ACK_INTERVAL_S = 0.5
#: Messages received per poll at most (callbacks included), so a UI thread gets a turn.
MAX_MESSAGES_PER_POLL = 5_000
#: Clock seconds of receiving per poll at most (then heartbeats and acks get their turn).
POLL_BUDGET_S = 0.1
#: Socket high-water marks (messages): above any window, so flow control bounds the queues.
SOCKET_HWM = 1_000_000
#: Re-sends of a command refused for a stale counter (another process using the same client key).
MAX_RESENDS = 3
#: Unanswered commands remembered for re-sending.
MAX_PENDING = 10_000
#: Seconds between link-status callbacks while nothing changes.
LINK_REPORT_S = 1.0


@dataclass(frozen=True)
class LinkStatus:
    """The link as ground sees it. ``gaps``: gaps detected (each answered by a backfill); ``lost``: packets
    flight no longer had when asked (0 on a healthy link); ``rtt_s`` None until the first heartbeat echo."""

    state: str = "connecting"  # connecting | acquired | los
    rtt_s: float | None = None
    last_seq: int = 0
    last_sseq: int = 0
    gaps: int = 0
    lost: int = 0
    spool_depth: int = 0
    role: str = ""
    client: str = ""
    flight: str = ""
    boot_id: str = ""
    light_time_s: float = 0.0
    messages_in: int = 0
    malformed: int = 0
    duplicates: int = 0


class LinkClient:
    """Ground's connection to flight; see the module docstring and ``docs/link.md``."""

    def __init__(
        self,
        endpoint: str,
        clock: Clock,
        *,
        keys_dir: str | Path | None,
        identity: str = "operator",
        insecure: bool = False,
        light_time_s: float = 0.0,
        heartbeat_s: float = 1.0,
        los_missed: int = 3,
        resume_after: int = 0,
        context: zmq.Context | None = None,
        window: int = DEFAULT_WINDOW,
        archive: bool = True,
    ) -> None:
        self.endpoint = endpoint
        self.clock = clock
        self.identity = identity
        self.heartbeat_s = heartbeat_s
        self.los_missed = los_missed
        self.window = window
        self.archive = archive
        self.light_time_s = light_time_s
        self._own_context = context is None
        self.context = context or zmq.Context()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.linger = 0
        self.socket.sndhwm = SOCKET_HWM
        self.socket.rcvhwm = SOCKET_HWM
        self.socket.reconnect_ivl = 100
        self.socket.reconnect_ivl_max = 1000
        try:
            secure_client(self.socket, keys_dir, identity, insecure=insecure)
            self.socket.connect(endpoint)
        except Exception:
            self.socket.close(0)
            if self._own_context:
                self.context.term()
            raise
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._poller = zmq.Poller()
        self._poller.register(self.socket, zmq.POLLIN)
        self._poller.register(self._wake_r, zmq.POLLIN)
        self._inbound: DelayLine[bytes] = DelayLine(light_time_s)
        self._outbound: DelayLine[bytes] = DelayLine(light_time_s)
        self._s: dict[str, Any] = {
            "state": "connecting",
            "rtt_s": None,
            "gaps": 0,
            "lost": 0,
            "spool_depth": 0,
            "role": "",
            "client": "",
            "flight": "",
            "boot_id": "",
            "light_time_s": light_time_s,
            "messages_in": 0,
            "malformed": 0,
            "duplicates": 0,
        }
        self.dictionary: dict[str, Any] | None = None
        self._last_seq = resume_after
        self._last_sseq = 0
        self._acked = (resume_after, 0)
        self._last_ack_t = -1e18
        self._flight_light_s = 0.0
        self._welcomed = False
        self._hello_t: float | None = None
        self._backfilling = False
        self._last_heard = clock.monotonic()
        self._last_hb_t = -1e18
        self._flight_hb_t = 0.0
        self._last_report_t = -1e18
        self._counter = 0
        # Command ids: 64 random bits per client, then a number (unique without a random draw per command).
        self._id_prefix = uuid.uuid4().hex[:16] + "-"
        self._id_numbers = itertools.count(1)
        self._commands: collections.deque[tuple[str, str, dict[str, Any]]] = collections.deque()
        self._sent_ids: dict[str, str] = {}
        # Commands sent and not yet answered by a status: (name, args, re-sends so far), by id.
        self._pending: dict[str, tuple[str, dict[str, Any], int]] = {}
        self._cb_dictionary: list[Callable[[dict], None]] = []
        self._cb_telemetry: list[Callable[[int, list[tuple[str, float, Any]]], None]] = []
        self._cb_event: list[Callable[[int, dict], None]] = []
        self._cb_status: list[Callable[[dict], None]] = []
        self._cb_link: list[Callable[[LinkStatus], None]] = []
        self._ack_gate: Callable[[int], None] | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._closed = False

    @property
    def status(self) -> LinkStatus:
        """The link as of now (a snapshot; ``last_seq``/``last_sseq`` are the last delivered)."""
        return LinkStatus(last_seq=self._last_seq, last_sseq=self._last_sseq, **self._s)

    # ----------------------------------------------------------------------------------- callbacks
    def on_dictionary(self, cb: Callable[[dict], None]) -> None:
        """Call ``cb(dictionary)`` when flight's dictionary arrives."""
        self._cb_dictionary.append(cb)

    def on_telemetry(self, cb: Callable[[int, list[tuple[str, float, Any]]], None]) -> None:
        """Call ``cb(seq, samples)`` for every telemetry packet, once, in seq order."""
        self._cb_telemetry.append(cb)

    def on_event(self, cb: Callable[[int, dict], None]) -> None:
        """Call ``cb(seq, event)`` for every event packet, once, in seq order."""
        self._cb_event.append(cb)

    def on_command_status(self, cb: Callable[[dict], None]) -> None:
        """Call ``cb(status)`` for every command verification report (and link-level refusals)."""
        self._cb_status.append(cb)

    def on_link(self, cb: Callable[[LinkStatus], None]) -> None:
        """Call ``cb(status)`` on every link state change and about once a second."""
        self._cb_link.append(cb)

    def set_ack_gate(self, fn: Callable[[int], None]) -> None:
        """Call ``fn(seq)`` before acknowledging packets up to ``seq`` (e.g. commit the archive)."""
        self._ack_gate = fn

    # ------------------------------------------------------------------------------------ commands
    def send_command(self, name: str, args: dict[str, Any] | None = None, *, command_id: str | None = None) -> str:
        """Queue command ``name`` for flight (sent once flight has welcomed this client); returns its id."""
        command_id = command_id or f"{self.identity}-{self._id_prefix}{next(self._id_numbers):x}"
        self._commands.append((command_id, name, dict(args or {})))
        if self._thread is not None and threading.current_thread() is not self._thread:
            os.write(self._wake_w, b"!")
        elif self._welcomed:
            self._flush_commands(self.clock.monotonic())
        return command_id

    def _flush_commands(self, now: float) -> None:
        while self._commands:
            command_id, name, args = self._commands.popleft()
            self._sent_ids[command_id] = name
            if len(self._sent_ids) > 10_000:
                self._sent_ids.pop(next(iter(self._sent_ids)))
            self._pending[command_id] = (name, args, 0)
            if len(self._pending) > MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))
            self._send_command(command_id, name, args, now)

    def _send_command(self, command_id: str, name: str, args: dict[str, Any], now: float) -> None:
        self._counter += 1
        self._send(wire.Command(command_id, self._counter, name, args), now)

    # ---------------------------------------------------------------------------------------- poll
    def poll(self, timeout_s: float = 0.0) -> int:
        """Service the socket once: wait up to ``timeout_s`` clock seconds for traffic, handle what arrived,
        send heartbeats, acknowledgements and queued commands. Returns the messages handled."""
        now = self.clock.monotonic()
        if self._hello_t is None:
            self._hello(now, want_dictionary=True)
        self._housekeeping(now)
        wake = True  # read the wake-up pipe (unless a wait said it is empty)
        if timeout_s > 0 and not (self._welcomed and self._commands):
            # Wait first: the poll returns at once if anything is queued, so no receive attempt is wasted.
            wait = timeout_s
            due = self._inbound.next_due()
            if due is not None:
                wait = min(wait, max(0.0, due - now))
            if wait > 0:
                ready = dict(self._poller.poll(self.clock.wall_timeout(wait) * 1000.0))
                wake = self._wake_r in ready
                now = self.clock.monotonic()
        handled = self._drain(now, wake=wake)
        now = self.clock.monotonic()
        self._ack_if_due(now, force=False)
        self._housekeeping(now)
        return handled

    def _drain(self, now: float, *, wake: bool = True) -> int:
        if wake:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_r, 4096)
        socket = self.socket
        count = 0
        delay = self.light_time_s > 0
        budget_end = now + POLL_BUDGET_S
        while count < MAX_MESSAGES_PER_POLL:
            if count % 16 == 15 and self.clock.monotonic() > budget_end:
                break  # heartbeats and acks get their turn even under a flood of large packets
            try:
                frames = socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            count += 1
            for frame in frames:
                if delay:
                    self._inbound.push(frame, now)
                else:
                    self._receive_batch(frame, now)
        for payload in self._inbound.due(now):
            self._receive_batch(payload, now)
        if self._welcomed and self._commands:
            self._flush_commands(now)
        for payload in self._outbound.due(now):
            self._send_now(payload)
        return count

    def _receive_batch(self, frame: bytes, now: float) -> None:
        """Handle a frame from flight: one or more messages back to back (flight batches each pass)."""
        try:
            messages = wire.decode_batch(frame)
        except MalformedMessage as exc:
            self._malformed(str(exc))
            return
        for message in messages:
            self._receive(message, now)

    def _receive(self, message: wire.Message, now: float) -> None:
        fields = self._s
        fields["messages_in"] += 1
        self._last_heard = now
        kind = type(message)
        if kind is wire.TelemetryPacket or kind is wire.EventPacket:
            self._packet(message)
        elif kind is wire.StatusPacket:
            self._status_packet(message)
        elif kind is wire.Heartbeat:
            if message.echo > 0:
                fields["rtt_s"] = now - message.echo
            self._flight_hb_t = message.t
            fields["spool_depth"] = message.spool_depth
        elif kind is wire.Welcome:
            self._welcome(message, now)
        elif kind is wire.DictionaryMessage:
            self.dictionary = message.dictionary
            for cb in self._cb_dictionary:
                self._call(cb, message.dictionary)
        elif kind is wire.Reject:
            self._reject(message, now)
        else:
            self._malformed(f"{kind.__name__} is not a message flight sends")
            return
        if self._welcomed and fields["state"] != "acquired":
            self._set_state("acquired")

    def _packet(self, message: wire.TelemetryPacket | wire.EventPacket) -> None:
        seq = message.seq
        last = self._last_seq
        if seq <= last:
            self._s["duplicates"] += 1
            return
        if seq > last + 1:
            self._gap("packet", last, seq)
            return
        self._last_seq = seq
        if type(message) is wire.TelemetryPacket:
            for cb in self._cb_telemetry:
                self._call(cb, seq, message.samples)
        else:
            for cb in self._cb_event:
                self._call(cb, seq, message.event)
        self._ack_if_due(self.clock.monotonic(), force=False)

    def _status_packet(self, message: wire.StatusPacket) -> None:
        last = self._last_sseq
        if message.sseq <= last:
            self._s["duplicates"] += 1
            return
        if message.sseq > last + 1:
            self._gap("status", last, message.sseq)
            return
        self._last_sseq = message.sseq
        self._pending.pop(message.status.get("id", ""), None)
        for cb in self._cb_status:
            self._call(cb, message.status)

    def _gap(self, stream: str, last: int, got: int) -> None:
        if self._backfilling:
            return
        _LOGGER.info("link: %s gap after %d (got %d): asking flight to resend", stream, last, got)
        self._s["gaps"] += 1
        self._hello(self.clock.monotonic(), want_dictionary=False)

    def _welcome(self, message: wire.Welcome, now: float) -> None:
        lost = 0
        if message.resume_seq < self._last_seq:
            # flight's spool numbers below what ground holds: its spool was replaced; follow flight
            _LOGGER.error(
                "link: flight %s resumes after packet %d but ground holds up to %d: flight's spool was replaced; "
                "packets numbered again from %d",
                message.flight,
                message.resume_seq,
                self._last_seq,
                message.resume_seq + 1,
            )
            self._last_seq = message.resume_seq
            self._acked = (message.resume_seq, self._acked[1])
        if message.resume_seq > self._last_seq:
            if self._last_seq > 0:
                lost = message.resume_seq - self._last_seq
                _LOGGER.warning("link: flight no longer holds packets %d..%d", self._last_seq + 1, message.resume_seq)
            self._last_seq = message.resume_seq
        self._last_sseq = message.resume_sseq  # flight resumes statuses here (above an old spool's if replaced)
        self._acked = (max(self._acked[0], self._last_seq), self._last_sseq)
        self._counter = max(self._counter, message.last_counter)
        self._flight_light_s = message.light_time_s
        self._welcomed = True
        self._backfilling = False
        self._s.update(
            role=message.role,
            client=message.client,
            flight=message.flight,
            boot_id=message.boot_id,
            light_time_s=self.light_time_s + message.light_time_s,
            lost=self._s["lost"] + lost,
        )
        if self._commands:
            self._flush_commands(now)

    def _reject(self, message: wire.Reject, now: float) -> None:
        if message.reason == "hello_required":
            if not self._backfilling:
                self._hello(now, want_dictionary=self.dictionary is None)
            return
        if message.reason == "replay" and self._resend_above(message, now):
            return
        _LOGGER.warning(
            "link: flight refused %s: %s (%s)", message.command_id or "a message", message.reason, message.message
        )
        if message.command_id:
            status = {
                "id": message.command_id,
                "name": self._sent_ids.get(message.command_id, ""),
                "stage": "failed",
                "source": self.identity,
                "t": self.clock.now(),
                "reason": message.reason,
                "message": message.message,
                "progress": None,
            }
            for cb in self._cb_status:
                self._call(cb, status)

    def _resend_above(self, message: wire.Reject, now: float) -> bool:
        """Another process with this key used counters above ours: re-send our refused command above the last
        counter flight accepted (its ``counter``), at most :data:`MAX_RESENDS` times. Flight never executed the
        refused command, and its id still runs at most once. Returns True if it was re-sent."""
        pending = self._pending.get(message.command_id)
        if pending is None or pending[2] >= MAX_RESENDS:
            return False
        name, args, resends = pending
        self._pending[message.command_id] = (name, args, resends + 1)
        self._counter = max(self._counter, message.counter)
        _LOGGER.info(
            "link: counter %d was stale (another client with key %s); re-sending %s above it",
            message.counter,
            self.identity,
            message.command_id,
        )
        self._send_command(message.command_id, name, args, now)
        return True

    def _malformed(self, detail: str) -> None:
        _LOGGER.warning("link: malformed message from flight dropped: %s", detail)
        self._s["malformed"] += 1

    def _call(self, cb: Callable[..., None], *args: Any) -> None:
        try:
            cb(*args)
        except Exception:
            _LOGGER.exception("link callback %r failed", cb)

    # ---------------------------------------------------------------------------------------- send
    def _hello(self, now: float, *, want_dictionary: bool) -> None:
        self._hello_t = now
        self._backfilling = True
        hello = wire.Hello(
            wire.PROTOCOL_VERSION, self._last_seq, self._last_sseq, self.window, want_dictionary, self.archive
        )
        self._send(hello, now)

    def _send(self, message: wire.Message, now: float) -> None:
        frame = wire.encode(message)[0]
        if self.light_time_s > 0:
            self._outbound.push(frame, now)
        else:
            self._send_now(frame)

    def _send_now(self, frame: bytes) -> None:
        try:
            self.socket.send(frame, zmq.NOBLOCK)
        except zmq.Again:
            _LOGGER.warning("link: send queue full; message dropped (flow control will resend packets)")

    def _ack_if_due(self, now: float, *, force: bool) -> None:
        seq, sseq = self._last_seq, self._last_sseq
        acked_seq, acked_sseq = self._acked
        new = (seq - acked_seq) + (sseq - acked_sseq)
        if new <= 0:
            return
        if not force and new < self.window // 4 and now - self._last_ack_t < ACK_INTERVAL_S:
            return
        if self._ack_gate is not None and seq > acked_seq:
            self._ack_gate(seq)
        self._acked = (seq, sseq)
        self._last_ack_t = now
        self._send(wire.Ack(seq, sseq, self.window), now)

    def _housekeeping(self, now: float) -> None:
        if now - self._last_hb_t >= self.heartbeat_s:
            self._last_hb_t = now
            self._send(wire.Heartbeat(now, self._flight_hb_t, 0), now)
        timeout = los_timeout_s(self.heartbeat_s, self.los_missed, self.light_time_s + self._flight_light_s)
        state = self._s["state"]
        if state == "acquired" and now - self._last_heard > timeout:
            _LOGGER.warning("link: loss of signal (nothing from flight for %.1f s)", timeout)
            self._welcomed = False
            self._set_state("los")
        if state != "acquired" and self._hello_t is not None and now - self._hello_t >= self.heartbeat_s:
            self._hello(now, want_dictionary=self.dictionary is None)
        if now - self._last_report_t >= LINK_REPORT_S:
            self._report_link(now)

    def _set_state(self, state: str) -> None:
        self._s["state"] = state
        self._report_link(self.clock.monotonic())

    def _report_link(self, now: float) -> None:
        self._last_report_t = now
        for cb in self._cb_link:
            self._call(cb, self.status)

    # -------------------------------------------------------------------------------------- thread
    def run_in_thread(self) -> None:
        """Service the socket on a background thread until :meth:`stop` (callbacks run there)."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"link-{self.identity}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll(min(0.05, self.heartbeat_s / 4))
            except Exception:  # the servicing thread must survive a bad callback or message
                _LOGGER.exception("link client service failed")

    def stop(self) -> None:
        """Stop the background thread (if any)."""
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        os.write(self._wake_w, b"!")
        thread.join(timeout=5.0)
        self._thread = None

    def close(self) -> None:
        """Acknowledge what was delivered, stop, close the socket (and the context if it is this client's own)."""
        if self._closed:
            return
        self.stop()
        with contextlib.suppress(Exception):
            self._ack_if_due(self.clock.monotonic(), force=True)
            for payload in self._outbound.due(float("inf")):
                self._send_now(payload)
        self._closed = True
        self.socket.close(linger=100)
        os.close(self._wake_r)
        os.close(self._wake_w)
        if self._own_context:
            self.context.term()

    def __enter__(self) -> LinkClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
