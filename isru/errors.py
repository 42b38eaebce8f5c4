"""The composition root's exception tree: errors of the command line and the simulated stack derive from
:class:`IsruError`. Errors of the packages below keep their own trees (``HalError``, ``FlightError``,
``GroundError``, ``LinkError``, ``ConfigError``)."""

from __future__ import annotations


class IsruError(Exception):
    """Base class of every error raised by the composition root itself."""


class StackError(IsruError):
    """The simulated stack (flight process, ground core, keys) could not be started or stopped."""
