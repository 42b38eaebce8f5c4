"""``isru demo``: the command a newcomer runs first.

Live: flight as its own process and the demo as the ground hub (archive and console in one process) over
the CURVE-secured link on the configured endpoint, started clean each run. Headless: N cycles on a virtual
clock, one JSON summary, the same for the same seed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ISRU = [sys.executable, "-m", "isru.cli"]


def _echo_until(demo: subprocess.Popen[str], marker: str) -> tuple[list[str], threading.Event, threading.Thread]:
    """Collect ``demo``'s output lines in a thread (returned, to join); the event is set once a line contains
    ``marker``."""
    lines: list[str] = []
    started = threading.Event()

    def read() -> None:
        assert demo.stdout is not None
        for line in demo.stdout:
            lines.append(line)
            if marker in line:
                started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, started, reader


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
        (["--headless", "--max-sim-hours", "0"], "--max-sim-hours must be > 0"),
        (["--inject", "drill.stal"], "expected one of"),
        (["--inject", "drill.corrupt:rate=2"], "0..1"),
        (["--inject", "extractor.nan:field=temp"], "chamber_temp_K"),
        (["--headless", "--max-sim-hours", "0.01", "--seed", "-3"], "--seed must be an integer in 0..2147483647"),
        (
            ["--headless", "--max-sim-hours", "0.01", "--seed", "2147483648"],
            "(the range of sim.seed), found 2147483648",
        ),
        (["--headless", "--max-sim-hours", "0.01", "--cycles", "10001"], "--cycles must be an integer in 1..10000"),
        (["--headless", "--max-sim-hours", "0.01", "--warp", "0"], "--warp must be a clock rate in 0.001..100000"),
        (["--headless", "--max-sim-hours", "0.01", "--warp", "nan"], "(the range of clock.warp), found nan"),
        (
            ["--headless", "--max-sim-hours", "nan"],
            "--max-sim-hours must be > 0 and finite (simulated hours), found nan",
        ),
        (["--headless", "--max-sim-hours", "0.01", "--port", "0"], "--port must be a port in 1..65535"),
        (
            ["--headless", "--inject", "power.low_battery:soc=-1"],
            "fault 'power.low_battery:soc=-1': power.low_battery: soc=-1.0; expected a finite number in 0..1",
        ),
        (
            ["--headless", "--inject", "drive.wheel_stall:side=up"],
            "drive.wheel_stall: side='up'; expected one of ['left', 'right', 'both']",
        ),
        (["--headless", "--inject", "drill.overtemp:kelvin=nan"], "drill.overtemp: kelvin=nan; expected a finite"),
        (
            ["--headless", "--inject", "hopper.failed_hop@10"],  # the Moon configuration fits no hopper
            "fault 'hopper.failed_hop@10': this configuration has no hopper; its devices are ['anchor', 'drill'",
        ),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(args: list[str], expected: str) -> None:
    result = subprocess.run([*ISRU, "demo", *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert expected in result.stderr
    assert result.stdout == "" and "flight" not in result.stderr  # refused before anything ran


def test_a_live_demo_refuses_an_out_of_range_seed_before_starting_anything(tmp_path: Path) -> None:
    env = {**os.environ, "ISRU_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [*ISRU, "demo", "--no-console", "--seed", "-3"], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "isru demo: --seed must be an integer in 0..2147483647 (the range of sim.seed), found -3" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "home").exists()  # refused before any key, store or process was made


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_live_demo(home: Path, config: Path) -> str:
    """Run ``isru demo`` (with its console) until the first cycle starts, then SIGTERM it; returns its output."""
    env = {**os.environ, "ISRU_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env = {k: v for k, v in env.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}  # NiceGUI's test mode
    demo = subprocess.Popen(
        [*ISRU, "demo", "--warp", "2", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines, started, reader = _echo_until(demo, "mission: idle →")
    try:
        assert started.wait(90), "".join(lines)
        console = next(line for line in lines if "console at" in line).split("console at ")[1].split(" ")[0]
        assert _redirect_of(console + "/").startswith("/login")  # a page without a login goes to the login page
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
        reader.join(timeout=10)
    text = "".join(lines)
    assert demo.returncode == 0, text
    return text


def _redirect_of(url: str, timeout_s: float = 30.0) -> str:
    """Where ``url`` redirects to, once the server answers (it starts just after the first cycle may)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.build_opener(_NoRedirect).open(url, timeout=10).close()
        except urllib.error.HTTPError as exc:
            exc.close()
            assert exc.code == 303, exc.code
            return str(exc.headers["location"])
        except urllib.error.URLError:
            assert time.monotonic() < deadline, f"{url} did not answer within {timeout_s} s"
            time.sleep(0.2)
            continue
        raise AssertionError(f"{url} answered without a login")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


def test_live_demo_is_the_hub_on_the_configured_endpoint_and_starts_clean_twice(tmp_path: Path) -> None:
    from isru.config import derived_config_text

    endpoint = f"tcp://127.0.0.1:{_free_port()}"
    config = tmp_path / "demo.toml"
    config.write_text(derived_config_text({"link": {"endpoint": endpoint}, "ground": {"console_port": _free_port()}}))
    home = tmp_path / "home"
    first = _run_live_demo(home, config)
    assert f"link {endpoint} (CURVE, keys in" in first and "link acquired" in first
    assert "log in as demo with password " in first
    keys = home / "keys"
    assert (keys / "server.key_secret").stat().st_mode & 0o077 == 0
    assert not (keys / "clients" / "console.key_secret").exists()  # the console is the hub: no key of its own
    assert (home / "demo" / "archive.sqlite").stat().st_size > 0
    assert "cycle(s)" in first.splitlines()[-1]
    (home / "demo" / "console.sqlite").write_bytes(b"left by an older demo")
    second = _run_live_demo(home, config)  # the previous run's files are there: it starts clean
    assert "link acquired" in second
    assert "replaced" not in second and "refused" not in second and "Traceback" not in second, second
    assert not (home / "demo" / "console.sqlite").exists()
    first_password = first.split("password ")[1].split(" ")[0]
    assert first_password not in second  # a new one-time password each run


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
    assert "isru demo: cycle 1/1 closed: " + f"{cycle['water_kg']:.3f} kg water" in runs[0].stderr


def test_a_headless_run_ends_at_a_hold_with_its_reason() -> None:
    """Nobody answers a HOLD in a headless run: it ends there (exit 1), saying why, not at the time limit."""
    command = [*ISRU, "demo", "--headless", "--json", "--seed", "7", "--inject", "anchor.disconnect@60"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=280)
    assert run.returncode == 1, run.stderr[-2000:]
    summary = json.loads(run.stdout)
    assert summary["final_state"] == "hold" and summary["sim_seconds"] < 3600.0
    assert "→ hold" in summary["hold_reason"] and "anchor" in summary["hold_reason"]
    assert "isru demo: the mission holds for the ground: " in run.stderr


def test_a_headless_run_ends_in_safe_with_its_reason() -> None:
    """A run that ends in SAFE says why, in the summary and on stderr, as a HOLD does."""
    command = [*ISRU, "demo", "--headless", "--json", "--seed", "7", "--inject", "power.low_battery@60:soc=0.1"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=280)
    assert run.returncode == 1, run.stderr[-2000:]
    summary = json.loads(run.stdout)
    assert summary["final_state"] == "safe" and summary["hold_reason"] == ""
    assert "→ safe" in summary["safe_reason"] and "battery" in summary["safe_reason"], summary["safe_reason"]
    assert "isru demo: the mission is in SAFE: " in run.stderr


def test_live_demo_hands_injected_faults_to_flight_and_fails_when_flight_is_killed(tmp_path: Path) -> None:
    """``--inject`` without ``--headless`` reaches flight's configuration ([[sim.faults]]), and so does the
    configuration's light time (before, the demo reset it to 0); when flight dies the demo exits 1, naming the
    signal and the command that starts flight again on the same configuration."""
    from isru.config import derived_config_text, load_config

    config = tmp_path / "demo.toml"
    link = {"endpoint": f"tcp://127.0.0.1:{_free_port()}", "light_time_s": 2.5}
    config.write_text(derived_config_text({"link": link}))
    home = tmp_path / "home"
    env = {**os.environ, "ISRU_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    command = [*ISRU, "demo", "--no-console", "--warp", "20", "--seed", "5", "--config", str(config)]
    command += ["--inject", "anchor.slip@3400", "--inject", "drive.wheel_stall@5000:side=right"]
    demo = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines, started, reader = _echo_until(demo, "flight (pid ")
    try:
        assert started.wait(90), "".join(lines)
        pid = int(next(line for line in lines if "flight (pid " in line).split("flight (pid ")[1].split(",")[0])
        flight_config = home / "demo" / "flight.toml"
        faults = [(f.at_s, f.device, f.kind, f.params) for f in load_config(flight_config).sim.faults]
        assert faults == [(3400.0, "anchor", "slip", {}), (5000.0, "drive", "wheel_stall", {"side": "right"})]
        assert load_config(flight_config).sim.seed == 5
        assert load_config(flight_config).link.light_time_s == 2.5
        os.kill(pid, signal.SIGKILL)
        demo.wait(timeout=60)
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGTERM)
            demo.wait(timeout=60)
        reader.join(timeout=10)
    text = "".join(lines)
    assert demo.returncode == 1, text
    assert "flight was killed by signal 9 (SIGKILL)" in text and str(home / "demo" / "flight.log") in text
    assert f"isru flight --config {flight_config}" in text
    assert "Traceback" not in text
