"""The machine-readable ICD (hal/icd.toml): generated outputs current, the C header right, the definition
hash sensitive to the wire and nothing else, and a driver that refuses a device built from another
definition."""

from __future__ import annotations

import copy
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from hal.devices import open_device
from hal.errors import DefinitionError, DeviceMismatch
from hal.icd import DEFINITION, DEVICES, DRILL, IDENTIFY_LAYOUT
from hal.icd_gen import main as icd_gen_main
from hal.icd_gen import stale_outputs
from hal.icd_header import HEADER_PATH, render_header
from hal.icd_load import DEFINITION_PATH, build_definition
from isru.config import load_config
from sim_hw.devices.drill import DrillFirmware
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld

RAW = tomllib.loads(DEFINITION_PATH.read_text(encoding="utf-8"))


def test_docs_and_c_header_are_generated_from_the_current_definition() -> None:
    stale = stale_outputs()
    assert not stale, f"out of date with hal/icd.toml: {stale}. Run: python -m hal.icd_gen --write"


def test_the_check_fails_and_names_a_stale_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header = tmp_path / "isru_icd.h"
    header.write_text(render_header().replace("ICD_HASH_DRILL", "ICD_HASH_DRILL_OLD"), encoding="utf-8")
    doc = tmp_path / "icd.md"
    doc.write_text(Path("docs/icd.md").read_text(encoding="utf-8").replace("`0x", "`0y", 1), encoding="utf-8")
    assert icd_gen_main(["--check", "--doc", str(doc), "--header", str(header)]) == 1
    out = capsys.readouterr().out
    assert str(header) in out and "python -m hal.icd_gen --write" in out
    assert icd_gen_main(["--write", "--doc", str(doc), "--header", str(header)]) == 0
    assert icd_gen_main(["--check", "--doc", str(doc), "--header", str(header)]) == 0


def test_the_c_header_compiles_and_its_structs_match_the_layouts(tmp_path: Path) -> None:
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        pytest.skip("no C compiler on this machine to build the ICD's C header")
    checks = [f'_Static_assert(sizeof(icd_identify_t) == {IDENTIFY_LAYOUT.size}, "identify");']
    for spec in DEVICES.values():
        checks.append(
            f'_Static_assert(sizeof(icd_{spec.name}_telemetry_t) == {spec.telemetry_layout.size}, "{spec.name}");'
        )
        checks.append(f'_Static_assert(ICD_HASH_{spec.name.upper()} == 0x{spec.icd_hash:08X}u, "hash");')
        for command in spec.commands:
            if command.args:
                size = command.args_layout.size
                checks.append(f'_Static_assert(sizeof(icd_{spec.name}_{command.name}_args_t) == {size}, "args");')
    source = tmp_path / "check.c"
    source.write_text(f'#include "{HEADER_PATH}"\n' + "\n".join(checks) + "\nint main(void) { return 0; }\n")
    subprocess.run(
        [compiler, "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", str(tmp_path / "check"), str(source)],
        check=True,
        capture_output=True,
        timeout=60,
    )


def _hash_of(raw: dict, device: str = "drill") -> int:
    return next(d for d in build_definition(raw).devices if d.name == device).icd_hash


def test_the_hash_follows_the_wire_and_not_the_wording() -> None:
    assert _hash_of(RAW) == DRILL.icd_hash
    reworded = copy.deepcopy(RAW)
    reworded["devices"][0]["commands"][0]["doc"] = "Turn the auger."
    reworded["devices"][0]["commands"][1]["duration"] = "a while"
    assert _hash_of(reworded) == DRILL.icd_hash
    wider = copy.deepcopy(RAW)
    wider["devices"][0]["commands"][0]["args"][0]["max"] = 700
    assert _hash_of(wider) != DRILL.icd_hash
    reordered = copy.deepcopy(RAW)
    checks = reordered["devices"][0]["commands"][1]["preconditions"]
    checks[0], checks[1] = checks[1], checks[0]  # BUSY before BAD_STATE: another precedence
    assert _hash_of(reordered) != DRILL.icd_hash
    # another device's change leaves the drill's hash alone
    other = copy.deepcopy(RAW)
    other["devices"][1]["telemetry"].append({"name": "extra", "type": "f32", "doc": "x"})
    assert _hash_of(other) == DRILL.icd_hash and _hash_of(other, "scoop") != DEVICES["scoop"].icd_hash


def test_adding_a_device_is_adding_an_entry() -> None:
    raw = copy.deepcopy(RAW)
    raw["devices"].append(
        {
            "name": "lander",
            "address": 0x09,
            "doc": "A second hopper.",
            "modes": ["idle", "hopping"],
            "faults": ["tilt", "deadman"],
            "telemetry": [{"name": "height_m", "type": "f32", "unit": "m", "doc": "height"}],
            "commands": [
                {
                    "id": 0x10,
                    "name": "hop",
                    "doc": "Hop.",
                    "motion": True,
                    "fault_gate": "always",
                    "args": [{"name": "impulse_Ns", "type": "f32", "min": 0.0, "max": 5.0, "doc": "impulse"}],
                    "timeout_s": "2 * impulse_Ns + 5",
                }
            ],
        }
    )
    hopper = next(d for d in build_definition(raw).devices if d.name == "lander")
    assert hopper.command("hop").timeout({"impulse_Ns": 1.0}) == 7.0
    assert hopper.command("ack_event").id == 0x08  # the common commands come with it
    assert hopper.icd_hash not in {d.icd_hash for d in DEFINITION.devices}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["devices"][0]["commands"][1].update(timeout_s="__import__('os')"), "is not allowed"),
        (lambda d: d["devices"][0]["commands"][1].update(fault_gate="sometimes"), "fault_gate 'sometimes'"),
        (lambda d: d["devices"][0]["commands"][2].update(accepted_faults=["jam"]), "accepted_faults ['jam']"),
        (lambda d: d["devices"][1].update(address=0x01), "must be unique"),
        (lambda d: d["devices"][0]["telemetry"][0].update(type="f64"), "type 'f64'"),
    ],
)
def test_a_broken_definition_is_refused_with_what_is_wrong(change, message: str) -> None:  # type: ignore[no-untyped-def]
    raw = copy.deepcopy(RAW)
    change(raw)
    with pytest.raises(DefinitionError, match=message.replace("[", r"\[").replace("(", r"\(")):
        build_definition(raw)


class OtherDefinitionDrill(DrillFirmware):
    """A drill built from another definition: it reports another hash."""

    def _identify_payload(self) -> bytes:
        return super()._identify_payload()[:-4] + (0x0BADF00D).to_bytes(4, "little")


@pytest.fixture
def world() -> Iterator[SimWorld]:
    try:
        yield install_world(SimWorld(VirtualClock(), seed=5, devices=("drill",)))
    finally:
        uninstall_world()


def test_the_driver_refuses_a_device_built_from_another_definition(world: SimWorld) -> None:
    world.add_device("drill", OtherDefinitionDrill(world, serial_number=9, seed=5))
    config = load_config()
    with pytest.raises(DeviceMismatch) as caught:
        open_device("drill", config.devices["drill"], config.transport, world.clock, connect=True)
    text = str(caught.value)
    assert "0x0BADF00D" in text and f"0x{DRILL.icd_hash:08X}" in text and "another ICD definition" in text


def test_the_driver_connects_to_a_device_of_its_own_definition(world: SimWorld) -> None:
    config = load_config()
    drill = open_device("drill", config.devices["drill"], config.transport, world.clock, connect=True)
    try:
        assert drill.identity is not None and drill.identity.icd_hash == DRILL.icd_hash
    finally:
        drill.close()
