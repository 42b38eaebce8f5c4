"""The flight exception tree."""

from __future__ import annotations


class FlightError(Exception):
    """Base class for every error raised by the flight segment."""


class CommandRejected(FlightError):
    """A command failed validation or could not run; ``reason`` is the machine-readable reason code."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(f"{reason}: {message}" if message else reason)
        self.reason = reason
        self.message = message


class AdmissionRefused(CommandRejected):
    """A status listener could not record a command's acceptance (e.g. its counter could not be made durable):
    raised from the listener, it stops the command before its handler runs."""


class InterlockViolation(CommandRejected):
    """A device command was stopped by an interlock; the reason is ``interlock:<name>``."""

    def __init__(self, interlock: str, message: str) -> None:
        super().__init__(f"interlock:{interlock}", message)
        self.interlock = interlock


class ParameterError(FlightError):
    """A parameter name or value is invalid."""


class SequenceError(FlightError):
    """A stored sequence is malformed or cannot run now."""


class PersistenceError(FlightError):
    """The flight store could not be read or written."""
