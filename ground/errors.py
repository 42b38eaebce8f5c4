"""The ground exception tree. Callers catch :class:`GroundError`; third-party errors (``sqlite3.Error``,
``OSError``) are translated at the boundary with ``raise ... from``."""

from __future__ import annotations

from typing import Any


class GroundError(Exception):
    """Base class for every error raised by the ground segment."""


class ValidationError(GroundError):
    """A command's arguments (or an operator's input) do not match the dictionary: ``argument`` names what was
    wrong, ``expected`` says what was wanted and ``found`` what was given."""

    def __init__(self, command: str, argument: str, expected: str, found: str) -> None:
        where = f"{command}: " if command else ""
        super().__init__(f"{where}argument {argument!r}: expected {expected}, found {found}")
        self.command = command
        self.argument = argument
        self.expected = expected
        self.found = found


class UnknownCommand(GroundError):
    """The flight dictionary has no command of that name."""

    def __init__(self, name: str, known: list[str] | None = None) -> None:
        hint = ""
        if known:
            close = [k for k in known if k.split(".")[0] == name.split(".")[0]] or known
            hint = f"; expected one of: {', '.join(sorted(close)[:20])}"
        super().__init__(f"no command {name!r} in the flight dictionary{hint}")
        self.name = name


class UnknownChannel(GroundError):
    """A telemetry channel is neither in the flight dictionary nor in the archive."""

    def __init__(self, name: str, where: str = "the flight dictionary") -> None:
        super().__init__(f"no channel {name!r} in {where}")
        self.name = name


class UnknownAlarm(GroundError):
    """No alarm of that name is on the board."""


class Forbidden(GroundError):
    """The link role (an observer) may not do this; nothing was sent."""


class NeedsConfirmation(GroundError):
    """A hazardous command was sent without confirmation; ``hazard`` is the text to show the operator.
    Nothing was sent."""

    def __init__(self, command: str, hazard: str) -> None:
        super().__init__(f"{command} is hazardous and needs confirmation: {hazard}")
        self.command = command
        self.hazard = hazard


class NotConnected(GroundError):
    """There is no link (an archive-only ground core) or no flight dictionary yet."""


class SendFailed(GroundError):
    """The link refused to take a command; ``cause`` holds the link's own error."""

    def __init__(self, command: str, cause: Any) -> None:
        super().__init__(f"{command} was not sent: {cause}")
        self.command = command
        self.cause = cause


class ArchiveError(GroundError):
    """The archive could not be opened, written or read (the SQLite or file error is chained)."""


class WaitTimeout(GroundError):
    """A wait on a command, a value or an event passed its deadline (clock seconds)."""


class LedgerError(GroundError):
    """The ledger's log, a checkpoint, a proof or a bundle is malformed, inconsistent or fails verification."""


class AccountError(GroundError):
    """An account could not be added, changed or read (a bad name, role or password, or the file's error)."""


class LoginRefused(GroundError):
    """A login or a session was refused: unknown user, wrong password or a revoked account. Nothing was done.

    The message is what the person trying to log in is told; ``detail`` is what the audit records. A login
    with an unknown user and one with a wrong password are told the same, so a refusal never says whether
    an account exists; the audit says which."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


class HubError(GroundError):
    """The ground hub refused a partner tool's request or did not answer; ``status`` is its HTTP status (0: no
    answer): 401 login, 403 forbidden, 409 needs confirmation, 400 invalid, 503 no link."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"hub: {message}" if status == 0 else f"hub refused ({status}): {message}")
        self.status = status
        self.reason = message
