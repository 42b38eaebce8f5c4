"""Yield against time and temperature, simulated beside the published laboratory results.

``python -m sim_hw.physics.extraction_tables`` prints the tables; ``--write docs/sim/extraction.md``
replaces them between the ``<!-- extraction-tables:begin -->`` and ``<!-- extraction-tables:end -->``
markers. ``tests/sim_hw/test_extraction_tables.py`` fails if the document's tables are stale.
"""

from __future__ import annotations

import sys

from sim_hw.physics import extraction_lab as lab
from sim_hw.physics.doc_sections import section_in, section_main
from sim_hw.physics.thermal import ExtractionChamber, StepInputs

BEGIN, END = "<!-- extraction-tables:begin -->", "<!-- extraction-tables:end -->"
#: Cole et al. (2024): water extracted after 60 min by arrangement of the ice, %.
ONSET_NOTE = "a minimum heating time passes before any water comes out"
COLE_60_MIN = {"permafrost": 92.0, "fine granular": 83.0, "coarse granular": 97.0}
HELD_TEMPS_K = (220.0, 240.0, 260.0, 270.0)
HELD_MINUTES = (15, 30, 60, 120, 240)
ROVER_ICE = (0.01, 0.05, 0.10)
ROVER_POWER_W = (150.0, 300.0, 500.0, 800.0)


def _bar(fraction: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "#" * filled + "." * (width - filled)


def microwave_table() -> list[str]:
    """Cole et al. (2024)'s batch, simulated every 5 min, with the published 60-min results."""
    lines = [
        "| minute | bed temperature, K | water out (simulated) | | published (Cole et al. 2024) |",
        "|---|---|---|---|---|",
    ]
    published = ", ".join(f"{name} {value:g} %" for name, value in COLE_60_MIN.items())
    for p in lab.microwave_batch(every_s=300.0):
        minute = round(p.t_s / 60.0)
        note = published if minute == 60 else (ONSET_NOTE if minute == 10 else "")
        lines.append(f"| {minute} | {p.temp_K:.0f} | {100 * p.released:.1f} % | `{_bar(p.released)}` | {note} |")
    return lines


def held_bed_table() -> list[str]:
    """Fraction released from an unstirred 1.5 cm, 5 wt% bed held at each temperature, by time."""
    seconds = tuple(60.0 * m for m in HELD_MINUTES)
    head = "| bed held at | " + " | ".join(f"{m} min" for m in HELD_MINUTES) + " |"
    lines = [head, "|---|" + "---|" * len(HELD_MINUTES)]
    for T in HELD_TEMPS_K:
        values = lab.held_bed_yield(T, seconds)
        lines.append(f"| {T:.0f} K | " + " | ".join(f"{100 * v:.1f} %" for v in values) + " |")
    return lines


def rover_case(ice: float, watts: float, limit_s: float = 8 * 3600.0) -> tuple[float | None, float]:
    """10 kg at 100 K with ``ice`` water in the stirred rover chamber, sealed, ``watts`` open loop on the
    Moon: (hours to 95 % of the water in the trap or None, heater MJ per kg of water collected then)."""
    chamber = ExtractionChamber(temp_K=250.0)
    chamber.load(10.0, ice, 100.0)
    inputs = StepInputs(heater_W=watts, env_temp_K=250.0, mount_temp_K=250.0, lid_open=0.0)
    target = 0.95 * chamber.water_loaded_kg
    t = 0.0
    while t < limit_s:
        chamber.step(5.0, inputs)
        t += 5.0
        if chamber.batch_water_kg() >= target:
            return t / 3600.0, chamber.energy_per_kg_J() / 1e6
    return None, chamber.energy_per_kg_J() / 1e6


def rover_table() -> list[str]:
    """Hours and energy per kg to 95 % of the water, by ice content and heater power."""
    lines = [
        "| ice | " + " | ".join(f"{w:.0f} W" for w in ROVER_POWER_W) + " |",
        "|---|" + "---|" * len(ROVER_POWER_W),
    ]
    for ice in ROVER_ICE:
        cells = []
        for watts in ROVER_POWER_W:
            hours, mj = rover_case(ice, watts)
            cells.append(f"{hours:.1f} h, {mj:.1f} MJ/kg" if hours is not None else f"> 8 h ({mj:.1f} MJ/kg)")
        lines.append(f"| {100 * ice:.0f} wt% | " + " | ".join(cells) + " |")
    return lines


def render() -> str:
    """The three tables with their captions, between the markers."""
    parts = [
        BEGIN,
        "**Laboratory batch** (section 1.5.4): 40 g LHS-1, 5 wt% water, from 115 K, microwave-heated in vacuum.",
        "",
        *microwave_table(),
        "",
        "**Unstirred bed held at one temperature** (1.5 cm deep, 5 wt%, heated through its dry layer): the",
        "fraction of the water out, by time.",
        "",
        *held_bed_table(),
        "",
        "**The rover's stirred chamber** (section 1.8): 10 kg at 100 K, sealed, open loop on the Moon; time and",
        "heater energy per kg of water to 95 % of the water in the cold trap.",
        "",
        *rover_table(),
        END,
    ]
    return "\n".join(parts)


def tables_in(text: str) -> str:
    """The tables (with their markers) found in a document's ``text``; '' if there are none."""
    return section_in(text, BEGIN, END)


def main(argv: list[str] | None = None) -> int:
    """Print the tables, or write them into a document between their markers."""
    return section_main(
        argv,
        "python -m sim_hw.physics.extraction_tables",
        "document whose tables to replace (docs/sim/extraction.md)",
        render,
        (BEGIN, END),
    )


if __name__ == "__main__":
    sys.exit(main())
