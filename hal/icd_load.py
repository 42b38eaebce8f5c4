"""Reads the machine-readable ICD, ``hal/icd.toml``, into the shapes of :mod:`hal.icd_model`.

Also computes each device type's **definition hash** (reported in IDENTIFY as ``icd_hash``): the CRC-32
(IEEE 802.3, as the frame CRC) of the UTF-8 canonical JSON (sorted keys, no spaces) of the wire-relevant
parts of the definition as that device sees them: the protocol version, the common layouts, the event and
NACK codes, the common commands and the device's own entry (address, modes, faults, telemetry, commands
with their ids, argument types and ranges, reply types, motion flag, fault gate, accepted faults and the
NACK codes of their preconditions). Descriptions, durations and time-outs are not part of it: rewording
the document does not invalidate firmware, changing what goes on the wire does. Like MAVLink's
CRC_EXTRA, it lets a host refuse a device built from another definition.
"""

from __future__ import annotations

import ast
import json
import operator
import tomllib
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hal.errors import DefinitionError
from hal.icd_model import FAULT_GATES, STRUCT_CODES, Command, DeviceSpec, Field, Precondition

#: The definition shipped with hal (package data).
DEFINITION_PATH = Path(__file__).resolve().with_name("icd.toml")

_LAYOUTS = ("telemetry_header", "event", "identify", "heartbeat_request", "heartbeat_reply", "ack", "nack")


@dataclass(frozen=True)
class Definition:
    """The whole ICD: protocol constants, codes, common layouts and commands, and the device types."""

    protocol: Mapping[str, int]
    nack_codes: tuple[Mapping[str, Any], ...]
    nack_precedence: tuple[Mapping[str, str], ...]
    events: tuple[Mapping[str, Any], ...]
    layouts: Mapping[str, tuple[Field, ...]]
    common: tuple[Command, ...]
    devices: tuple[DeviceSpec, ...]


def load_definition(path: Path = DEFINITION_PATH) -> Definition:
    """Read and check the definition at ``path``; :class:`DefinitionError` names what is wrong where."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DefinitionError(f"{path}: cannot read the ICD definition: {exc}") from exc
    return build_definition(raw, str(path))


def build_definition(raw: Mapping[str, Any], where: str = "icd.toml") -> Definition:
    """The :class:`Definition` in parsed TOML ``raw``."""
    try:
        protocol = dict(raw["protocol"])
        layouts = {name: _fields(raw["layouts"][name], f"{where}: layouts.{name}") for name in _LAYOUTS}
        nack_names = {n["name"] for n in raw["nack_codes"]}
        common = tuple(_command(c, f"{where}: common_commands", nack_names, ()) for c in raw["common_commands"])
        canonical_base = {
            "protocol": protocol["version"],
            "layouts": {k: _canonical_fields(v) for k, v in layouts.items()},
            "events": sorted((e["name"], e["value"], bool(e.get("reliable", False))) for e in raw["events"]),
            "nack_codes": sorted((n["name"], n["value"]) for n in raw["nack_codes"]),
            "common": [_canonical_command(c) for c in common],
        }
        devices = tuple(
            _device(d, f"{where}: device {d.get('name')!r}", nack_names, common, layouts, canonical_base)
            for d in raw["devices"]
        )
    except KeyError as exc:
        raise DefinitionError(f"{where}: missing key {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise DefinitionError(f"{where}: {exc}") from exc
    addresses = [d.address for d in devices]
    names = [d.name for d in devices]
    if len(set(addresses)) != len(addresses) or len(set(names)) != len(names):
        raise DefinitionError(f"{where}: device names and addresses must be unique; found {names} at {addresses}")
    return Definition(
        protocol=protocol,
        nack_codes=tuple(raw["nack_codes"]),
        nack_precedence=tuple(raw["nack_precedence"]),
        events=tuple(raw["events"]),
        layouts=layouts,
        common=common,
        devices=devices,
    )


def _fields(items: list[Mapping[str, Any]], where: str) -> tuple[Field, ...]:
    out = []
    for item in items:
        ctype = item["type"]
        if ctype not in STRUCT_CODES:
            raise DefinitionError(
                f"{where}: field {item.get('name')!r} has type {ctype!r}; expected one of {sorted(STRUCT_CODES)}"
            )
        out.append(
            Field(
                item["name"], STRUCT_CODES[ctype], item.get("unit", ""), item["doc"], item.get("min"), item.get("max")
            )
        )
    return tuple(out)


def _command(item: Mapping[str, Any], where: str, nacks: set[str], faults: tuple[str, ...]) -> Command:
    name = item["name"]
    where = f"{where}, command {name!r}"
    gate = item.get("fault_gate", "never")
    if gate not in FAULT_GATES:
        raise DefinitionError(f"{where}: fault_gate {gate!r}; expected one of {FAULT_GATES}")
    accepted = tuple(item.get("accepted_faults", ()))
    unknown = [f for f in accepted if f not in faults]
    if unknown:
        raise DefinitionError(f"{where}: accepted_faults {unknown} are not faults of the device {list(faults)}")
    preconditions = tuple(Precondition(p["nack"], p["when"]) for p in item.get("preconditions", ()))
    bad = [p.nack for p in preconditions if p.nack not in nacks]
    if bad:
        raise DefinitionError(f"{where}: precondition NACK codes {bad} are not NACK codes {sorted(nacks)}")
    args = _fields(item.get("args", []), where)
    expr = item.get("timeout_s", "")
    timeout = compile_expression(expr, {a.name for a in args}, where) if expr else None
    return Command(
        item["id"],
        name,
        item["doc"],
        args=args,
        reply=_fields(item.get("reply", []), where),
        motion=bool(item.get("motion", False)),
        fault_gate=gate,
        accepted_faults=accepted,
        preconditions=preconditions,
        duration=item.get("duration", ""),
        timeout_expr=expr,
        _timeout=timeout,
    )


def _device(
    item: Mapping[str, Any],
    where: str,
    nacks: set[str],
    common: tuple[Command, ...],
    layouts: Mapping[str, tuple[Field, ...]],
    canonical_base: Mapping[str, Any],
) -> DeviceSpec:
    faults = tuple(item["faults"])
    commands = tuple(_command(c, where, nacks, faults) for c in item.get("commands", ()))
    telemetry = _fields(item["telemetry"], where)
    canonical = {
        **canonical_base,
        "device": {
            "name": item["name"],
            "address": item["address"],
            "modes": list(item["modes"]),
            "faults": list(faults),
            "telemetry": _canonical_fields(telemetry),
            "commands": [_canonical_command(c) for c in commands],
        },
    }
    return DeviceSpec(
        name=item["name"],
        address=item["address"],
        doc=item["doc"],
        commands=commands,
        telemetry=telemetry,
        modes=tuple(item["modes"]),
        faults=faults,
        common=common,
        header=layouts["telemetry_header"],
        icd_hash=definition_hash(canonical),
        conformance=dict(item.get("conformance", {})),
        constants=dict(item.get("constants", {})),
    )


def _canonical_fields(fields: tuple[Field, ...]) -> list[list[Any]]:
    return [[f.name, f.c_type, f.lo, f.hi] for f in fields]


def _canonical_command(command: Command) -> dict[str, Any]:
    return {
        "id": command.id,
        "name": command.name,
        "args": _canonical_fields(command.args),
        "reply": _canonical_fields(command.reply),
        "motion": command.motion,
        "fault_gate": command.fault_gate,
        "accepted_faults": list(command.accepted_faults),
        "preconditions": [p.nack for p in command.preconditions],
    }


def definition_hash(canonical: Mapping[str, Any]) -> int:
    """CRC-32 of the canonical JSON of ``canonical`` (sorted keys, no whitespace, UTF-8)."""
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return zlib.crc32(text.encode("utf-8"))


# ------------------------------------------------------------------------------- time-out expressions
_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {"abs": abs, "min": min, "max": max}


def compile_expression(text: str, names: set[str], where: str) -> Callable[[Mapping[str, float]], float]:
    """A function of the arguments computing ``text``: numbers, the argument ``names``, ``+ - * /``,
    unary minus and ``abs``/``min``/``max``. Anything else is a :class:`DefinitionError`."""
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise DefinitionError(f"{where}: time-out expression {text!r} is not an expression: {exc.msg}") from exc
    _check_node(tree, names, f"{where}: time-out expression {text!r}")

    def evaluate(values: Mapping[str, float]) -> float:
        return float(_eval(tree, values))

    return evaluate


def _check_node(node: ast.expr, names: set[str], where: str) -> None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return
    if isinstance(node, ast.Name) and node.id in names:
        return
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check_node(node.left, names, where)
        _check_node(node.right, names, where)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        _check_node(node.operand, names, where)
        return
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        for arg in node.args:
            _check_node(arg, names, where)
        return
    raise DefinitionError(
        f"{where}: {ast.unparse(node)!r} is not allowed; expected numbers, the arguments {sorted(names)}, "
        "+ - * / and abs/min/max"
    )


def _eval(node: ast.expr, values: Mapping[str, float]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        return float(values[node.id])
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, values), _eval(node.right, values))
    if isinstance(node, ast.UnaryOp):
        return -_eval(node.operand, values)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _FUNCTIONS[node.func.id](*(_eval(a, values) for a in node.args))
    raise DefinitionError(f"cannot evaluate {ast.unparse(node)!r}")
