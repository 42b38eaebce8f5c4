"""The simulator's validation table: published cases, their sources' bands and what the models give.

``python -m sim_hw.physics.validation`` prints the table; ``--write docs/sim.md`` replaces the table between
the ``<!-- validation:begin -->`` and ``<!-- validation:end -->`` markers. ``tests/sim_hw/test_validation.py``
fails if the table in the document is stale or a row is out of its band.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass

from sim_hw import regolith_thermal as rt
from sim_hw.physics import drilling_lab as drill
from sim_hw.physics import extraction_lab as lab
from sim_hw.physics.doc_sections import section_in, section_main

BEGIN, END = "<!-- validation:begin -->", "<!-- validation:end -->"
HAYNE = "Hayne et al. 2017, JGR Planets 122, table A2"
COLE = "Cole et al. 2024, Planet. Space Sci. 106011 (83-97 %)"
HIBBITTS = "Hibbitts et al. 2011, Icarus 213 (TPD of JSC-1A, 180 to ~400 K)"
KING = "King et al. 2015, GCA 165 (CI phyllosilicates, 400-770 C)"
ZACNY = "Zacny et al. 2013, Astrobiology 13 (Icebreaker, ice-cemented ground: ~1 m/h, < 100 N, ~100 W)"
#: Mare sites (Apollo 15 and 17): normal Bond albedo 0.06 with the highland model's other parameters.
_MARE = dataclasses.replace(rt.MOON, albedo=0.06)


@dataclass(frozen=True)
class Case:
    """One validation row: published ``value`` ± ``band`` in ``unit``, and how to simulate it."""

    name: str
    value: float
    band: float
    unit: str
    source: str
    simulate: Callable[[], float]


def _equator() -> rt.Solution:
    return rt.solve(rt.Drivers(0.0))


def _mare(lat_deg: float) -> rt.Solution:
    return rt.solve(rt.Drivers(math.radians(lat_deg), params=_MARE))


@functools.cache
def _microwave_60_min() -> float:
    return lab.microwave_batch(lab.COLE_TIME_S)[-1].released * 100.0


@functools.cache
def _tpd() -> tuple[float, ...]:
    return tuple(lab.tpd_adsorbed((0.01, 0.99)))


@functools.cache
def _tga_C() -> tuple[float, ...]:
    return tuple(T - 273.15 for T in lab.tga_hydrated((0.1, 0.9)))


@functools.cache
def _icy_drilling() -> drill.Loads:
    return drill.drill_at(drill.icy_column(0.06), drill.PUBLISHED_RATE_M_S, hammer=True)


CASES: tuple[Case, ...] = (
    Case("equator, peak noon surface", 385.0, 5.0, "K", HAYNE, lambda: float(_equator().surface_K.max())),
    Case("equator, midnight surface", 101.0, 5.0, "K", HAYNE, lambda: _equator().at(0.0, 12.0)),
    Case("equator, coldest night surface", 95.0, 5.0, "K", HAYNE, lambda: float(_equator().surface_K.min())),
    Case("Apollo 15 (26 N), mean surface", 211.0, 5.0, "K", HAYNE, lambda: float(_mare(26.0).surface_K.mean())),
    Case("Apollo 15 (26 N), mean at 0.83 m", 252.0, 5.0, "K", HAYNE, lambda: _mare(26.0).mean_K(0.83)),
    Case("Apollo 17 (20 N), mean surface", 216.0, 5.0, "K", HAYNE, lambda: float(_mare(20.0).surface_K.mean())),
    Case("Apollo 17 (20 N), mean at 0.13 m", 256.0, 5.0, "K", HAYNE, lambda: _mare(20.0).mean_K(0.13)),
    Case("6 wt% icy, 60 K, 1 m/h percussive: weight on bit", 50.0, 50.0, "N", ZACNY, lambda: _icy_drilling().wob_N),
    Case("6 wt% icy, 60 K, 1 m/h percussive: power", 100.0, 50.0, "W", ZACNY, lambda: _icy_drilling().power_W),
    Case(
        "6 wt% icy, 60 K: penetration under 100 N",
        1.25,
        0.75,
        "m/h",
        ZACNY,
        lambda: 3600.0 * drill.rate_under_wob_m_s(drill.icy_column(0.06), 100.0),
    ),
    Case("40 g LHS-1, 5 wt%, 60 min microwave: water out", 90.0, 7.0, "%", COLE, _microwave_60_min),
    Case("adsorbed water, TPD 1 K/s: 1 % desorbed at", 180.0, 15.0, "K", HIBBITTS, lambda: _tpd()[0]),
    Case("adsorbed water, TPD 1 K/s: 99 % desorbed at", 400.0, 25.0, "K", HIBBITTS, lambda: _tpd()[1]),
    Case("CI hydrated minerals, TGA 10 K/min: 10 % out at", 585.0, 185.0, "C", KING, lambda: _tga_C()[0]),
    Case("CI hydrated minerals, TGA 10 K/min: 90 % out at", 585.0, 185.0, "C", KING, lambda: _tga_C()[1]),
)


def rows() -> list[tuple[Case, float, bool]]:
    """Every case with its simulated value and whether it is within the source's band."""
    out = []
    for case in CASES:
        simulated = case.simulate()
        out.append((case, simulated, abs(simulated - case.value) <= case.band))
    return out


def render() -> str:
    """The Markdown table (between its markers)."""
    lines = [
        BEGIN,
        "| case | published | source | simulated | within band |",
        "|---|---|---|---|---|",
    ]
    for case, simulated, ok in rows():
        lines.append(
            f"| {case.name} | {case.value:g} ± {case.band:g} {case.unit} | {case.source} | "
            f"{simulated:.1f} {case.unit} | {'yes' if ok else 'NO'} |"
        )
    lines.append(END)
    return "\n".join(lines)


def table_in(text: str) -> str:
    """The table (with its markers) found in a document's ``text``; '' if there is none."""
    return section_in(text, BEGIN, END)


def main(argv: list[str] | None = None) -> int:
    """Print the table, or write it into a document between its markers."""
    return section_main(
        argv,
        "python -m sim_hw.physics.validation",
        "document whose table to replace (e.g. docs/sim.md)",
        render,
        (BEGIN, END),
    )


if __name__ == "__main__":
    sys.exit(main())
