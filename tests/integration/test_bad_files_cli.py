"""Damaged configuration and sequence files stop a command with the project's error, never a traceback:
the file, line and what was expected on stderr, exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from base.clock import VirtualClock
from flight.store import FlightStore
from isru.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'[flight]\nname = "caf\xe9"\n', ":2:12: expected UTF-8 text, found byte 0xe9"),
        (b"[flight]\nname = \n", ":2:8: expected valid TOML"),
    ],
)
def test_isru_flight_with_a_damaged_config_exits_2_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected: str
) -> None:
    path = tmp_path / "rover.toml"
    path.write_bytes(content)
    assert main(["flight", "--config", str(path), "--insecure", "--duration", "0.1"]) == 2
    err = capsys.readouterr().err
    assert f"isru flight: {path}{expected}" in err


def test_isru_flight_with_a_damaged_sequence_file_exits_2_without_a_traceback(tmp_path: Path) -> None:
    sequences = tmp_path / "seq"
    sequences.mkdir()
    (sequences / "bad.toml").write_bytes(b'name = "bad"\n# caf\xe9\n[[steps]]\ncommand = "x"\n')
    config = tmp_path / "rover.toml"
    config.write_text(f'[flight]\nsequences = "{sequences}"\n', encoding="utf-8")
    command = [sys.executable, "-m", "isru.cli", "flight", "--config", str(config), "--insecure", "--duration", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"{sequences / 'bad.toml'}:2:6: expected UTF-8 text" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ('device = "power"\nkind = "low_battery"\nparams = { soc = -1.0 }', "power.low_battery: soc=-1.0"),
        ('device = "hopper"\nkind = "failed_hop"', "this configuration has no hopper; its devices are ['anchor'"),
    ],
)
def test_a_configured_fault_the_devices_cannot_take_is_refused_at_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fault: str, expected: str
) -> None:
    path = tmp_path / "rover.toml"
    moon = (ROOT / "configs" / "sim.toml").read_text(encoding="utf-8")
    path.write_text(f"{moon}\n[[sim.faults]]\nat_s = 60.0\n{fault}\n", encoding="utf-8")
    assert main(["demo", "--headless", "--config", str(path)]) == 2
    captured = capsys.readouterr()
    assert f"isru demo: {path}: sim.faults[0]: expected a fault the configured devices take" in captured.err
    assert expected in captured.err and captured.out == ""


def test_isru_sim_refuses_a_fault_on_a_device_its_devices_option_leaves_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sim-only.toml"
    path.write_text(
        '[sim]\nbody = "moon"\n\n[[sim.faults]]\nat_s = 10.0\ndevice = "drive"\nkind = "wheel_stall"\n'
        'params = { side = "left" }\n',
        encoding="utf-8",
    )
    assert main(["sim", "--pty", "--config", str(path), "--devices", "drill,anchor"]) == 2
    err = capsys.readouterr().err
    assert "isru sim: sim.faults[0] (drive.wheel_stall) is for a device --devices leaves out" in err
    assert "['anchor', 'drill']" in err


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    store = tmp_path / "flight.sqlite"
    FlightStore(store, VirtualClock()).close()
    read, write = os.pipe()
    os.close(read)  # `isru store show ... | head` once head has exited
    try:
        done = subprocess.run(
            [sys.executable, "-m", "isru.cli", "store", "show", str(store), "--json"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    finally:
        os.close(write)
    assert done.returncode == 141 and "Traceback" not in done.stderr, done.stderr
