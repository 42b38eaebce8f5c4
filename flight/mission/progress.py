"""The mission's persisted progress: what it has done and where it is, and its JSON form in a snapshot."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class MissionProgress:
    """What the mission has done and where it is; persisted on every transition."""

    cycle: int = 0
    cycles_target: int = 1
    site: int = -1
    probe_index: int = 0
    scores: dict[int, float] = field(default_factory=dict)
    probes: dict[int, dict[str, float]] = field(default_factory=dict)
    tried_sites: list[int] = field(default_factory=list)
    pose: list[float] = field(default_factory=list)
    hole_site: int = -1
    hole_offset: int = 0
    hole_m: float = 0.0
    hole_stalls: int = 0  # drill stalls in the current hole since its last good bite
    stalled_holes: int = 0  # holes in a row ended by stalls without one good bite
    wet_hole: list[float] = field(default_factory=list)  # pose estimate (x m, y m) of the last hole found icy
    bore: list[float] = field(default_factory=list)  # pose estimate (x m, y m) where the last hole was started
    dry_holes: int = 0  # holes in a row at this site whose volatiles reading was far under the probe's
    topped_up_cycle: int = -1  # the cycle whose short batch was topped up from another hole (once a cycle)
    anchor_attempts: int = 0
    water_kg: float = 0.0
    regolith_kg: float = 0.0
    energy_Wh: float = 0.0
    # the batch in the chamber, measured when it is dumped and booked by the transfer (kg, Wh): persisted, so a
    # restart between the two books what was processed, not nothing
    batch_regolith_kg: float = 0.0
    batch_energy_Wh: float = 0.0
    # the tank and cold-trap readings (kg) before the batch's transfer, noted by the dump: a transfer retried or
    # resumed after part of the water moved books from them, not from where it was cut off (-1: not noted)
    batch_tank_kg: float = -1.0
    batch_trap_kg: float = -1.0
    held: str = ""
    parked: str = ""  # the working leaf RECHARGE resumes
    away: bool = False  # the rover left its hole to recharge where the sun is
    visited: list[str] = field(default_factory=lambda: ["idle"])

    def site_probe(self) -> dict[str, float]:
        """What the probe found at the chosen site (empty if it was not probed)."""
        return self.probes.get(self.site, {})


def progress_to_json(progress: MissionProgress) -> dict[str, Any]:
    """``progress`` as JSON-serialisable data (site numbers as string keys)."""
    data = dataclasses.asdict(progress)
    data["scores"] = {str(k): v for k, v in progress.scores.items()}
    data["probes"] = {str(k): v for k, v in progress.probes.items()}
    return data


def progress_from_json(data: Mapping[str, Any]) -> MissionProgress:
    """The progress :func:`progress_to_json` wrote; unknown keys (from another version) are ignored."""
    fields = dict(data)
    fields["scores"] = {int(k): v for k, v in fields.get("scores", {}).items()}
    fields["probes"] = {int(k): v for k, v in fields.get("probes", {}).items()}
    known = {f.name for f in dataclasses.fields(MissionProgress)}
    return MissionProgress(**{k: v for k, v in fields.items() if k in known})
