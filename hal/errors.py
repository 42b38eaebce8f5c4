"""The hal exception tree. Third-party errors (``SerialException``, ``OSError``, ``struct.error``) are
translated where they enter hal with ``raise ... from``, so callers catch :class:`HalError` and nothing else."""

from __future__ import annotations


class HalError(Exception):
    """Base class for every error raised by hal."""


class FrameError(HalError):
    """A frame could not be decoded (bad COBS, length, CRC or version)."""


class CobsError(FrameError):
    """The COBS encoding of a frame is invalid."""


class FramingError(FrameError):
    """The frame is too short, too long, or its length field disagrees with its size."""


class CrcError(FrameError):
    """The frame's CRC-32 does not match its contents."""


class VersionError(FrameError):
    """The frame carries a protocol version this host does not speak (``frame``: its header and payload)."""

    frame: object = None


class PayloadError(HalError):
    """A payload does not match the layout the ICD defines for its message."""


class CommandError(HalError):
    """A command was refused on the host before anything was sent (unknown name, bad or out-of-range argument)."""


class PortError(HalError):
    """The serial port is unusable: it could not be opened, was unplugged, or failed during I/O."""


class ResponseTimeout(HalError):
    """A request to a device got no response within its timeout after every retry."""


class DeviceNack(HalError):
    """The device refused a command with a NACK (``code``: a NackCode value, ``code_name``: its name;
    ``latched``: the fault bits the device's latest telemetry showed, named when it refused for a fault)."""

    def __init__(
        self, device: str, command: str, code: int, code_name: str, detail: int = 0, latched: tuple[str, ...] = ()
    ) -> None:
        why = f"detail {detail}" + (f"; fault {','.join(latched)} latched" if latched else "")
        super().__init__(f"{device}: command {command!r} refused by the device: {code_name} ({why})")
        self.device = device
        self.command = command
        self.code = code
        self.code_name = code_name
        self.detail = detail
        self.latched = latched


class DeviceMismatch(HalError):
    """The device on the port identified as something other than what the configuration expects."""


class DeviceFault(HalError):
    """The device reports a fault state, or failed its self-test."""


class DefinitionError(HalError):
    """The machine-readable ICD (``hal/icd.toml``) is malformed or contradicts itself."""
