"""A failure that repeats, logged once with its traceback and then summarised.

A servicing loop whose work fails the same way on every pass (the archive's disk full, its file damaged)
would otherwise write a full traceback twenty times a second and bury the one line that matters. The first
failure of a kind is logged with its traceback; repeats of the same kind are counted and logged as one line
every :data:`REPEAT_LOG_S` clock seconds; the first pass that works again says how many failed.
"""

from __future__ import annotations

import logging

from base.clock import Clock

__all__ = ["REPEAT_LOG_S", "RepeatedFailureLog"]

#: Clock seconds between the one-line summaries of a failure that keeps repeating.
REPEAT_LOG_S = 60.0


class RepeatedFailureLog:
    """Logs to ``logger`` the failures of a loop doing ``what`` (e.g. "link client service")."""

    def __init__(self, logger: logging.Logger, what: str, clock: Clock) -> None:
        self.logger = logger
        self.what = what
        self.clock = clock
        self.failures = 0  #: failures since the loop last worked
        self._kind = ""
        self._repeats = 0
        self._next_summary = 0.0

    def failed(self, exc: BaseException) -> None:
        """The loop's pass raised ``exc`` (call from the ``except`` block: the first of a kind logs its traceback)."""
        self.failures += 1
        kind = f"{type(exc).__name__}: {exc}"
        now = self.clock.monotonic()
        if kind != self._kind:
            self._kind, self._repeats = kind, 0
            self._next_summary = now + REPEAT_LOG_S
            self.logger.exception("%s failed", self.what)
            return
        self._repeats += 1
        if now >= self._next_summary:
            self.logger.error(
                "%s failed again, %d times in the last %.0f s (logged once with its traceback above): %s",
                self.what,
                self._repeats,
                REPEAT_LOG_S,
                kind,
            )
            self._repeats = 0
            self._next_summary = now + REPEAT_LOG_S

    def worked(self) -> None:
        """The loop's pass worked: say so once after failures."""
        if self.failures:
            self.logger.warning("%s works again after %d failed passes", self.what, self.failures)
            self.failures, self._kind, self._repeats = 0, "", 0
