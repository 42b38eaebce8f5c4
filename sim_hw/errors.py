"""The emulators' exception tree: everything sim_hw raises on purpose derives from :class:`SimError`.

Errors a caller looks up by name or value keep their built-in base too (``KeyError``, ``ValueError``),
so code that caught those before still catches them.
"""

from __future__ import annotations

from hal.protocol import NackCode


class SimError(Exception):
    """Root of every error the simulated hardware raises on purpose."""


class Nack(SimError):
    """Raised by a command handler to refuse the command with ``code`` (a :class:`NackCode`)."""

    def __init__(self, code: NackCode, detail: int = 0) -> None:
        super().__init__(code.name)
        self.code = code
        self.detail = detail


class UnknownDeviceError(SimError, KeyError):
    """A device name that has no emulator, or that the world does not hold."""


class UnknownBodyError(SimError, KeyError):
    """A planetary body with no description or no soil/regolith model."""


class UnknownFaultError(SimError, KeyError):
    """A fault kind the device cannot take."""


class FaultParameterError(SimError, ValueError):
    """An injected fault or sensor symptom with an invalid parameter (kind, field, bus, value)."""


class ModelParameterError(SimError, ValueError):
    """A physical model (body, site, soil, chamber load) given a value outside what it can represent."""


class WorldUrlError(SimError, ValueError):
    """A ``sim://`` URL whose parameters are malformed or disagree with the world it names."""


class PtyError(SimError):
    """A pseudo-terminal could not be opened or read (the operating system's ``OSError``, translated)."""
