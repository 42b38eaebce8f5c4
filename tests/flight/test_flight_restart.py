"""``kill -9`` of the flight process in the middle of an extraction, then a restart.

``isru flight --config X`` runs as a real process: the simulated rover in-process on a scaled clock, a
flight store on disk, the ground link secured with a key directory. The test starts the mission over that
link (with the link-loss policy set to carry on, since the test stops listening), waits (reading the store
the way an operator would, while flight runs) until a cycle has been recorded in the ledger and the next
extraction is under way, kills the process with SIGKILL, and starts it again. The restarted flight must
make the hardware safe before anything else, come back in HOLD at the step it was killed in
(``restart_policy = "hold"``), and still have every ledger entry that was recorded before the kill.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from base.clock import RealClock
from flight.store import FlightStore
from ground.client import LinkClient
from hal.icd import DEVICES
from isru.cli import main
from isru.config import derived_config_text

#: Clock seconds per wall second of the flight process.
WARP = 10.0
#: Wall seconds to wait for the mission to reach a recorded cycle and the next extraction.
REACH_WALL_S = 120.0


def write_config(tmp_path: Path) -> Path:
    """A simulated rover with a short mission, its store and parameters in ``tmp_path``."""
    overrides: dict[str, Any] = {
        "clock": {"mode": "scaled", "warp": WARP},
        "flight": {
            "store": str(tmp_path / "flight.sqlite"),
            "params": str(tmp_path / "params.json"),
            # a lighter loop so the scaled clock is kept up with on a busy machine
            "rates": {"control_hz": 20.0, "telemetry_hz": 5.0},
        },
        # the spool (with the link counters) kept with the test, not in $ISRU_HOME
        "link": {"spool": str(tmp_path / "spool.sqlite")},
        # the devices' dead-man must not trip while the loop is late on a loaded test machine
        "devices": {name: {"deadman_s": 30.0} for name in DEVICES if name != "hopper"},  # the lunar rover's
        "mission": {
            "prospect": False,
            "cycles": 3,
            "drill_depth_m": 0.05,
            "feed_rate_m_s": 0.005,
            "hopper_target_kg": 0.2,
            "heat_min_s": 0.0,
            "heat_max_s": 60.0,
            "vent_s": 5.0,
            "restart_policy": "hold",
        },
    }
    path = tmp_path / "flight.toml"
    path.write_text(derived_config_text(overrides))
    return path


def start_flight(config: Path, keys: Path, log: Path, *extra: str) -> subprocess.Popen[str]:
    """``isru -v flight`` with its log (stderr) going to file ``log``: a pipe nobody reads would fill up and
    block the process."""
    with log.open("w") as stderr:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "isru.cli",
                "-v",
                "flight",
                "--config",
                str(config),
                "--keys",
                str(keys),
                "--endpoint",
                "tcp://127.0.0.1:0",
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )


def read_store(path: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The mission snapshot and the ledger, as a reader beside the running flight sees them."""
    with FlightStore(path, RealClock(), read_only=True) as store:
        return store.load_state(), [entry.as_dict() for entry in store.ledger()]


@pytest.mark.timeout(300)
def test_kill_9_mid_extraction_then_restart_is_safe_first_holds_and_keeps_the_ledger(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert main(["keys", "init", str(keys)]) == 0
    config = write_config(tmp_path)
    store_path = tmp_path / "flight.sqlite"

    first = start_flight(config, keys, tmp_path / "first.log")
    client = None
    try:
        line = first.stdout.readline()
        match = re.search(r"ground link on (tcp://127\.0\.0\.1:\d+)$", line.strip())
        assert match, (line, (tmp_path / "first.log").read_text()[-3000:])
        client = LinkClient(match.group(1), RealClock(), keys_dir=keys)
        statuses: list[dict] = []
        client.on_command_status(statuses.append)
        # The operator's link comes and goes (this test stops listening once the mission runs): carry on.
        for name, args in (("failsafe.set_policy", {"policy": "continue"}), ("mission.start", {"cycles": 3})):
            command_id = client.send_command(name, args)
            end = time.perf_counter() + 30
            while not any(s["id"] == command_id and s["stage"] == "completed" for s in statuses):
                assert time.perf_counter() < end, statuses
                client.poll(0.05)
        client.close()
        client = None

        # Wait until a cycle is in the ledger and the next cycle's extraction is running.
        end = time.perf_counter() + REACH_WALL_S
        state, ledger = None, []
        while True:
            assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            state, ledger = read_store(store_path)
            if state and state["state"].startswith("extract") and ledger:
                break
            assert time.perf_counter() < end, f"never reached a second extraction: {state}, ledger {ledger}"
            time.sleep(0.2)
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=20) == -signal.SIGKILL
    finally:
        if client is not None:
            client.close()
        if first.poll() is None:
            first.kill()
            first.wait(timeout=10)
        first.stdout.close()
    killed_in = state["state"]
    saved_state, saved_ledger = read_store(store_path)
    assert saved_ledger[: len(ledger)] == ledger  # what was seen before the kill is on disk
    assert saved_state["state"] == killed_in and killed_in.startswith("extract"), (killed_in, saved_state)

    # Restart: 5 s of clock time, then an orderly stop.
    second = start_flight(config, keys, tmp_path / "second.log", "--duration", "5")
    try:
        out, _ = second.communicate(timeout=120)
    finally:
        if second.poll() is None:
            second.kill()
            second.wait(timeout=10)
    err = (tmp_path / "second.log").read_text()
    assert second.returncode == 0, err[-3000:]
    held_in = saved_state["state"]
    assert "mission hold" in out, out

    # The log, in order: devices connected, hardware made safe, mission held -- and no mission activity
    # (no transition, no device motion) before the hardware was made safe.
    events = [line.split("flight.events: ", 1)[1] for line in err.splitlines() if "flight.events: " in line]
    restored = next(i for i, e in enumerate(events) if e.startswith("[mission] restored:"))
    assert f"hardware made safe, holding in {held_in}" in events[restored]
    connected = [i for i, e in enumerate(events) if e.startswith("[rig] connected:")]
    assert len(connected) == len(DEVICES) - 1 and max(connected) < restored  # every device but the hopper
    assert not [e for e in events[:restored] if e.startswith("[mission] transition")]
    moving = tuple(f"[{device}] mode_change" for device in ("drill", "scoop", "extractor", "anchor", "drive"))
    assert not [e for e in events[:restored] if e.startswith(moving)]
    assert not [e for e in events if "stop_failed" in e or "heater_off_failed" in e]

    after_state, after_ledger = read_store(store_path)
    assert after_state["state"] == "hold" and after_state["progress"]["held"] == held_in
    assert after_state["progress"]["cycle"] == saved_state["progress"]["cycle"] >= 1
    assert after_ledger == saved_ledger  # nothing lost, nothing added while held
    assert {e["id"] for e in ledger} <= {e["id"] for e in after_ledger}
