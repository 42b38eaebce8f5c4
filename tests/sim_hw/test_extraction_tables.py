"""The yield tables in docs/sim/extraction.md are generated from the models and current."""

from __future__ import annotations

from pathlib import Path

from sim_hw.physics.extraction_tables import render, tables_in

DOC = Path(__file__).resolve().parents[2] / "docs" / "sim" / "extraction.md"


def test_the_tables_in_docs_sim_extraction_md_are_current() -> None:
    assert tables_in(DOC.read_text(encoding="utf-8")) == render(), (
        "docs/sim/extraction.md's yield tables are stale: "
        "run python -m sim_hw.physics.extraction_tables --write docs/sim/extraction.md"
    )
