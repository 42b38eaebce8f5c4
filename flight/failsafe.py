"""What the rover does when the ground link is lost: the link-loss failsafe policy.

``continue`` keeps going (an event only), ``hold`` stops motion where it is and ``safe`` puts the rover in
its safe state; the last two go through the same ``responder(response, reason)`` as fault protection,
within the call to :meth:`LinkFailsafe.link_lost` (so within the tick that noticed the loss). The link's
heartbeat calls :meth:`LinkFailsafe.link_lost` and :meth:`LinkFailsafe.link_restored`.
"""

from __future__ import annotations

import logging
from typing import Any

from flight.commands import ArgSpec, command
from flight.config_fdir import POLICIES
from flight.errors import CommandRejected
from flight.events import EventLog
from flight.fdir import Responder
from flight.telemetry import ChannelSpec

_LOGGER = logging.getLogger(__name__)

SOURCE = "failsafe"


class LinkFailsafe:
    """Applies ``policy`` (``continue``, ``hold`` or ``safe``) once per link loss."""

    def __init__(self, policy: str, responder: Responder, events: EventLog) -> None:
        if policy not in POLICIES:
            raise ValueError(f"link failsafe policy must be one of {list(POLICIES)}, found {policy!r}")
        self.policy = policy
        self.responder = responder
        self.events = events
        self.active = False
        self.losses = 0
        self.reason = ""

    def link_lost(self, reason: str) -> bool:
        """Apply the policy now; returns False if the loss was already being handled."""
        if self.active:
            return False
        self.active = True
        self.losses += 1
        self.reason = reason
        if self.policy == "continue":
            self.events.warning(
                SOURCE, "link_lost", f"ground link lost ({reason}); policy continue: carrying on", policy=self.policy
            )
            return True
        self.events.critical(
            SOURCE, "link_lost", f"ground link lost ({reason}); policy {self.policy}", policy=self.policy
        )
        try:
            self.responder(self.policy, f"link lost: {reason}")
        except Exception as exc:  # the failsafe must report, not crash, whatever the response does
            _LOGGER.exception("link failsafe response %s failed", self.policy)
            self.events.error(SOURCE, "response_failed", f"link failsafe response {self.policy} failed: {exc!r}")
        return True

    def link_restored(self) -> bool:
        """Clear the failsafe (an event); returns False if the link was not lost."""
        if not self.active:
            return False
        self.active = False
        self.events.info(
            SOURCE,
            "failsafe_cleared",
            f"ground link restored; failsafe cleared (policy {self.policy}, lost for: {self.reason})",
            policy=self.policy,
        )
        self.reason = ""
        return True

    @command(
        "failsafe.set_policy",
        "Choose what a lost ground link does: continue, hold or safe.",
        ArgSpec("policy", "str", choices=POLICIES, description="continue, hold or safe"),
    )
    def set_policy(self, policy: str) -> None:
        """Handler of ``failsafe.set_policy`` (applies from the next loss)."""
        if policy not in POLICIES:
            raise CommandRejected("out_of_range", f"policy: expected one of {list(POLICIES)}, found {policy!r}")
        previous, self.policy = self.policy, policy
        self.events.info(SOURCE, "policy", f"link failsafe policy {previous} -> {policy}", policy=policy)

    def telemetry(self) -> dict[str, Any]:
        """Policy, whether a loss is being handled, and the number of losses."""
        return {"failsafe.policy": self.policy, "failsafe.active": self.active, "failsafe.losses": self.losses}

    def channels(self) -> list[ChannelSpec]:
        """Dictionary entries of :meth:`telemetry`."""
        return [
            ChannelSpec("failsafe.policy", unit="enum", description="link-loss policy: continue/hold/safe", type="str"),
            ChannelSpec("failsafe.active", description="true while the ground link is lost", type="bool"),
            ChannelSpec("failsafe.losses", unit="count", description="ground link losses since start", type="int"),
        ]
