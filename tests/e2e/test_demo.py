"""``isru demo``: the command a newcomer runs first.

Live: flight, the archiving ground station and (here without it) the console as separate processes over
the CURVE-secured link. Headless: N cycles on a virtual clock, one JSON summary, the same for the same seed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ISRU = [sys.executable, "-m", "isru.cli"]


def test_help_documents_the_options() -> None:
    result = subprocess.run([*ISRU, "demo", "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    for option in ("--headless", "--cycles", "--json", "--seed", "--warp", "--inject", "--no-console"):
        assert option in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--inject", "drill"], "DEVICE.KIND"),
        (["--inject", "drill.stall@soon"], "not a number"),
        (["--inject", "nodevice.stall", "--headless"], "nodevice"),
        (["--headless", "--cycles", "0"], "--cycles"),
        (["--inject", "drill.stal"], "expected one of"),
        (["--inject", "drill.corrupt:rate=2"], "0..1"),
        (["--inject", "extractor.nan:field=temp"], "chamber_temp_K"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(args: list[str], expected: str) -> None:
    result = subprocess.run([*ISRU, "demo", *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert expected in result.stderr


def test_live_demo_runs_flight_and_ground_over_the_secured_link(tmp_path: Path) -> None:
    env = {**os.environ, "ISRU_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}
    demo = subprocess.Popen(
        [*ISRU, "demo", "--no-console", "--warp", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    started = threading.Event()

    def read() -> None:
        assert demo.stdout is not None
        for line in demo.stdout:
            lines.append(line)
            if "mission: idle →" in line:
                started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert started.wait(90), "".join(lines)
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
        reader.join(timeout=10)
    text = "".join(lines)
    assert demo.returncode == 0, text
    assert "(CURVE, keys in" in text and "link acquired" in text
    keys = tmp_path / "home" / "keys"
    assert (keys / "server.key_secret").stat().st_mode & 0o077 == 0
    assert (tmp_path / "home" / "demo" / "archive.sqlite").stat().st_size > 0
    assert "cycle(s)" in text.splitlines()[-1]


#: A short cycle (no prospecting, one drill bite, short heating) so the CLI runs twice in test time;
#: the full default cycle is measured by `python -m bench` (cycle_speedup_x).
SHORT_CYCLE = {
    "mission": {"prospect": False, "heat_min_s": 120.0, "heat_max_s": 300.0, "hopper_target_kg": 1.0, "vent_s": 10.0}
}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_headless_summary_is_the_same_for_the_same_seed(tmp_path: Path) -> None:
    from isru.config import derived_config_text

    config = tmp_path / "short.toml"
    config.write_text(derived_config_text(SHORT_CYCLE))
    command = [*ISRU, "demo", "--headless", "--cycles", "1", "--json", "--seed", "7", "--config", str(config)]
    runs = [subprocess.run(command, capture_output=True, text=True, timeout=280) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
    first, second = (json.loads(run.stdout) for run in runs)
    keys = ("cycles_completed", "water_kg", "regolith_kg", "energy_Wh", "states", "events", "faults", "sim_seconds")
    assert set(keys) <= set(first)
    assert first["cycles_completed"] == 1 and first["regolith_kg"] > 0.5
    assert {"anchor", "extract", "process"} <= set(first["states"])
    (cycle,) = first["cycles"]
    assert cycle["cycle"] == 1 and cycle["water_kg"] == first["water_kg"]
    assert cycle["energy_used_Wh"] > cycle["heater_Wh"] > 0.0 and 0.0 < cycle["min_soc"] <= 1.0
    assert cycle["time_s"]["working"] > 0.0 and set(cycle["time_s"]) == {"working", "recharging", "hibernating", "held"}
    first.pop("wall_seconds"), second.pop("wall_seconds")
    assert first == second
