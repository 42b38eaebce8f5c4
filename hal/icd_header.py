"""Renders the C header ``docs/isru_icd.h`` from the definition (``hal/icd.toml``).

Firmware includes it for every code, packed payload struct, command id, mode, fault bit and its device's
definition hash (``ICD_HASH_<DEVICE>``, reported in IDENTIFY). ``python -m hal.icd_gen --write`` writes it;
a test fails when it is stale.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from pathlib import Path

from hal.icd import (
    COMMON_COMMANDS,
    DEFINITION,
    DEVICES,
    Command,
    Completion,
    DeviceSpec,
    DeviceState,
    EventId,
    Field,
    Severity,
)
from hal.protocol import AckResult, Flags, MsgType, NackCode

#: The header this module maintains.
HEADER_PATH = Path(__file__).resolve().parent.parent / "docs" / "isru_icd.h"

_C = {"u8": "uint8_t", "u16": "uint16_t", "u32": "uint32_t", "i16": "int16_t", "i32": "int32_t", "f32": "float"}


def _comment(text: str) -> str:
    return text.replace("*/", "* /")


def _defines(prefix: str, items: Iterable[tuple[str, int]], width: int = 2) -> list[str]:
    return [f"#define {prefix}{name.upper()} 0x{value:0{width}X}u" for name, value in items]


def _enum(prefix: str, members: Iterable[enum.IntEnum | enum.IntFlag]) -> list[str]:
    return _defines(prefix, ((str(m.name), int(m)) for m in members))


def _struct(name: str, fields: Sequence[Field]) -> list[str]:
    if not fields:
        return [f"/* {name}: no fields */"]
    lines = ["typedef struct __attribute__((packed)) {"]
    for f in fields:
        unit = f" [{f.unit}]" if f.unit else ""
        rng = ""
        if f.lo is not None or f.hi is not None:
            rng = f" range {f.lo:g}..{f.hi:g}" if f.lo is not None and f.hi is not None else ""
        lines.append(f"    {_C[f.c_type]} {f.name}; /* {_comment(f.doc)}{unit}{rng} */")
    lines.append(f"}} {name};")
    return lines


def _commands(prefix: str, struct_prefix: str, commands: Sequence[Command]) -> list[str]:
    lines: list[str] = []
    for c in commands:
        motion = " (motion)" if c.motion else ""
        lines.append(f"#define {prefix}{c.name.upper()} 0x{c.id:02X}u /* {_comment(c.doc)}{motion} */")
    for c in commands:
        if c.args:
            lines += _struct(f"{struct_prefix}{c.name}_args_t", c.args)
        if c.reply:
            lines += _struct(f"{struct_prefix}{c.name}_reply_t", c.reply)
        if c.timeout_expr:
            lines.append(f"/* {c.name}: host time-out for COMMAND_COMPLETE, s = {_comment(c.timeout_expr)} */")
    return lines


def _device(spec: DeviceSpec) -> list[str]:
    up = spec.name.upper()
    lines = [
        "",
        f"/* ---- {spec.name}: {_comment(spec.doc)} */",
        f"#define ICD_ADDRESS_{up} 0x{spec.address:02X}u",
        f"#define ICD_HASH_{up} 0x{spec.icd_hash:08X}u",
    ]
    lines += _commands(f"ICD_{up}_CMD_", f"icd_{spec.name}_", spec.commands)
    lines += _defines(f"ICD_{up}_MODE_", ((m, i) for i, m in enumerate(spec.modes)))
    lines += _defines(f"ICD_{up}_FAULT_", ((f, 1 << i) for i, f in enumerate(spec.faults)), width=4)
    lines += _struct(f"icd_{spec.name}_telemetry_t", spec.header + spec.telemetry)
    return lines


def render_header() -> str:
    """The whole C header, as text."""
    p = DEFINITION.protocol
    lines = [
        "/* isru serial ICD: generated from hal/icd.toml by `python -m hal.icd_gen --write`. Do not edit. */",
        "#ifndef ISRU_ICD_H",
        "#define ISRU_ICD_H",
        "",
        "#include <stdint.h>",
        "",
        f"#define ICD_PROTOCOL_VERSION {p['version']}u",
        f"#define ICD_HOST_ADDRESS 0x{p['host_address']:02X}u",
        f"#define ICD_BROADCAST_ADDRESS 0x{p['broadcast_address']:02X}u",
        f"#define ICD_MAX_PAYLOAD {p['max_payload']}u",
        f"#define ICD_DEFAULT_DEADMAN_MS {p['default_deadman_ms']}u",
        f"#define ICD_MIN_TELEMETRY_PERIOD_MS {p['min_telemetry_period_ms']}u",
        f"#define ICD_RESPONSE_MS {p['response_ms']}u",
        f"#define ICD_MIN_EVENT_RESEND_MS {p['min_event_resend_ms']}u",
        f"#define ICD_EVENT_QUEUE {p['event_queue']}u",
        "",
    ]
    lines += _enum("ICD_MSG_", MsgType)
    lines += _enum("ICD_FLAG_", [Flags.RESPONSE, Flags.RETRY])
    lines += _enum("ICD_NACK_", NackCode)
    lines += _enum("ICD_ACK_", AckResult)
    lines += _enum("ICD_EVENT_", EventId)
    reliable = [e["name"] for e in DEFINITION.events if e.get("reliable", False)]
    lines.append(f"/* Events resent until acknowledged (ack_event): {', '.join(reliable)} */")
    lines += _enum("ICD_SEVERITY_", Severity)
    lines += _enum("ICD_COMPLETION_", Completion)
    lines += _enum("ICD_STATE_", DeviceState)
    lines.append("")
    for name in ("event", "identify", "heartbeat_request", "heartbeat_reply", "ack", "nack"):
        lines += _struct(f"icd_{name}_t", DEFINITION.layouts[name])
    lines += _struct("icd_telemetry_header_t", DEFINITION.layouts["telemetry_header"])
    lines += ["", "/* ---- common commands (every device) */"]
    lines += _commands("ICD_CMD_", "icd_", COMMON_COMMANDS)
    for spec in DEVICES.values():
        lines += _device(spec)
    lines += ["", "#endif /* ISRU_ICD_H */", ""]
    return "\n".join(lines)
