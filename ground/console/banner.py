"""The conditions an operator must never miss, shown as a banner across the top of every view: the
mission in SAFE, the emergency stop latched, and loss of signal (the values on screen are then the last
received, greyed, and the round-trip time is unknown).

:func:`conditions` decides from the latest values and the link status alone (no page code), so tests and
every view agree on what is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Channels the banner reads.
STATE_CHANNEL, TOP_STATE_CHANNEL, ESTOP_CHANNEL = "mission.state", "mission.top_state", "interlocks.estop"
#: Link states in which values still arrive.
LIVE_LINK_STATES = ("acquired",)
#: Banner colours (Tailwind) by kind.
KIND_CLASSES = {
    "safe": "bg-red-700 text-white",
    "estop": "bg-red-900 text-white",
    "los": "bg-amber-400 text-black",
}


@dataclass(frozen=True)
class Condition:
    """One banner line: ``kind`` (safe, estop, los) and what it says."""

    kind: str
    text: str


def link_down(link: Any) -> bool:
    """True when a link exists and values are not arriving (connecting, or loss of signal)."""
    return link is not None and getattr(link, "state", "") not in LIVE_LINK_STATES


def conditions(latest: dict[str, tuple[Any, float]], link: Any) -> list[Condition]:
    """The banner lines for channel values ``latest`` (name → (value, t)) and the link status ``link``
    (None: an archive-only console, which shows no link banner), most severe first."""
    found = []
    if bool(latest.get(ESTOP_CHANNEL, (False, 0.0))[0]):
        found.append(Condition("estop", "E-STOP LATCHED: actuator buses off; send estop.reset once safe"))
    state = latest.get(STATE_CHANNEL, (None, 0.0))[0]
    top = latest.get(TOP_STATE_CHANNEL, (None, 0.0))[0]
    if "safe" in (state, top):
        found.append(Condition("safe", "SAFE: the mission stopped itself; read the events, then mission.recover"))
    if link_down(link):
        what = "LOSS OF SIGNAL" if getattr(link, "state", "") == "los" else "NO SIGNAL YET"
        found.append(Condition("los", f"{what}: values shown are the last received (greyed); RTT unknown"))
    return found
