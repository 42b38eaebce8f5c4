"""Reading a device's answers to the host's requests: the ACK or NACK of a command and the HEARTBEAT
echo, each checked against the request it answers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hal.errors import DeviceNack, PayloadError
from hal.icd import ACK_LAYOUT, HEARTBEAT_REPLY_LAYOUT, NACK_LAYOUT, Command
from hal.protocol import AckResult, Frame, MsgType, nack_code_name

#: The command whose ACK carries the device's telemetry block, whatever its size.
_TELEMETRY_COMMAND = "get_telemetry"


def command_reply(
    device_name: str, command: Command, response: Frame, latched: Callable[[], Sequence[str]] = tuple
) -> tuple[AckResult, bytes]:
    """The ACK result and reply bytes of ``response`` to ``command`` sent to device ``device_name``.

    Raises :class:`~hal.errors.DeviceNack` when the device refused the command — naming, for a refusal for a
    fault (``DEVICE_FAULT``), the fault bits ``latched()`` gives (the device's latest telemetry) — and
    :class:`~hal.errors.PayloadError` when ``response`` is not an ACK of ``command`` the ICD allows.
    """
    payload = response.payload
    if response.msg_type == MsgType.NACK and len(payload) == NACK_LAYOUT.size:
        nack = NACK_LAYOUT.unpack(payload)
        name = nack_code_name(nack["code"])
        faults = tuple(latched()) if name == "DEVICE_FAULT" else ()
        raise DeviceNack(device_name, command.name, nack["code"], name, nack["detail"], faults)
    if response.msg_type != MsgType.ACK or len(payload) < ACK_LAYOUT.size or payload[0] != command.id:
        raise PayloadError(
            f"{device_name}: expected an ACK of {command.name} (id 0x{command.id:02x}), found message type "
            f"0x{response.msg_type:02x} with payload {payload.hex()}"
        )
    try:
        result = AckResult(payload[1])
    except ValueError:
        raise PayloadError(f"{device_name}: ACK of {command.name} with unknown result {payload[1]}") from None
    reply = payload[ACK_LAYOUT.size :]
    if len(reply) != command.reply_layout.size and command.name != _TELEMETRY_COMMAND:
        raise PayloadError(
            f"{device_name}: ACK of {command.name} carries {len(reply)} reply bytes; "
            f"expected {command.reply_layout.size}"
        )
    return result, reply


def heartbeat_reply(device_name: str, host_ms: int, response: Frame) -> dict[str, Any]:
    """The fields of the HEARTBEAT reply ``response`` to a request stamped ``host_ms`` (host milliseconds);
    :class:`~hal.errors.PayloadError` when it is not one or echoes another stamp."""
    if response.msg_type != MsgType.HEARTBEAT or len(response.payload) != HEARTBEAT_REPLY_LAYOUT.size:
        raise PayloadError(
            f"{device_name}: expected a HEARTBEAT reply, found message type 0x{response.msg_type:02x} "
            f"with {len(response.payload)} bytes"
        )
    reply = HEARTBEAT_REPLY_LAYOUT.unpack(response.payload)
    if reply["host_ms"] != host_ms:
        raise PayloadError(f"{device_name}: heartbeat echoed {reply['host_ms']}, sent {host_ms}")
    return reply


__all__ = ["command_reply", "heartbeat_reply"]
