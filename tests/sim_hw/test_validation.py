"""The validation table in docs/sim.md: generated from the models, every row within its source's band."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim_hw import regolith_thermal as rt
from sim_hw.physics.validation import render, rows, table_in

DOC = Path(__file__).resolve().parents[2] / "docs" / "sim.md"


def test_every_case_is_within_its_sources_band() -> None:
    for case, simulated, ok in rows():
        assert ok, f"{case.name}: simulated {simulated:.1f} {case.unit}, published {case.value} ± {case.band}"


def test_the_table_in_docs_sim_md_is_current() -> None:
    assert table_in(DOC.read_text(encoding="utf-8")) == render(), (
        "docs/sim.md's validation table is stale: run python -m sim_hw.physics.validation --write docs/sim.md"
    )


def test_permanent_shadow_holds_the_floor_temperature_and_heat_flow_sets_the_deep_gradient() -> None:
    floor = 45.0
    secondary = rt.MOON.emissivity * rt.SIGMA_SB * floor**4 - rt.MOON.Q
    solution = rt.solve(rt.Drivers(-1.56, shadow_factor=0.0, secondary_W_m2=secondary), steps_per_day=4, days=2)
    assert float(solution.surface_K.max() - solution.surface_K.min()) < 0.5
    assert float(solution.surface_K.mean()) == pytest.approx(floor, abs=1.5)
    gradient = solution.mean_K(2.0) - solution.mean_K(1.0)
    assert gradient == pytest.approx(rt.MOON.Q / rt.MOON.k_d, rel=0.1)  # ~5 K/m through k_d
