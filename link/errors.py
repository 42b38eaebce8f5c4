"""The link's exception tree: every error the flight ↔ ground link raises derives from :class:`LinkError`.

Third-party errors (``zmq.ZMQError``, ``sqlite3.Error``, ``OSError``, msgpack's) are translated at the
boundary with ``raise ... from``.
"""

from __future__ import annotations

import enum
from typing import Any


class LinkError(Exception):
    """Base class of every flight ↔ ground link error."""


class MalformedMessage(LinkError):
    """A received message is not one the wire schema defines (bad frames, msgpack, kind, field or size)."""


class EncodeError(LinkError):
    """A message to send cannot be encoded (a value msgpack cannot carry, or over the size limit)."""


class KeyFileError(LinkError):
    """A key directory or certificate is missing, unreadable, malformed or has unsafe permissions."""


class InsecureSetup(LinkError):
    """A socket was asked to run without the protection the link requires (CURVE without a ZAP
    authenticator in the same context, or plaintext without ``insecure=True``)."""


class SpoolError(LinkError):
    """The flight spool's SQLite file could not be opened, read or written."""


class SchemaError(LinkError):
    """A value does not match the flight ↔ ground schema (:mod:`link.schema`)."""


class ArgumentProblem(enum.StrEnum):
    """What is wrong with a command's arguments; each maps to the reason code flight reports."""

    NOT_A_MAP = "not_a_map"
    UNKNOWN = "unknown"
    MISSING = "missing"
    UNKNOWN_TYPE = "unknown_type"
    WRONG_TYPE = "wrong_type"
    NOT_FINITE = "not_finite"
    BAD_CHOICE = "bad_choice"
    OUT_OF_RANGE = "out_of_range"


#: The command-status reason code of each problem: a value outside its range or choices is ``out_of_range``,
#: anything else about the arguments ``invalid_argument``.
_REASONS = {ArgumentProblem.BAD_CHOICE: "out_of_range", ArgumentProblem.OUT_OF_RANGE: "out_of_range"}


class InvalidArgument(SchemaError):
    """A command's arguments do not match its dictionary entry.

    ``argument`` names what was wrong ('args' for the whole map), ``expected`` says what was wanted and
    ``found`` what was given (both phrased for an operator); ``problem`` says which rule failed and ``value``
    holds the offending value (converted, e.g. an int given for a float is a float here; None when there is none).
    """

    def __init__(
        self, command: str, argument: str, problem: ArgumentProblem, expected: str, found: str, value: Any = None
    ) -> None:
        where = f"{command}: " if command else ""
        super().__init__(f"{where}argument {argument!r}: expected {expected}, found {found}")
        self.command = command
        self.argument = argument
        self.problem = problem
        self.expected = expected
        self.found = found
        self.value = value

    @property
    def reason(self) -> str:
        """The reason code a command failing this way reports: ``out_of_range`` or ``invalid_argument``."""
        return _REASONS.get(self.problem, "invalid_argument")


class NoteError(LinkError):
    """A signed note, a verifier or signer key, or a signature line is malformed (C2SP signed-note)."""


class RecordError(LinkError):
    """An extraction record is malformed, or its signature does not verify against the rover key."""
