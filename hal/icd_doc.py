"""Renders the tables of ``docs/icd.md`` from the definition (``hal/icd.toml``, as :mod:`hal.icd` reads it)
and the message codes of :mod:`hal.protocol`.

The definition is the source; the document shows it (``python -m hal.icd_gen`` also writes the C
header). Two regions of the document are generated::

    <!-- BEGIN GENERATED MESSAGE TABLES --> ... <!-- END GENERATED MESSAGE TABLES -->
    <!-- BEGIN GENERATED DEVICE TABLES -->  ... <!-- END GENERATED DEVICE TABLES -->

``python -m hal.icd_doc --write`` rewrites them in place, ``--check`` exits with status 1 when they are
stale, and without options the device tables are printed. Byte offsets and sizes are in bytes.

:func:`read_block` reads the document's machine-readable blocks (the ``icd-vectors`` and ``cobs-vectors``
test vectors). Those were produced once with the code and are never regenerated: they pin the wire format.
"""

from __future__ import annotations

import argparse
import enum
import json
import logging
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from hal.icd import (
    ACK_LAYOUT,
    COMMON_COMMANDS,
    DEFAULT_DEADMAN_MS,
    DEFINITION,
    DEVICES,
    EVENT_LAYOUT,
    EVENT_QUEUE,
    HEARTBEAT_REPLY_LAYOUT,
    HEARTBEAT_REQUEST_LAYOUT,
    IDENTIFY_LAYOUT,
    MIN_EVENT_RESEND_MS,
    MIN_TELEMETRY_PERIOD_MS,
    NACK_LAYOUT,
    TELEMETRY_HEADER,
    Command,
    Completion,
    DeviceSpec,
    DeviceState,
    EventId,
    Field,
    Layout,
    Severity,
)
from hal.protocol import (
    HOST_ADDRESS,
    MAX_ENCODED,
    MAX_FRAME,
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    AckResult,
    Flags,
    MsgType,
    NackCode,
)
from hal.transport import BROADCAST_ADDRESS

_LOGGER = logging.getLogger(__name__)

#: The document whose generated regions this module maintains.
DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "icd.md"

#: An ICD code table's member (its value goes in the table) and the description a table gives it.
_Member = TypeVar("_Member", bound=enum.IntEnum | enum.IntFlag)
_Text = TypeVar("_Text")

#: The command whose ACK carries the device's telemetry block after the two ACK bytes.
_TELEMETRY_REPLY_COMMAND = "get_telemetry"

_MSG_TYPES: dict[MsgType, tuple[str, str, str]] = {
    # type: (sent by, request payload, response)
    MsgType.COMMAND: ("host", "`command_id u8` + the command's arguments", "ACK or NACK"),
    MsgType.ACK: ("device", "ACK layout (+ the command's reply fields)", "— (is a response)"),
    MsgType.NACK: ("device", "NACK layout", "— (is a response)"),
    MsgType.TELEMETRY: ("device", "the device's telemetry block", "— (unsolicited, device counter seq)"),
    MsgType.EVENT: ("device", "EVENT layout", "— (unsolicited, event counter seq; section 8.1)"),
    MsgType.IDENTIFY: ("host", "empty", "IDENTIFY with the IDENTIFY layout"),
    MsgType.HEARTBEAT: ("host", "HEARTBEAT request layout", "HEARTBEAT with the HEARTBEAT reply layout"),
}

_FLAGS: dict[Flags, str] = {
    Flags.RESPONSE: "set by the device on every frame that answers a host request; seq is the request's",
    Flags.RETRY: "set by the host on a resend of a request (same seq); the device must not act twice",
}

#: NACK code: (when, detail), from the definition.
_NACK_RULES: dict[NackCode, tuple[str, str]] = {
    NackCode(n["value"]): (n["when"], n["detail"]) for n in DEFINITION.nack_codes
}

_ACK_RESULTS: dict[AckResult, str] = {
    AckResult.DONE: "the command has been carried out (every non-motion command)",
    AckResult.STARTED: "a motion began; a COMMAND_COMPLETE event reports its end",
}

#: Event: (when, severity, code, value, resent until acknowledged), from the definition.
_EVENTS: dict[EventId, tuple[str, str, str, str, str]] = {
    EventId(e["value"]): (
        e["when"],
        e["severity"],
        e["code"],
        e["value_text"],
        "yes" if e.get("reliable", False) else "no",
    )
    for e in DEFINITION.events
}

_SEVERITIES: dict[Severity, str] = {
    Severity.INFO: "normal operation",
    Severity.WARNING: "something stopped or was refused; the device is still usable",
    Severity.ERROR: "a fault is set",
    Severity.CRITICAL: "the device cannot continue without intervention",
}

_STATES: dict[DeviceState, str] = {
    DeviceState.OFF: "powered but actuators disabled (boot, self-test)",
    DeviceState.IDLE: "ready, nothing moving",
    DeviceState.ACTIVE: "an actuator is running",
    DeviceState.FAULT: "a fault bit is set; actuator commands are refused with DEVICE_FAULT",
}

_COMPLETIONS: dict[Completion, str] = {
    Completion.OK: "reached its target",
    Completion.STOPPED: "ended by `stop`, or replaced by a newer motion command",
    Completion.BLOCKED: "ended early by the load (stall, obstacle, overload)",
    Completion.DEADMAN: "ended by the dead-man rule",
    Completion.FAULT: "ended because a fault bit became set",
}


# ------------------------------------------------------------------------------------------ helpers
def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _hex(value: int) -> str:
    return f"0x{value:02X}"


def _number(value: float) -> str:
    return f"{value:g}"


def _range(fld: Field) -> str:
    if fld.lo is None and fld.hi is None:
        return "any"
    lo = "-inf" if fld.lo is None else _number(fld.lo)
    hi = "+inf" if fld.hi is None else _number(fld.hi)
    return f"{lo} … {hi}"


def _unit(fld: Field) -> str:
    return fld.unit or "—"


def _described(members: Iterable[_Member], texts: Mapping[_Member, _Text]) -> list[tuple[_Member, _Text]]:
    """Pair every enum member with its description; a member without one is a documentation bug."""
    missing = [m.name for m in members if m not in texts]
    if missing:
        raise ValueError(f"no ICD description for {missing}; add them to hal/icd_doc.py")
    return [(m, texts[m]) for m in members]


def _layout_table(fields: Sequence[Field]) -> str:
    rows = []
    offset = 0
    for fld in fields:
        size = Layout((fld,)).size
        rows.append((offset, f"`{fld.name}`", fld.c_type, _unit(fld), fld.doc))
        offset += size
    return _table(("offset", "field", "type", "unit", "description"), rows) + f"\n\nSize: {offset} bytes."


def _arguments(command: Command) -> str:
    if not command.args:
        return "—"
    parts = [
        f"{i}. `{a.name}` {a.c_type} [{_unit(a)}] {_range(a)}: {a.doc}" for i, a in enumerate(command.args, start=1)
    ]
    return "<br>".join(parts)


def _reply(command: Command) -> str:
    if command.name == _TELEMETRY_REPLY_COMMAND:
        return "the device's telemetry block (its telemetry table)"
    if not command.reply:
        return "—"
    return "<br>".join(f"`{r.name}` {r.c_type} [{_unit(r)}]: {r.doc}" for r in command.reply)


def _command_table(commands: Sequence[Command]) -> str:
    rows = [
        (
            _hex(c.id),
            f"`{c.name}`",
            1 + c.args_layout.size,
            "yes" if c.motion else "no",
            _arguments(c),
            _reply(c),
            c.doc,
        )
        for c in commands
    ]
    header = ("id", "command", "payload bytes", "motion", "arguments (index. name type [unit] range)")
    return _table((*header, "ACK reply", "description"), rows)


_GATES = {
    "never": "never refused for a fault",
    "always": "DEVICE_FAULT while a fault is set",
    "unless_zero": "DEVICE_FAULT while a fault is set, unless every argument is 0",
}


def _rules_table(commands: Sequence[Command]) -> str:
    """When each command is refused (fault gate and preconditions, in precedence order) and, for a motion,
    how long it takes and how long the host waits for its completion."""
    rows = []
    for c in commands:
        gate = _GATES[c.fault_gate]
        if c.accepted_faults and c.fault_gate != "never":
            gate += " except " + ", ".join(f"`{f}`" for f in c.accepted_faults)
        checks = "<br>".join(f"{i}. {p.nack}: {p.when}" for i, p in enumerate(c.preconditions, start=1)) or "—"
        duration = c.duration or ("—" if not c.motion else "completes at once")
        timeout = f"`{c.timeout_expr}`" if c.timeout_expr else "—"
        rows.append((f"`{c.name}`", gate, checks, duration, timeout))
    header = ("command", "fault gate", "preconditions (after the fault gate, in order)", "motion duration")
    return _table((*header, "host time-out for COMMAND_COMPLETE, s"), rows)


def _enum_table(members: Iterable[tuple[_Member, object]], header: Sequence[str]) -> str:
    rows = []
    for member, text in members:
        extra = text if isinstance(text, tuple) else (text,)
        rows.append((_hex(int(member)) if int(member) > 9 else str(int(member)), member.name, *extra))
    return _table(header, rows)


# ----------------------------------------------------------------------------------- message tables
def render_message_tables() -> str:
    """Markdown for the protocol constants, codes and common payload layouts (from hal.protocol/hal.icd)."""
    deadman = next(c for c in COMMON_COMMANDS if c.name == "set_deadman").args[0]
    constants = _table(
        ("constant", "value", "meaning"),
        (
            ("PROTOCOL_VERSION", PROTOCOL_VERSION, "header byte 0 of every frame"),
            ("HOST_ADDRESS", _hex(HOST_ADDRESS), "reserved for the host; never a device address"),
            ("BROADCAST_ADDRESS", _hex(BROADCAST_ADDRESS), "whoever is on this port (IDENTIFY, HEARTBEAT)"),
            ("MAX_PAYLOAD", MAX_PAYLOAD, "largest payload, bytes"),
            ("MAX_FRAME", MAX_FRAME, "largest frame before COBS (header + payload + CRC), bytes"),
            ("MAX_ENCODED", MAX_ENCODED, "largest frame on the wire with COBS and 0x00 delimiter, bytes"),
            ("DEFAULT_DEADMAN_MS", DEFAULT_DEADMAN_MS, "dead-man timeout at power-up, ms"),
            ("DEADMAN_RANGE_MS", _range(deadman), "accepted by `set_deadman`, ms"),
            ("MIN_TELEMETRY_PERIOD_MS", MIN_TELEMETRY_PERIOD_MS, "shortest telemetry period, ms"),
            ("RESPONSE_MS", DEFINITION.protocol["response_ms"], "a device answers every request within this, ms"),
            ("HOST_TIMEOUT_MS", DEFINITION.protocol["host_timeout_ms"], "the host's wait for a response, ms"),
            ("HOST_RETRIES", DEFINITION.protocol["host_retries"], "resends (RETRY flag) after the first wait"),
            ("MIN_EVENT_RESEND_MS", MIN_EVENT_RESEND_MS, "shortest event resend period, ms"),
            ("EVENT_QUEUE", EVENT_QUEUE, "unacknowledged reliable events a device keeps"),
        ),
    )
    msg_types = _table(
        ("msg_type", "name", "sent by", "payload", "answered with"),
        ((_hex(int(t)), t.name, *text) for t, text in _described(MsgType, _MSG_TYPES)),
    )
    flags = _table(
        ("bit mask", "name", "meaning"),
        ((_hex(int(f)), f.name, text) for f, text in _described([Flags.RESPONSE, Flags.RETRY], _FLAGS)),
    )
    sections = [
        ("Constants", constants),
        ("Message types (header byte 2)", msg_types),
        ("Flags (header byte 3; other bits are 0 and ignored)", flags),
        ("ACK payload", _layout_table(ACK_LAYOUT.fields) + " A command with reply fields appends them."),
        ("NACK payload", _layout_table(NACK_LAYOUT.fields)),
        (
            "NACK codes",
            _table(
                ("code", "name", "sent when", "detail"),
                ((_hex(int(c)), c.name, *text) for c, text in _described(NackCode, _NACK_RULES)),
            ),
        ),
        (
            "NACK precedence (a COMMAND; the first rule that applies decides the answer)",
            _table(
                ("order", "NACK", "rule"),
                ((i, r["nack"], r["rule"]) for i, r in enumerate(DEFINITION.nack_precedence, start=1)),
            ),
        ),
        ("ACK results", _enum_table(_described(AckResult, _ACK_RESULTS), ("result", "name", "meaning"))),
        ("EVENT payload", _layout_table(EVENT_LAYOUT.fields)),
        (
            "Event ids",
            _enum_table(
                _described(EventId, _EVENTS),
                ("event", "name", "emitted when", "severity", "code", "value", "resent until acknowledged"),
            ),
        ),
        ("Event severities", _enum_table(_described(Severity, _SEVERITIES), ("severity", "name", "meaning"))),
        (
            "Motion completions (COMMAND_COMPLETE value)",
            _enum_table(_described(Completion, _COMPLETIONS), ("value", "name", "meaning")),
        ),
        ("IDENTIFY response payload (the request's payload is empty)", _layout_table(IDENTIFY_LAYOUT.fields)),
        ("HEARTBEAT request payload", _layout_table(HEARTBEAT_REQUEST_LAYOUT.fields)),
        ("HEARTBEAT response payload", _layout_table(HEARTBEAT_REPLY_LAYOUT.fields)),
        (
            "Device states (telemetry byte 0)",
            _enum_table(_described(DeviceState, _STATES), ("state", "name", "meaning")),
        ),
        ("Telemetry header (first bytes of every device's telemetry block)", _layout_table(TELEMETRY_HEADER)),
        (
            "Devices",
            _table(
                ("address = device_type", "device", "telemetry bytes", "description"),
                ((_hex(d.address), d.name, d.telemetry_layout.size, d.doc) for d in DEVICES.values()),
            ),
        ),
    ]
    return "\n\n".join(f"#### {title}\n\n{body}" for title, body in sections)


# ------------------------------------------------------------------------------------ device tables
def _device_events(spec: DeviceSpec) -> str:
    motions = [f"{_hex(c.id)} `{c.name}`" for c in spec.all_commands if c.motion]
    faults = ", ".join(f"{i} `{name}`" for i, name in enumerate(spec.faults))
    modes = ", ".join(f"{i} `{name}`" for i, name in enumerate(spec.modes))
    rows = [
        ("BOOT", "0", "0.0"),
        ("DEADMAN_STOP", "0", "ms since the last valid host frame"),
        (
            "COMMAND_COMPLETE",
            ", ".join(motions) if motions else "not emitted: the device has no motion commands",
            "Completion" if motions else "—",
        ),
        ("FAULT_SET", f"fault bit: {faults}", "measured value or 0.0"),
        ("FAULT_CLEARED", "0", "0.0"),
        ("MODE_CHANGE", f"new mode: {modes}", "0.0"),
    ]
    return _table(("event", "code", "value"), rows)


def _fault_rows(spec: DeviceSpec) -> list[tuple[int, str, str]]:
    return [(i, f"0x{1 << i:04X}", f"`{name}`") for i, name in enumerate(spec.faults)]


def _device_section(spec: DeviceSpec) -> str:
    telemetry = TELEMETRY_HEADER + spec.telemetry
    deadman_bit = (
        f"bit {spec.faults.index('deadman')} (`deadman`) is set when the dead-man rule trips"
        if "deadman" in spec.faults
        else "the device has no `deadman` fault bit; it still emits DEADMAN_STOP"
    )
    parts = [
        f"### {spec.name} — address {_hex(spec.address)}",
        spec.doc,
        f"Definition hash (IDENTIFY `icd_hash`, `ICD_HASH_{spec.name.upper()}` in the C header): "
        f"`0x{spec.icd_hash:08X}`.",
        f"#### {spec.name}: device commands (the common commands above apply too)",
        _command_table(spec.commands),
        f"#### {spec.name}: refusals, durations and time-outs",
        _rules_table(spec.commands),
        f"#### {spec.name}: telemetry block (TELEMETRY payload and `get_telemetry` reply)",
        _layout_table(telemetry),
        f"#### {spec.name}: modes (telemetry `mode`)",
        _table(("mode", "name"), enumerate(spec.modes)),
        f"#### {spec.name}: fault bits (telemetry `faults`; {deadman_bit})",
        _table(("bit", "mask", "name"), _fault_rows(spec)),
        f"#### {spec.name}: events",
        _device_events(spec),
    ]
    return "\n\n".join(parts)


def render_device_tables() -> str:
    """Markdown for the common commands and, per device, its commands, telemetry, modes, faults, events."""
    parts = [
        "### Common commands (every device)",
        _command_table(COMMON_COMMANDS),
    ]
    parts += [_device_section(spec) for spec in DEVICES.values()]
    return "\n\n".join(parts)


# ------------------------------------------------------------------------------------------ regions
#: Region name → renderer, in document order.
REGIONS: dict[str, Callable[[], str]] = {
    "MESSAGE TABLES": render_message_tables,
    "DEVICE TABLES": render_device_tables,
}


def _markers(region: str) -> tuple[str, str]:
    return f"<!-- BEGIN GENERATED {region} -->", f"<!-- END GENERATED {region} -->"


def region_text(document: str, region: str) -> str:
    """The current contents of ``region`` in ``document`` (between its markers, trimmed)."""
    begin, end = _markers(region)
    start = document.find(begin)
    stop = document.find(end)
    if start < 0 or stop < start:
        raise ValueError(f"the ICD has no region {begin} ... {end}; expected both markers, in that order")
    return document[start + len(begin) : stop].strip("\n")


def replace_regions(document: str) -> str:
    """``document`` with every generated region re-rendered from the code."""
    for region, render in REGIONS.items():
        begin, end = _markers(region)
        old = region_text(document, region)
        start = document.find(begin) + len(begin)
        stop = document.find(end)
        new = render()
        if old != new:
            document = document[:start] + "\n" + new + "\n" + document[stop:]
    return document


def stale_regions(document: str) -> list[str]:
    """Names of the generated regions of ``document`` that differ from what the code renders now."""
    return [region for region, render in REGIONS.items() if region_text(document, region) != render()]


def read_block(document: str, tag: str) -> list[dict]:
    """The fenced JSON-lines block tagged ``tag`` (e.g. ``icd-vectors``) of ``document``, one dict per line."""
    fence = f"```{tag}\n"
    start = document.find(fence)
    if start < 0:
        raise ValueError(f"the ICD has no ```{tag} block")
    start += len(fence)
    stop = document.find("```", start)
    if stop < 0:
        raise ValueError(f"the ```{tag} block of the ICD is not closed")
    records = []
    for number, line in enumerate(document[start:stop].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"```{tag} block, line {number}: expected one JSON object, found {exc}") from exc
        if not isinstance(record, dict):
            raise ValueError(f"```{tag} block, line {number}: expected a JSON object, found {type(record).__name__}")
        records.append(record)
    return records


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--write`` rewrites the document, ``--check`` reports stale regions."""
    parser = argparse.ArgumentParser(prog="python -m hal.icd_doc", description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=DOC_PATH, help="the ICD document (default: %(default)s)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="rewrite the generated regions in place")
    action.add_argument("--check", action="store_true", help="exit 1 if a generated region is stale")
    args = parser.parse_args(argv)
    if not (args.write or args.check):
        print(render_device_tables())
        return 0
    try:
        document = args.path.read_text(encoding="utf-8")
        if args.check:
            stale = stale_regions(document)
            for region in stale:
                print(f"{args.path}: region {region!r} is stale; run: python -m hal.icd_doc --write")
            return 1 if stale else 0
        updated = replace_regions(document)
    except (OSError, ValueError) as exc:
        print(f"{args.path}: {exc}", file=sys.stderr)
        return 2
    if updated != document:
        args.path.write_text(updated, encoding="utf-8")
        _LOGGER.info("rewrote the generated regions of %s", args.path)
    print(f"{args.path}: generated regions up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
