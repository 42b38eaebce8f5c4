"""Ground's end of the flight link: a DEALER socket, CURVE client, that receives every packet exactly once.

:class:`LinkClient` says hello (where its archive stops, its window), receives the dictionary, telemetry,
events and command statuses, and hands them to its parts: :mod:`ground.link_delivery` (each packet delivered
once and in seq order, gaps backfilled, cumulative acknowledgements after the optional ack gate, e.g. an
archive commit), :mod:`ground.link_outbox` (commands and their counters, the re-send rule) and
:mod:`ground.link_socket` (the socket). Heartbeats every ``heartbeat_s`` measure the round trip;
``los_missed`` missed ones plus the round-trip light time make a loss of signal, after which it keeps saying
hello until flight answers.

Callbacks run on the thread that services the socket (:meth:`LinkClient.poll` or :meth:`run_in_thread`).
Times are clock seconds; ``rtt_s`` is in seconds of the client's clock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq

from base.clock import Clock
from ground.failure_log import RepeatedFailureLog
from ground.link_delivery import Delivery
from ground.link_listeners import Listeners, Samples
from ground.link_outbox import Outbox
from ground.link_socket import open_dealer
from link import wire
from link.errors import MalformedMessage
from link.lighttime import DelayLine, los_timeout_s
from link.schema import Stage

_LOGGER = logging.getLogger(__name__)

__all__ = ["LinkClient", "LinkStatus"]

#: Packets + statuses flight may have unacknowledged towards this client (the credit granted).
DEFAULT_WINDOW = 4_000
#: Messages received per poll at most (callbacks included), so a UI thread gets a turn.
MAX_MESSAGES_PER_POLL = 5_000
#: Clock seconds of receiving per poll at most (then heartbeats and acks get their turn).
POLL_BUDGET_S = 0.1
#: Seconds between link-status callbacks while nothing changes.
LINK_REPORT_S = 1.0
#: Wall milliseconds the socket may take on close to send what is queued (the last acknowledgement).
CLOSE_LINGER_MS = 100


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
        self.socket = open_dealer(context, endpoint, keys_dir, identity, insecure=insecure)
        self._inbound: DelayLine[bytes] = DelayLine(light_time_s)
        self._outbound: DelayLine[bytes] = DelayLine(light_time_s)
        self._listeners = Listeners()
        self._outbox = Outbox(identity, self._send)
        self._delivery = Delivery(
            clock,
            self._listeners,
            self._send,
            window=window,
            archive=archive,
            resume_after=resume_after,
            answered=self._outbox.answered,
        )
        # What flight said and the round trip; the delivery counters are added by `status`.
        self._link = LinkStatus(light_time_s=light_time_s)
        self._messages_in = 0
        self._malformed = 0
        self.dictionary: dict[str, Any] | None = None
        self._flight_light_s = 0.0
        self._welcomed = False
        self._last_heard = clock.monotonic()
        self._last_hb_t = -1e18
        self._flight_hb_t = 0.0
        self._last_report_t = -1e18
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._closed = False

    @property
    def status(self) -> LinkStatus:
        """The link as of now (a snapshot; ``last_seq``/``last_sseq`` are the last delivered)."""
        delivery = self._delivery
        return dataclasses.replace(
            self._link,
            last_seq=delivery.last_seq,
            last_sseq=delivery.last_sseq,
            gaps=delivery.gaps,
            lost=delivery.lost,
            duplicates=delivery.duplicates,
            messages_in=self._messages_in,
            malformed=self._malformed,
        )

    # ----------------------------------------------------------------------------------- callbacks
    def on_dictionary(self, cb: Callable[[dict[str, Any]], None]) -> None:
        """Call ``cb(dictionary)`` when flight's dictionary arrives."""
        self._listeners.dictionary.add(cb)

    def on_telemetry(self, cb: Callable[[int, Samples], None]) -> None:
        """Call ``cb(seq, samples)`` for every telemetry packet, once, in seq order."""
        self._listeners.telemetry.add(cb)

    def on_event(self, cb: Callable[[int, dict[str, Any]], object]) -> None:
        """Call ``cb(seq, event)`` for every event packet, once, in seq order."""
        # What ``cb`` returns is ignored (an archive's ingest_event reports whether it stored the event).
        self._listeners.event.add(cb)

    def on_command_status(self, cb: Callable[[dict[str, Any]], None]) -> None:
        """Call ``cb(status)`` for every command verification report (and link-level refusals)."""
        self._listeners.status.add(cb)

    def on_link(self, cb: Callable[[LinkStatus], None]) -> None:
        """Call ``cb(status)`` on every link state change and about once a second."""
        self._listeners.link.add(cb)

    def set_ack_gate(self, fn: Callable[[int], None]) -> None:
        """Call ``fn(seq)`` before acknowledging packets up to ``seq`` (e.g. commit the archive)."""
        self._delivery.ack_gate = fn

    # ------------------------------------------------------------------------------------ commands
    def send_command(self, name: str, args: dict[str, Any] | None = None, *, command_id: str | None = None) -> str:
        """Queue command ``name`` for flight (sent once flight has welcomed this client); returns its id.
        Raises a :class:`~link.errors.LinkError` if the link's thread cannot be woken to send it."""
        command_id = self._outbox.queue(name, args, command_id=command_id)
        if self._thread is not None and threading.current_thread() is not self._thread:
            self.socket.wake()
        elif self._welcomed:
            self._outbox.flush(self.clock.monotonic())
        return command_id

    def acknowledge(self) -> None:
        """Acknowledge everything delivered now (the ack gate first)."""
        self._delivery.ack_if_due(self.clock.monotonic(), force=True)

    # ---------------------------------------------------------------------------------------- poll
    def poll(self, timeout_s: float = 0.0) -> int:
        """Service the socket once: wait up to ``timeout_s`` clock seconds for traffic, handle what arrived,
        send heartbeats, acknowledgements and queued commands. Returns the messages handled."""
        now = self.clock.monotonic()
        if self._delivery.hello_t is None:
            self._delivery.hello(now, want_dictionary=True)
        self._housekeeping(now, judge_signal=False)  # judged after the drain: see _housekeeping
        wake = True  # read the wake-up pipe (unless a wait said it is empty)
        if timeout_s > 0 and not (self._welcomed and self._outbox.has_queued):
            # Wait first: the poll returns at once if anything is queued, so no receive attempt is wasted.
            wait = timeout_s
            due = self._inbound.next_due()
            if due is not None:
                wait = min(wait, max(0.0, due - now))
            if wait > 0:
                wake = self.socket.wait(self.clock.wall_timeout(wait) * 1000.0)
                now = self.clock.monotonic()
        handled = self._drain(now, wake=wake)
        now = self.clock.monotonic()
        self._delivery.ack_if_due(now, force=False)
        # A poll that took messages off the socket has just heard from flight, however long handling them took.
        self._housekeeping(now, judge_signal=not handled)
        return handled

    def _drain(self, now: float, *, wake: bool = True) -> int:
        if wake:
            self.socket.clear_wake()
        socket = self.socket
        count = 0
        delay = self.light_time_s > 0
        budget_end = now + POLL_BUDGET_S
        while count < MAX_MESSAGES_PER_POLL:
            if count and self.clock.monotonic() > budget_end:
                break  # heartbeats and acks get their turn even under a flood of large packets
            frames = socket.receive()
            if frames is None:
                break
            count += 1
            for frame in frames:
                if delay:
                    self._inbound.push(frame, now)
                else:
                    # Heard when taken off the socket, not when the poll began: handling a burst of large
                    # packets may take longer than the loss-of-signal time-out on a busy machine.
                    self._receive_batch(frame, self.clock.monotonic())
        for payload in self._inbound.due(now):
            self._receive_batch(payload, now)
        if self._welcomed and self._outbox.has_queued:
            self._outbox.flush(now)
        for payload in self._outbound.due(now):
            self._send_now(payload)
        return count

    def _receive_batch(self, frame: bytes, now: float) -> None:
        """Handle a frame from flight: one or more messages back to back (flight batches each pass)."""
        try:
            messages = wire.decode_batch(frame)
        except MalformedMessage as exc:
            self._malformed_message(str(exc))
            return
        for message in messages:
            self._receive(message, now)

    def _receive(self, message: wire.Message, now: float) -> None:
        self._messages_in += 1
        self._last_heard = now
        if isinstance(message, (wire.TelemetryPacket, wire.EventPacket)):
            self._delivery.packet(message)
        elif isinstance(message, wire.StatusPacket):
            self._delivery.status(message)
        elif isinstance(message, wire.Heartbeat):
            rtt_s = now - message.echo if message.echo > 0 else self._link.rtt_s
            self._flight_hb_t = message.t
            self._link = dataclasses.replace(self._link, rtt_s=rtt_s, spool_depth=message.spool_depth)
        elif isinstance(message, wire.Welcome):
            self._welcome(message, now)
        elif isinstance(message, wire.DictionaryMessage):
            self.dictionary = message.dictionary
            self._listeners.dictionary(message.dictionary)
        elif isinstance(message, wire.Reject):
            self._reject(message, now)
        else:
            self._malformed_message(f"{type(message).__name__} is not a message flight sends")
            return
        if self._welcomed and self._link.state != "acquired":
            self._set_state("acquired")

    def _welcome(self, message: wire.Welcome, now: float) -> None:
        self._delivery.welcome(message)
        self._outbox.counter_at_least(message.last_counter)
        self._flight_light_s = message.light_time_s
        self._welcomed = True
        self._link = dataclasses.replace(
            self._link,
            role=message.role,
            client=message.client,
            flight=message.flight,
            boot_id=message.boot_id,
            light_time_s=self.light_time_s + message.light_time_s,
        )
        if self._outbox.has_queued:
            self._outbox.flush(now)

    def _reject(self, message: wire.Reject, now: float) -> None:
        if message.reason == "hello_required":
            self._delivery.hello_required(now, want_dictionary=self.dictionary is None)
            return
        if message.reason == "replay" and self._outbox.resend_above(message, now):
            return
        _LOGGER.warning(
            "link: flight refused %s: %s (%s)", message.command_id or "a message", message.reason, message.message
        )
        if message.command_id:
            status = {
                "id": message.command_id,
                "name": self._outbox.name_of(message.command_id),
                "stage": Stage.FAILED.value,
                "source": self.identity,
                "t": self.clock.now(),
                "reason": message.reason,
                "message": message.message,
                "progress": None,
            }
            self._listeners.status(status)

    def _malformed_message(self, detail: str) -> None:
        _LOGGER.warning("link: malformed message from flight dropped: %s", detail)
        self._malformed += 1

    # ---------------------------------------------------------------------------------------- send
    def _send(self, message: wire.Message, now: float) -> None:
        frame = wire.encode(message)[0]
        if self.light_time_s > 0:
            self._outbound.push(frame, now)
        else:
            self._send_now(frame)

    def _send_now(self, frame: bytes) -> None:
        if not self.socket.send(frame):
            _LOGGER.warning("link: send queue full; message dropped (flow control will resend packets)")

    def _housekeeping(self, now: float, *, judge_signal: bool = True) -> None:
        """Heartbeats, hellos while not acquired, link reports; and, with ``judge_signal``, loss of signal.

        Loss of signal is judged only after the socket has been drained, and only when the drain found
        nothing: a ground process that was not scheduled for longer than the time-out (a busy machine), or
        that took that long to archive a burst of packets, finds flight's packets waiting, and that is not a
        loss of signal.
        """
        if now - self._last_hb_t >= self.heartbeat_s:
            self._last_hb_t = now
            self._send(wire.Heartbeat(now, self._flight_hb_t, 0), now)
        timeout = los_timeout_s(self.heartbeat_s, self.los_missed, self.light_time_s + self._flight_light_s)
        state = self._link.state
        if judge_signal and state == "acquired" and now - self._last_heard > timeout:
            _LOGGER.warning("link: loss of signal (nothing from flight for %.1f s)", timeout)
            self._welcomed = False
            self._set_state("los")
        hello_t = self._delivery.hello_t
        # A hello is answered a round trip of light later: one hello per heartbeat plus that round trip (flight's
        # light time is known from its last welcome; before the first, hellos may cross on their way).
        retry_s = self.heartbeat_s + 2.0 * (self.light_time_s + self._flight_light_s)
        if state != "acquired" and hello_t is not None and now - hello_t >= retry_s:
            self._delivery.hello(now, want_dictionary=self.dictionary is None)
        if now - self._last_report_t >= LINK_REPORT_S:
            self._report_link(now)

    def _set_state(self, state: str) -> None:
        self._link = dataclasses.replace(self._link, state=state)
        self._report_link(self.clock.monotonic())

    def _report_link(self, now: float) -> None:
        self._last_report_t = now
        self._listeners.link(self.status)

    # -------------------------------------------------------------------------------------- thread
    def run_in_thread(self) -> None:
        """Service the socket on a background thread until :meth:`stop` (callbacks run there)."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"link-{self.identity}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failures = RepeatedFailureLog(_LOGGER, "link client service", self.clock)
        while not self._stopping.is_set():
            try:
                self.poll(min(0.05, self.heartbeat_s / 4))
            except Exception as exc:  # the servicing thread must survive a bad callback or message
                failures.failed(exc)
            else:
                failures.worked()

    def stop(self) -> None:
        """Stop the background thread (if any)."""
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        self.socket.wake()
        thread.join(timeout=5.0)
        self._thread = None

    def close(self) -> None:
        """Acknowledge what was delivered, stop, close the socket (and the context if it is this client's own)."""
        if self._closed:
            return
        self.stop()
        with contextlib.suppress(Exception):
            self._delivery.ack_if_due(self.clock.monotonic(), force=True)
            for payload in self._outbound.due(float("inf")):
                self._send_now(payload)
        self._closed = True
        self.socket.close(CLOSE_LINGER_MS)

    def __enter__(self) -> LinkClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
