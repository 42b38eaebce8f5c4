"""docs/sim.md's fault catalogue (section 5) lists every fault an emulator accepts, with every parameter it
declares: a hook added to an emulator without its row, or a parameter renamed in code only, fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hal.icd import DEVICES
from sim_hw.fault_params import LINE_FAULTS, SENSOR_PARAMS
from sim_hw.fault_specs import fault_kinds, fault_params

DOC = Path(__file__).resolve().parents[2] / "docs" / "sim.md"
ROW = re.compile(r"^\| (?P<first>[^|]+?) \| (?P<second>[^|]*?) \|")


def _catalogue() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## 5. Fault catalogue")
    return text[start : text.index("\n## ", start + 1)]


def _rows(section: str) -> list[tuple[str, str]]:
    return [(m["first"].strip(), m["second"]) for m in map(ROW.match, section.splitlines()) if m is not None]


def _device_cells(section: str) -> dict[str, str]:
    cells: dict[str, str] = {}
    for first, second in _rows(section):
        if first in DEVICES:
            cells[first] = cells.get(first, "") + " " + second
    return cells


def _undocumented(section: str) -> list[str]:
    """``device.kind`` or ``device.kind(param)`` for each declared fault or parameter the section omits."""
    cells = _device_cells(section)
    line_rows = " ".join(f"{first} {second}" for first, second in _rows(section) if first not in DEVICES)
    missing = []
    for kind, params in LINE_FAULTS.items():
        for name in (kind, *params):
            if f"`{name}`" not in line_rows:
                missing.append(f"line fault {kind} ({name})")
    for name in SENSOR_PARAMS:
        if f"`{name}`" not in section:
            missing.append(f"sensor symptom parameter {name}")
    for device in DEVICES:
        own = cells.get(device, "")
        for kind in fault_kinds(device):
            if kind in LINE_FAULTS or kind in ("dropout", "stuck", "nan", "noise"):
                continue
            if f"`{kind}`" not in own:
                missing.append(f"{device}.{kind}")
                continue
            missing.extend(f"{device}.{kind}({name})" for name in fault_params(device, kind) if f"`{name}`" not in own)
    return missing


def test_every_declared_fault_and_parameter_is_in_the_catalogue() -> None:
    assert _undocumented(_catalogue()) == []


@pytest.mark.parametrize(
    ("cut", "expected"),
    [("`stuck_flywheel` (`stuck`), ", "hopper.stuck_flywheel"), ("`extra_Nm` > 0", "drill.stall(extra_Nm)")],
)
def test_a_row_cut_from_the_catalogue_is_named(cut: str, expected: str) -> None:
    section = _catalogue()
    assert cut in section
    assert expected in _undocumented(section.replace(cut, ""))
