"""Ground's delivery state machine and outbox without sockets: in-order, exactly-once delivery, gaps answered
by one backfill hello, resuming after a welcome, acknowledgements behind the ack gate, and the command
re-send rule (``docs/link.md``, Sequences / Security)."""

from __future__ import annotations

from typing import Any

import pytest

from base.clock import VirtualClock
from ground.link_delivery import ACK_INTERVAL_S, Delivery
from ground.link_listeners import Listeners
from ground.link_outbox import MAX_RESENDS, Outbox
from link import wire


class Wire:
    """What the state machine sends, and what it delivers to the listeners."""

    def __init__(self) -> None:
        self.sent: list[wire.Message] = []
        self.packets: list[int] = []
        self.statuses: list[str] = []
        self.answered: list[str] = []
        self.listeners = Listeners()
        self.listeners.telemetry.add(lambda seq, _samples: self.packets.append(seq))
        self.listeners.event.add(lambda seq, _event: self.packets.append(seq))
        self.listeners.status.add(lambda status: self.statuses.append(status["id"]))

    def send(self, message: wire.Message, _now: float) -> None:
        self.sent.append(message)

    def of(self, kind: type) -> list[Any]:
        return [m for m in self.sent if isinstance(m, kind)]


def make(window: int = 400, resume_after: int = 0) -> tuple[VirtualClock, Wire, Delivery]:
    clock = VirtualClock()
    link = Wire()
    delivery = Delivery(
        clock, link.listeners, link.send, window=window, archive=True, resume_after=resume_after,
        answered=link.answered.append,
    )  # fmt: skip
    return clock, link, delivery


def telemetry(seq: int) -> wire.TelemetryPacket:
    return wire.TelemetryPacket(seq, 0.0, [("ch", 0.0, seq)])


def status(sseq: int, command_id: str) -> wire.StatusPacket:
    return wire.StatusPacket(sseq, {"id": command_id, "stage": "accepted"})


def welcome(resume_seq: int, resume_sseq: int = 0, last_counter: int = 0, boot: str = "b") -> wire.Welcome:
    return wire.Welcome(wire.PROTOCOL_VERSION, "operator", "operator", last_counter, "f", boot, 0.0, 1.0,
                        resume_seq, resume_sseq)  # fmt: skip


def test_packets_are_delivered_once_and_in_order() -> None:
    _clock, link, delivery = make()
    for seq in (1, 2, 2, 1, 3):
        delivery.packet(telemetry(seq))
    delivery.packet(wire.EventPacket(4, {"name": "e"}))
    assert link.packets == [1, 2, 3, 4]
    assert delivery.last_seq == 4 and delivery.duplicates == 2 and delivery.gaps == 0


def test_a_gap_asks_once_for_a_backfill_from_the_last_packet_held() -> None:
    _clock, link, delivery = make()
    delivery.packet(telemetry(1))
    delivery.packet(telemetry(3))  # 2 was lost
    delivery.packet(telemetry(4))  # still missing 2: no second hello while backfilling
    assert link.packets == [1]
    assert delivery.gaps == 1 and delivery.backfilling
    [hello] = link.of(wire.Hello)
    assert (hello.resume_after, hello.status_after, hello.want_dictionary) == (1, 0, False)
    delivery.welcome(welcome(1))
    assert not delivery.backfilling
    for seq in (2, 3, 4):
        delivery.packet(telemetry(seq))
    assert link.packets == [1, 2, 3, 4]


def test_a_status_gap_backfills_and_a_delivered_status_answers_its_command() -> None:
    _clock, link, delivery = make()
    delivery.status(status(1, "a"))
    delivery.status(status(3, "c"))
    delivery.status(status(1, "a"))
    assert link.statuses == ["a"] and link.answered == ["a"]
    assert delivery.gaps == 1 and delivery.duplicates == 1
    assert link.of(wire.Hello)[0].status_after == 1


def test_hello_required_says_hello_unless_already_waiting_for_a_welcome() -> None:
    _clock, link, delivery = make()
    delivery.hello_required(0.0, want_dictionary=True)
    delivery.hello_required(0.0, want_dictionary=True)
    assert len(link.of(wire.Hello)) == 1 and delivery.hello_t == 0.0


def test_a_welcome_past_what_ground_holds_counts_the_packets_flight_no_longer_had() -> None:
    _clock, _link, delivery = make(resume_after=10)
    delivery.welcome(welcome(15, resume_sseq=4))
    assert (delivery.last_seq, delivery.last_sseq, delivery.lost) == (15, 4, 5)
    assert delivery.acked == (15, 4)


def test_a_welcome_below_what_ground_holds_follows_flight_s_replaced_spool() -> None:
    _clock, link, delivery = make(resume_after=10)
    delivery.welcome(welcome(0))
    assert (delivery.last_seq, delivery.lost, delivery.acked) == (0, 0, (0, 0))
    delivery.packet(telemetry(1))
    assert link.packets == [1]


def test_a_late_welcome_to_an_earlier_hello_renumbers_nothing() -> None:
    _clock, link, delivery = make()
    delivery.hello(0.0, want_dictionary=True)
    delivery.hello(1.0, want_dictionary=True)  # flight slow to start: a second hello from 0
    delivery.welcome(welcome(0, boot="boot-1"))
    for seq in (1, 2, 3):
        delivery.packet(telemetry(seq))
    delivery.welcome(welcome(0, boot="boot-1"))  # the answer to the second hello
    assert (delivery.last_seq, delivery.lost) == (3, 0)
    assert link.of(wire.Hello)[-1].resume_after == 3  # asked again from what ground holds
    delivery.packet(telemetry(1))
    assert link.packets == [1, 2, 3] and delivery.duplicates == 1
    delivery.welcome(welcome(0, boot="boot-2"))  # a new boot with a new spool: followed
    assert delivery.last_seq == 0


def test_acks_wait_for_a_quarter_window_or_the_interval() -> None:
    clock, link, delivery = make(window=8)
    delivery.ack_if_due(clock.monotonic(), force=False)  # nothing delivered: nothing to acknowledge
    delivery.packet(telemetry(1))  # the first ack is due at once (no ack yet within the interval)
    assert [(a.seq, a.window) for a in link.of(wire.Ack)] == [(1, 8)]
    delivery.packet(telemetry(2))
    assert len(link.of(wire.Ack)) == 1  # 1 new < 8 // 4, within the interval
    delivery.packet(telemetry(3))
    assert [a.seq for a in link.of(wire.Ack)] == [1, 3]  # a quarter window
    delivery.packet(telemetry(4))
    clock.advance(ACK_INTERVAL_S)
    delivery.ack_if_due(clock.monotonic(), force=False)
    assert [a.seq for a in link.of(wire.Ack)] == [1, 3, 4]


def test_the_ack_gate_runs_first_and_a_failing_gate_acknowledges_nothing() -> None:
    clock, link, delivery = make(window=4000)
    gated: list[int] = []
    delivery.packet(telemetry(1))

    def refuse(seq: int) -> None:
        gated.append(seq)
        raise RuntimeError("archive commit failed")

    delivery.ack_gate = refuse
    delivery.packet(telemetry(2))
    with pytest.raises(RuntimeError):
        delivery.ack_if_due(clock.monotonic(), force=True)
    assert gated == [2] and delivery.acked == (1, 0)
    delivery.ack_gate = gated.append
    delivery.ack_if_due(clock.monotonic(), force=True)
    assert gated == [2, 2] and link.of(wire.Ack)[-1].seq == 2


def test_commands_are_numbered_above_the_counter_flight_last_accepted() -> None:
    link = Wire()
    outbox = Outbox("operator", link.send)
    first = outbox.queue("test.count", {"n": 1})
    outbox.counter_at_least(41)
    outbox.queue("test.count", {"n": 2}, command_id="mine")
    assert outbox.has_queued
    outbox.flush(0.0)
    assert [(c.id, c.counter) for c in link.of(wire.Command)] == [(first, 42), ("mine", 43)]
    assert first.startswith("operator-") and outbox.name_of("mine") == "test.count"


def test_a_replayed_command_is_re_sent_above_the_reject_s_counter_a_bounded_number_of_times() -> None:
    link = Wire()
    outbox = Outbox("operator", link.send)
    outbox.queue("test.count", {"n": 1}, command_id="c1")
    outbox.flush(0.0)
    reject = wire.Reject("replay", "stale", "c1", 100)
    assert all(outbox.resend_above(reject, 0.0) for _ in range(MAX_RESENDS))
    assert not outbox.resend_above(reject, 0.0)
    assert [c.counter for c in link.of(wire.Command)] == [1, 101, 102, 103]
    outbox.answered("c1")
    assert not outbox.resend_above(wire.Reject("replay", "stale", "c1", 0), 0.0)
    assert not outbox.resend_above(wire.Reject("replay", "stale", "unknown", 0), 0.0)
