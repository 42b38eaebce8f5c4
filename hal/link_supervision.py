"""Supervision of one device's link: whether it is up, when the device must be identified and configured
again, and when a HEARTBEAT is due so that an idle host never trips the device's dead-man.

The :class:`LinkSupervisor` only keeps the state and decides; its :class:`~hal.device.Device` sends the
messages. Times are seconds of the device's clock.
"""

from __future__ import annotations

import math

#: Consecutive unanswered heartbeats after which the link is declared down (and re-established).
HEARTBEAT_MISSES_MAX = 3


class LinkSupervisor:
    """Link state of a device whose dead-man timeout is ``deadman_s`` seconds.

    A keep-alive is due after a quarter of the dead-man timeout without a transmission; a set-up that
    failed for a reason retrying can fix is tried again after the same time (at least 0.05 s).
    """

    def __init__(self, deadman_s: float) -> None:
        self.keepalive_interval_s = deadman_s / 4
        self.setup_backoff_s = max(deadman_s / 4, 0.05)
        #: True while the device is identified and configured (the port may have failed since).
        self.link_up = False
        #: True when the device must be identified and configured again before the link is up.
        self.needs_setup = False
        self.down_reason = "not connected"
        #: Clock time of the latest request sent, seconds.
        self.last_tx = -math.inf
        self.heartbeat_misses = 0
        #: Link changes reported by the transport and not yet turned into events: (connected, reason).
        self.changes: list[tuple[bool, str]] = []
        self._setup_retry_at = -math.inf

    def rearm(self, deadman_s: float) -> None:
        """The device's dead-man is now ``deadman_s`` seconds: keep-alives and set-up retries follow."""
        self.keepalive_interval_s = deadman_s / 4
        self.setup_backoff_s = max(deadman_s / 4, 0.05)

    # ------------------------------------------------------------------------------ transport
    def port_changed(self, connected: bool, reason: str) -> None:
        """The transport's port came back (set the device up again) or went down."""
        if connected:
            self.needs_setup = True
            self._setup_retry_at = -math.inf
        else:
            self.link_up = False
            self.down_reason = reason
        self.changes.append((connected, reason))

    def take_changes(self) -> list[tuple[bool, str]]:
        """The link changes since the last call, oldest first."""
        changes, self.changes = self.changes, []
        return changes

    # -------------------------------------------------------------------------------- timing
    def quiet(self, now: float) -> bool:
        """True when nothing is due at clock time ``now``: no set-up, no pending change, no keep-alive."""
        return not self.needs_setup and not self.changes and now - self.last_tx < self.keepalive_interval_s

    def setup_due(self, now: float, port_open: bool) -> bool:
        """True when the device should be identified and configured again now."""
        return self.needs_setup and port_open and now >= self._setup_retry_at

    def keepalive_due(self, now: float) -> bool:
        """True when the link is up and nothing was sent for a keep-alive interval."""
        return self.link_up and now - self.last_tx >= self.keepalive_interval_s

    # ---------------------------------------------------------------------------------- set-up
    def connecting(self) -> None:
        """An explicit connect begins: the link is not up until it is configured."""
        self.link_up = False
        self.needs_setup = False

    def configured(self) -> None:
        """The device was identified and configured: the link is up."""
        self.link_up = True
        self.needs_setup = False
        self.heartbeat_misses = 0

    def setup_failed(self, reason: str, now: float, *, retry: bool) -> None:
        """Set-up failed for ``reason``; ``retry`` when trying again later can fix it."""
        self.down_reason = reason
        if retry:
            self.needs_setup = True
            self._setup_retry_at = now + self.setup_backoff_s
        else:
            self.needs_setup = False

    def rebooted(self) -> None:
        """The device rebooted and lost its settings: configure it again at the next poll."""
        self.needs_setup = True

    def closed(self) -> None:
        """The port was closed on purpose."""
        self.link_up = False
        self.needs_setup = False
        self.down_reason = "closed"

    # ------------------------------------------------------------------------------- heartbeat
    def heartbeat_answered(self) -> None:
        """A HEARTBEAT got its reply."""
        self.heartbeat_misses = 0

    def heartbeat_missed(self) -> bool:
        """A HEARTBEAT went unanswered; True when that makes too many in a row (declare the link down)."""
        self.heartbeat_misses += 1
        return self.heartbeat_misses >= HEARTBEAT_MISSES_MAX


__all__ = ["HEARTBEAT_MISSES_MAX", "LinkSupervisor"]
