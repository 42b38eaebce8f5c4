"""The ICD conformance suite: the same checks against any device that speaks ``docs/icd.md`` — every
emulator, and real firmware on a rig (``isru conformance PORT``).

It identifies the device, then checks, over the wire only: IDENTIFY and the definition hash; the NACK
precedence of every command (length, unknown id, range, fault gate); the fault gate and the common
commands while a fault is latched; that ``stop`` reports MODE_CHANGE(0); the dead-man's timing (never
early, at most :data:`DEADMAN_LATE_S` late); event numbering and the resend of an unacknowledged
COMMAND_COMPLETE; and the retry cache (same seq and payload answered from the cache and not acted on
twice, same seq with another payload answered afresh). Every check reports what it expected and found.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hal.conformance_link import RawLink, Received
from hal.icd import (
    ACK_LAYOUT,
    DEVICE_BY_ADDRESS,
    EVENT_LAYOUT,
    HEARTBEAT_REPLY_LAYOUT,
    HEARTBEAT_REQUEST_LAYOUT,
    IDENTIFY_LAYOUT,
    NACK_LAYOUT,
    Command,
    Completion,
    DeviceSpec,
    EventId,
    Field,
)
from hal.protocol import PROTOCOL_VERSION, Flags, Frame, MsgType, NackCode, nack_code_name

#: The dead-man timeout the suite sets, s, and how late a trip may be reported (a control period and the
#: line), s.
DEADMAN_TEST_S = 0.2
DEADMAN_LATE_S = 0.06
#: The event resend period the suite sets, s.
RESEND_TEST_S = 0.1
_BROADCAST = 0xFF
_RETRY = int(Flags.RETRY)


class ConformanceError(Exception):
    """A check could not go on (no answer where one is required)."""


@dataclass
class CheckResult:
    """One check: its name, whether it passed, and what was expected and found."""

    name: str
    passed: bool
    detail: str = ""


@dataclass
class Report:
    """Every check run against one device."""

    device: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True if every check passed."""
        return all(r.passed for r in self.results)

    def failures(self) -> list[CheckResult]:
        """The checks that failed."""
        return [r for r in self.results if not r.passed]

    def text(self) -> str:
        """One line per check, then a summary."""
        lines = [
            f"{'PASS' if r.passed else 'FAIL'} {r.name}{': ' + r.detail if r.detail else ''}" for r in self.results
        ]
        lines.append(f"{self.device}: {len(self.results) - len(self.failures())}/{len(self.results)} checks passed")
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------ helpers
def valid_args(command: Command) -> dict[str, float]:
    """In-range, non-zero argument values for ``command`` (middle of each range)."""
    values: dict[str, float] = {}
    for arg in command.args:
        lo = 0.0 if arg.lo is None else float(arg.lo)
        hi = lo + 1.0 if arg.hi is None else float(arg.hi)
        if arg.fmt == "f":
            mid = (lo + hi) / 2
            values[arg.name] = mid if mid else hi / 2
        else:
            values[arg.name] = int(hi)
    return values


def out_of_range(arg: Field) -> float | None:
    """A value the firmware must refuse for ``arg`` (None when every value of its type is in range)."""
    limits = {"B": 255, "H": 65535, "I": 2**32 - 1}
    if arg.fmt == "f":
        return math.nan if arg.hi is None else float(arg.hi) + abs(float(arg.hi)) * 0.5 + 1.0
    if arg.hi is not None and arg.hi < limits.get(arg.fmt, 0):
        return int(arg.hi) + 1
    return None


class Suite:
    """The checks against the device on ``link`` (whose type is learned from IDENTIFY)."""

    def __init__(self, link: RawLink) -> None:
        self.link = link
        self.spec: DeviceSpec | None = None
        self.report = Report("unknown device")

    # ------------------------------------------------------------------------------ primitives
    def check(self, name: str, passed: bool, detail: str = "") -> bool:
        """Record one check."""
        self.report.results.append(CheckResult(name, bool(passed), detail))
        return bool(passed)

    @property
    def device(self) -> DeviceSpec:
        """The device type under test."""
        if self.spec is None:
            raise ConformanceError("the device has not identified itself")
        return self.spec

    def command(self, payload: bytes, **kwargs: Any) -> Frame:
        """Send a COMMAND payload; its ACK or NACK (ConformanceError when nothing answers)."""
        reply = self.link.request(MsgType.COMMAND, payload, **kwargs)
        if reply is None:
            raise ConformanceError(f"no answer to COMMAND {payload.hex(' ')}")
        return reply

    def act(self, name: str, **args: float) -> Frame:
        """Send command ``name`` with ``args``."""
        command = self.device.command(name)
        return self.command(command.pack(args))

    def heartbeat(self) -> dict[str, Any]:
        """Exchange a HEARTBEAT; its reply fields."""
        reply = self.link.request(MsgType.HEARTBEAT, HEARTBEAT_REQUEST_LAYOUT.pack(1234))
        if reply is None or reply.msg_type != MsgType.HEARTBEAT:
            raise ConformanceError(f"no HEARTBEAT reply (got {reply})")
        return HEARTBEAT_REPLY_LAYOUT.unpack(reply.payload)

    def wait_events(self, done: Callable[[list[Received]], bool], timeout_s: float) -> list[Received]:
        """Collect events (sending a HEARTBEAT every 0.2 s so the dead-man stays fed) until ``done`` or
        ``timeout_s``; returns them all."""
        events: list[Received] = []
        clock = self.link.clock
        deadline = clock.monotonic() + timeout_s
        while clock.monotonic() < deadline:
            self.link.listen(min(0.2, max(deadline - clock.monotonic(), 0.0)))
            events += self.link.take_events()
            if done(events):
                break
            self.heartbeat()
            events += self.link.take_events()
        return events

    def expect_nack(self, name: str, reply: Frame, code: NackCode, command_id: int, detail: int = 0) -> bool:
        """Check that ``reply`` is NACK ``code`` for ``command_id`` with ``detail``."""
        if reply.msg_type != MsgType.NACK:
            return self.check(name, False, f"expected NACK {code.name}, got message type 0x{reply.msg_type:02x}")
        got = NACK_LAYOUT.unpack(reply.payload)
        found = (got["command"], got["code"], got["detail"])
        return self.check(
            name,
            found == (command_id, int(code), detail),
            f"expected (command 0x{command_id:02x}, {code.name}, detail {detail}), found "
            f"(0x{found[0]:02x}, {nack_code_name(found[1])}, {found[2]})",
        )

    def reset(self) -> None:
        """Back to a quiet, idle device: stop, clear faults, no streaming, default dead-man, acks sent."""
        self.act("stop")
        self.act("set_telemetry_period", period_ms=0)
        self.act("set_deadman", timeout_ms=1000)
        self.act("clear_fault")
        self.act("set_event_resend", period_ms=0)
        self.link.listen(0.05)
        for event in self.link.take_events():
            self.act("ack_event", event_seq=event.frame.seq)

    # ---------------------------------------------------------------------------------- checks
    def check_identify(self) -> None:
        """IDENTIFY (broadcast): size, device type, protocol version and definition hash."""
        reply = self.link.request(MsgType.IDENTIFY, b"", address=_BROADCAST)
        if reply is None or reply.msg_type != MsgType.IDENTIFY:
            raise ConformanceError(f"no IDENTIFY reply (got {reply})")
        if not self.check(
            "identify size",
            len(reply.payload) == IDENTIFY_LAYOUT.size,
            f"expected {IDENTIFY_LAYOUT.size} bytes, found {len(reply.payload)}",
        ):
            raise ConformanceError("the IDENTIFY reply has the wrong size; nothing else can be checked")
        values = IDENTIFY_LAYOUT.unpack(reply.payload)
        self.spec = DEVICE_BY_ADDRESS.get(values["device_type"])
        if self.spec is None:
            raise ConformanceError(f"device type 0x{values['device_type']:02x} is not in the definition")
        self.report.device = self.spec.name
        self.link.address = self.spec.address
        self.check("identify address", reply.address == self.spec.address, f"answered from 0x{reply.address:02x}")
        self.check(
            "identify protocol version",
            values["protocol_version"] == PROTOCOL_VERSION,
            f"expected {PROTOCOL_VERSION}, found {values['protocol_version']}",
        )
        self.check(
            "identify definition hash",
            values["icd_hash"] == self.spec.icd_hash,
            f"expected 0x{self.spec.icd_hash:08X} ({self.spec.name} in hal/icd.toml), found 0x{values['icd_hash']:08X}",
        )

    def check_nack_precedence(self) -> None:
        """Empty payload, unknown id, wrong length and out-of-range arguments, each before the next."""
        spec = self.device
        self.expect_nack("empty COMMAND → BAD_LENGTH", self.command(b""), NackCode.BAD_LENGTH, 0)
        unknown = next(i for i in range(0x0A, 0x100) if spec.command_by_id(i) is None)
        self.expect_nack(
            "unknown id (even with a wrong length) → UNKNOWN_COMMAND",
            self.command(bytes((unknown, 1, 2, 3))),
            NackCode.UNKNOWN_COMMAND,
            unknown,
        )
        for command in spec.all_commands:
            values = valid_args(command)
            good = command.pack(values)
            long = good + b"\x00"
            self.expect_nack(
                f"{command.name}: one byte too many → BAD_LENGTH", self.command(long), NackCode.BAD_LENGTH, command.id
            )
            if command.args:
                self.expect_nack(
                    f"{command.name}: one byte short → BAD_LENGTH",
                    self.command(good[:-1]),
                    NackCode.BAD_LENGTH,
                    command.id,
                )
            for index, arg in enumerate(command.args, start=1):
                bad = out_of_range(arg)
                if bad is None:
                    continue
                payload = command.pack({**values, arg.name: bad})
                self.expect_nack(
                    f"{command.name}: {arg.name}={bad} → OUT_OF_RANGE detail {index}",
                    self.command(payload),
                    NackCode.OUT_OF_RANGE,
                    command.id,
                    index,
                )
                self.expect_nack(
                    f"{command.name}: out of range and too long → BAD_LENGTH first",
                    self.command(payload + b"\x00"),
                    NackCode.BAD_LENGTH,
                    command.id,
                )

    def check_other_messages(self) -> None:
        """HEARTBEAT echo and length, BAD_TYPE for a host ACK."""
        reply = self.link.request(MsgType.HEARTBEAT, HEARTBEAT_REQUEST_LAYOUT.pack(0xDEADBEEF))
        echoed = reply is not None and HEARTBEAT_REPLY_LAYOUT.unpack(reply.payload)["host_ms"] == 0xDEADBEEF
        self.check("HEARTBEAT echoes host_ms", echoed, f"reply {reply}")
        short = self.link.request(MsgType.HEARTBEAT, b"\x01\x02")
        if short is None:
            self.check("short HEARTBEAT → NACK BAD_LENGTH", False, "no answer")
        else:
            self.expect_nack("short HEARTBEAT → NACK BAD_LENGTH", short, NackCode.BAD_LENGTH, 0)
        bad_type = self.link.request(MsgType.ACK, ACK_LAYOUT.pack(3, 0))
        if bad_type is None:
            self.check("host ACK → NACK BAD_TYPE", False, "no answer")
        else:
            self.expect_nack("host ACK → NACK BAD_TYPE", bad_type, NackCode.BAD_TYPE, 0)

    def check_stop_mode_change(self) -> None:
        """``stop`` while the deadman probe runs returns to mode 0 with MODE_CHANGE(0)."""
        probe = self.device.conformance.get("deadman_probe")
        if not probe:
            self.check("stop → MODE_CHANGE(0)", True, "not applicable: the device has no actuator probe")
            return
        self.act(probe["command"], **probe["args"])
        mode = self.heartbeat()["mode"]
        self.link.take_events()
        self.act("stop")
        self.link.listen(0.05)
        changes = [EVENT_LAYOUT.unpack(e.frame.payload) for e in self.link.take_events()]
        changes = [c for c in changes if c["event"] == EventId.MODE_CHANGE]
        after = self.heartbeat()["mode"]
        if mode == 0:
            self.check("stop → mode 0", after == 0, f"mode {after} after stop")
            return
        self.check(
            "stop → MODE_CHANGE(0)",
            after == 0 and any(c["code"] == 0 for c in changes),
            f"mode {mode} before, {after} after; MODE_CHANGE events {[c['code'] for c in changes]}",
        )

    def check_preconditions(self) -> None:
        """The device's precondition probes (``hal/icd.toml``): each is refused with its NACK."""
        spec = self.device
        for probe in spec.conformance.get("precondition_probes", ()):
            command = spec.command(probe["command"])
            self.expect_nack(
                f"{command.name} when {probe['when']} → {probe['nack']}",
                self.command(command.pack(probe["args"])),
                NackCode[probe["nack"]],
                command.id,
            )

    def check_deadman_and_fault_gate(self) -> None:
        """Trip the dead-man with the actuator probe; check its timing, the latched ``deadman`` fault, the
        fault gate of every command (range still before it) and the common commands; then clear it."""
        spec, link = self.device, self.link
        probe = spec.conformance.get("deadman_probe")
        if not probe or "deadman" not in spec.faults:
            self.check("dead-man", True, "not applicable: the device has no actuator or no deadman fault")
            return
        self.act("set_deadman", timeout_ms=round(DEADMAN_TEST_S * 1000))
        reply = self.act(probe["command"], **probe["args"])
        if reply.msg_type != MsgType.ACK:
            raise ConformanceError(f"the dead-man probe {probe} was refused: {NACK_LAYOUT.unpack(reply.payload)}")
        last_tx = link.last_tx
        link.listen(DEADMAN_TEST_S * 3)
        events = link.take_events()
        stops = [e for e in events if EVENT_LAYOUT.unpack(e.frame.payload)["event"] == EventId.DEADMAN_STOP]
        if not self.check("dead-man trips once", len(stops) == 1, f"{len(stops)} DEADMAN_STOP events"):
            return
        reported_ms = EVENT_LAYOUT.unpack(stops[0].frame.payload)["value"]
        elapsed = stops[0].t - last_tx
        self.check(
            "dead-man is never early",
            reported_ms >= DEADMAN_TEST_S * 1000 - 1e-3 and elapsed >= DEADMAN_TEST_S - 1e-3,
            f"timeout {DEADMAN_TEST_S * 1000:.0f} ms; device reports {reported_ms:.1f} ms, "
            f"host saw {elapsed * 1000:.1f} ms",
        )
        self.check(
            "dead-man is at most a control period late",
            reported_ms <= (DEADMAN_TEST_S + DEADMAN_LATE_S) * 1000,
            f"device reports {reported_ms:.1f} ms for a {DEADMAN_TEST_S * 1000:.0f} ms timeout",
        )
        status = self.heartbeat()
        deadman_bit = spec.fault_bit("deadman")
        self.check(
            "dead-man latches its fault", bool(status["faults"] & deadman_bit), f"faults 0x{status['faults']:04x}"
        )
        for command in iter_commands(spec):
            values = valid_args(command)
            self.expect_nack(
                f"{command.name} with deadman latched → DEVICE_FAULT",
                self.command(command.pack(values)),
                NackCode.DEVICE_FAULT,
                command.id,
            )
            for index, arg in enumerate(command.args, start=1):
                bad = out_of_range(arg)
                if bad is not None:
                    self.expect_nack(
                        f"{command.name}: OUT_OF_RANGE before DEVICE_FAULT",
                        self.command(command.pack({**values, arg.name: bad})),
                        NackCode.OUT_OF_RANGE,
                        command.id,
                        index,
                    )
                    break
        for name in ("get_telemetry", "self_test", "stop"):
            reply = self.act(name)
            self.check(f"{name} accepted with a fault latched", reply.msg_type == MsgType.ACK, f"reply {reply}")
        self.act("clear_fault")
        status = self.heartbeat()
        self.check("clear_fault clears the deadman fault", status["faults"] == 0, f"faults 0x{status['faults']:04x}")

    def check_event_resend(self) -> None:
        """Events are numbered in sequence; an unacknowledged COMMAND_COMPLETE is resent (same seq and
        payload, RETRY flag) every period and on ``resend_events``, and never after ``ack_event``."""
        spec, link = self.device, self.link
        probe = spec.conformance.get("motion_probe")
        if not probe:
            self.check("event resend", True, "not applicable: the device has no motion command")
            return
        command = spec.command(probe["command"])
        self.act("set_event_resend", period_ms=round(RESEND_TEST_S * 1000))
        self.act(command.name, **probe["args"])
        timeout = command.timeout({k: float(v) for k, v in probe["args"].items()}) or 10.0

        def complete(events: list[Received]) -> bool:
            return any(_is_completion(e, command.id) for e in events)

        events = self.wait_events(complete, timeout)
        fresh = [e.frame.seq for e in events if not e.frame.flags & _RETRY]
        self.check(
            "event seqs count up by one",
            all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(fresh)),
            f"seqs {fresh}",
        )
        done = [e for e in events if _is_completion(e, command.id)]
        counted = f"{len(done)} COMMAND_COMPLETE within {timeout:.1f} s"
        if not self.check(f"{command.name} completes", bool(done), counted):
            return
        original = done[0].frame
        link.listen(RESEND_TEST_S * 2.5)
        again = [e.frame for e in link.take_events() if e.frame.seq == original.seq]
        self.check(
            "an unacknowledged COMMAND_COMPLETE is resent",
            bool(again) and all(f.payload == original.payload and f.flags & _RETRY for f in again),
            f"{len(again)} resends of seq {original.seq} in {RESEND_TEST_S * 2.5:.2f} s",
        )
        reply = self.act("resend_events")
        asked = [e.frame for e in link.take_events() if e.frame.seq == original.seq]
        self.check(
            "resend_events resends it before its ACK",
            reply.msg_type == MsgType.ACK and bool(asked),
            f"{len(asked)} resends",
        )
        self.act("ack_event", event_seq=original.seq)
        link.listen(RESEND_TEST_S * 3)
        after = [e for e in link.take_events() if e.frame.seq == original.seq]
        self.check("no resend after ack_event", not after, f"{len(after)} resends after the ack")

    def check_retry_cache(self) -> None:
        """A RETRY with the same seq and payload is answered from the cache (identical bytes, not acted on
        twice); the same seq with another payload is a new request."""
        link = self.link
        get = self.device.command("get_telemetry").pack({})
        seq = link.next_seq()
        first = self.command(get, seq=seq)
        link.listen(0.02)  # the device's uptime moves on: a fresh answer would differ
        again = self.command(get, seq=seq, flags=_RETRY)
        self.check(
            "RETRY, same payload → the cached answer",
            again.payload == first.payload,
            f"answers equal: {again.payload == first.payload}",
        )
        self_test = self.device.command("self_test").pack({})
        other = self.command(self_test, seq=seq, flags=_RETRY)
        command_id = ACK_LAYOUT.unpack(other.payload[: ACK_LAYOUT.size])["command"] if other.payload else -1
        self.check(
            "RETRY, same seq, other payload → answered afresh",
            other.msg_type == MsgType.ACK and command_id == 0x04,
            f"answer to command 0x{command_id:02x}",
        )
        probe = self.device.conformance.get("motion_probe")
        if not probe:
            return
        command = self.device.command(probe["command"])
        payload = command.pack(probe["args"])
        seq = link.next_seq()
        link.take_events()
        self.command(payload, seq=seq)
        self.command(payload, seq=seq, flags=_RETRY)
        timeout = command.timeout({k: float(v) for k, v in probe["args"].items()}) or 10.0
        events = self.wait_events(lambda ev: any(_is_completion(e, command.id) for e in ev), timeout)
        link.listen(0.1)
        events += link.take_events()
        done = [e for e in events if _is_completion(e, command.id) and not e.frame.flags & _RETRY]
        values = [Completion(int(EVENT_LAYOUT.unpack(e.frame.payload)["value"])).name for e in done]
        self.check("a retried motion runs once", values == ["OK"], f"completions {values}")
        for event in done:
            self.act("ack_event", event_seq=event.frame.seq)

    def run(self) -> Report:
        """Every check, in order; a check that cannot go on is reported as a failure, not raised."""
        steps: list[Callable[[], None]] = [
            self.check_identify,
            self.reset,
            self.check_nack_precedence,
            self.check_other_messages,
            self.check_stop_mode_change,
            self.reset,
            self.check_preconditions,
            self.check_deadman_and_fault_gate,
            self.reset,
            self.check_event_resend,
            self.reset,
            self.check_retry_cache,
            self.reset,
        ]
        for step in steps:
            try:
                step()
            except ConformanceError as exc:
                self.check(step.__name__, False, str(exc))
                if self.spec is None:
                    break
        return self.report


def run_conformance(link: RawLink) -> Report:
    """Run the whole suite against the device on ``link``."""
    return Suite(link).run()


def iter_commands(spec: DeviceSpec) -> Iterator[Command]:
    """The device's commands subject to a fault gate that the ``deadman`` fault refuses."""
    for command in spec.all_commands:
        if command.fault_gate != "never" and "deadman" not in command.accepted_faults:
            yield command


__all__ = ["CheckResult", "ConformanceError", "Report", "Suite", "run_conformance", "valid_args"]


def _is_completion(event: Received, command_id: int) -> bool:
    values = EVENT_LAYOUT.unpack(event.frame.payload)
    return bool(values["event"] == EventId.COMMAND_COMPLETE and values["code"] == command_id)
