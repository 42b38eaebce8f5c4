"""Changing a connected device's streaming period and dead-man while it runs (the rate profile flight chooses,
``flight/rates.py``), in the order that keeps the device protected."""

from __future__ import annotations

from typing import Any, Protocol

from hal.link_supervision import LinkSupervisor
from hal.protocol import AckResult


class Retimable(Protocol):
    """What :func:`retime` needs of a :class:`~hal.device.Device`."""

    telemetry_period_s: float
    deadman_s: float
    silence_timeout_s: float
    base_silence_s: float

    def act(self, name: str, **args: Any) -> AckResult:
        """Send a command that completes at once."""
        ...


def retime(device: Retimable, link: LinkSupervisor, period_s: float, deadman_s: float) -> None:
    """Stream every ``period_s`` and re-arm the dead-man at ``deadman_s`` (both already validated), on the
    device now if its link is up and at every later set-up (which writes the device's current values).

    A shorter dead-man is written before a faster stream, a longer one after a slower stream. The host's
    keep-alive interval follows the dead-man; the silence after which the device counts as stale follows the
    period (three periods, never below the configured timeout). Raises :class:`~hal.errors.DeviceNack`,
    :class:`~hal.errors.PortError` or :class:`~hal.errors.ResponseTimeout` if the device does not take a
    setting; what was written before stays in force.
    """
    if (period_s, deadman_s) == (device.telemetry_period_s, device.deadman_s):
        return
    writes = [("set_deadman", "timeout_ms", deadman_s), ("set_telemetry_period", "period_ms", period_s)]
    if deadman_s > device.deadman_s:
        writes.reverse()
    if link.link_up:
        for command, arg, value in writes:
            device.act(command, **{arg: round(value * 1000)})
            if command == "set_deadman":
                device.deadman_s = deadman_s
                link.rearm(deadman_s)
            else:
                device.telemetry_period_s = period_s
    device.deadman_s, device.telemetry_period_s = deadman_s, period_s
    link.rearm(deadman_s)
    device.silence_timeout_s = max(device.base_silence_s, 3.0 * period_s)
