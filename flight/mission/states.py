"""The mission's state table: the state tree and the transitions between its leaves.

Leaves are what the machine is ever "in" (``extract_drill``); parents group them (``extract``). The table
is data: :class:`~flight.mission.machine.Mission` runs it and :func:`~flight.mission.diagram.export_diagram`
draws it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

#: The state tree. Leaves are what the machine is ever "in"; parents group them.
STATES: list[Any] = [
    "idle",
    {"name": "prospect", "children": ["drive", "probe", "rank", "travel"]},
    {"name": "anchor", "children": ["deploy", "preload", "verify"]},
    {"name": "extract", "children": ["drill", "scoop"]},
    {"name": "process", "children": ["seal", "heat", "vent", "dump", "transfer"]},
    "stow",
    "recharge",
    "hold",
    "aborting",
    "safe",
]

#: Leaves in which the rover works; before each starts, the mission checks the energy it needs is there.
WORKING = (
    "prospect_drive",
    "prospect_probe",
    "prospect_rank",
    "prospect_travel",
    "anchor_deploy",
    "anchor_preload",
    "anchor_verify",
    "extract_drill",
    "extract_scoop",
    "process_seal",
    "process_heat",
    "process_vent",
    "process_dump",
    "process_transfer",
    "stow",
)
#: Leaves HOLD and ABORT apply to: the working ones and RECHARGE (parked, waiting for charge).
OPERATIONAL = (*WORKING, "recharge")

TOP_LEVEL = ("idle", "prospect", "anchor", "extract", "process", "stow", "recharge", "hold", "aborting", "safe")


def transition_table(
    held_is: Callable[[str], bool] | None = None, parked_is: Callable[[str], bool] | None = None
) -> list[dict[str, Any]]:
    """The machine's transitions. ``held_is(leaf)`` guards ``resume`` back into ``leaf``, ``parked_is(leaf)``
    guards ``charged`` back into ``leaf``."""
    table: list[dict[str, Any]] = [
        {"trigger": "start", "source": "idle", "dest": "prospect_drive", "conditions": "will_prospect"},
        {"trigger": "start", "source": "idle", "dest": "anchor_deploy"},
        {"trigger": "reached", "source": "prospect_drive", "dest": "prospect_probe"},
        {"trigger": "probed", "source": "prospect_probe", "dest": "prospect_drive", "conditions": "more_sites"},
        {"trigger": "probed", "source": "prospect_probe", "dest": "prospect_rank"},
        {"trigger": "ranked", "source": "prospect_rank", "dest": "prospect_travel"},
        {"trigger": "arrived", "source": "prospect_travel", "dest": "anchor_deploy"},
        {"trigger": "deployed", "source": "anchor_deploy", "dest": "anchor_preload"},
        {"trigger": "preloaded", "source": "anchor_preload", "dest": "anchor_verify"},
        {"trigger": "verified", "source": "anchor_verify", "dest": "extract_drill"},
        {"trigger": "retry", "source": "anchor_verify", "dest": "anchor_deploy"},
        {"trigger": "relocate", "source": "anchor_verify", "dest": "prospect_travel"},
        {"trigger": "drilled", "source": "extract_drill", "dest": "extract_scoop"},
        {"trigger": "reanchor", "source": "extract_drill", "dest": "anchor_deploy"},
        {"trigger": "exhausted", "source": "extract_drill", "dest": "prospect_travel"},
        {"trigger": "hopper_full", "source": "extract_scoop", "dest": "process_seal"},
        {"trigger": "exhausted", "source": "extract_scoop", "dest": "prospect_travel"},
        {"trigger": "sealed", "source": "process_seal", "dest": "process_heat"},
        {"trigger": "heated", "source": "process_heat", "dest": "process_vent"},
        {"trigger": "vented", "source": "process_vent", "dest": "process_dump"},
        {"trigger": "dumped", "source": "process_dump", "dest": "process_transfer"},
        {"trigger": "cycle_done", "source": "process_transfer", "dest": "extract_drill", "conditions": "more_cycles"},
        {"trigger": "cycle_done", "source": "process_transfer", "dest": "stow"},
        {"trigger": "stowed", "source": "stow", "dest": "idle"},
        {"trigger": "park", "source": list(WORKING), "dest": "recharge", "before": "remember_parked"},
        {"trigger": "return_to_site", "source": ["recharge", "extract_drill"], "dest": "prospect_travel"},
        {"trigger": "hold", "source": list(OPERATIONAL), "dest": "hold", "before": "remember_held"},
        {"trigger": "abort", "source": [*OPERATIONAL, "hold"], "dest": "aborting"},
        {"trigger": "aborted", "source": "aborting", "dest": "safe"},
        {"trigger": "fault", "source": [s for s in leaves() if s != "safe"], "dest": "safe"},
        {"trigger": "recover", "source": "safe", "dest": "stow", "conditions": "hardware_out"},
        {"trigger": "recover", "source": "safe", "dest": "idle"},
    ]
    for leaf in OPERATIONAL:
        entry: dict[str, Any] = {"trigger": "resume", "source": "hold", "dest": leaf}
        if held_is is not None:
            entry["conditions"] = functools.partial(held_is, leaf)
        table.append(entry)
    for leaf in WORKING:
        entry = {"trigger": "charged", "source": "recharge", "dest": leaf}
        if parked_is is not None:
            entry["conditions"] = functools.partial(parked_is, leaf)
        table.append(entry)
    return table


def leaves() -> list[str]:
    """Every leaf of :data:`STATES`, parents' children named ``<parent>_<child>``."""
    out = []
    for state in STATES:
        if isinstance(state, str):
            out.append(state)
        else:
            out.extend(f"{state['name']}_{child}" for child in state["children"])
    return out
