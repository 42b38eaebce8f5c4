"""``live_warp_max``: the highest warp the live stack holds while the machine is busy.

The live stack is what ``isru demo`` runs: flight as its own process on a paced (lock-step) clock with its
devices simulated inside it, and this process as the archiving ground station over the real CURVE link on
127.0.0.1. Two CPU hogs (busy loops in child processes, bounded in time) run beside it. A warp *holds* when
``LIVE_SIM_S`` simulated seconds of mining pass with no dead-man stop, no loss of signal (on either side)
and no SAFE. Warps are tried from the highest down; the first that holds is the value. The effective pace
(simulated seconds per wall second actually achieved; lower than the warp when the machine cannot keep up,
which is what lock-step is for) is reported with it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from base.clock import RealClock
from bench.errors import MeasurementError
from bench.registry import Result, RunOptions, metric

#: Warps tried, highest first (full run, quick run).
WARPS = ((50.0, 20.0, 10.0, 5.0), (50.0, 20.0))
#: Simulated seconds each trial must hold (full run: two hours; quick run: a quarter of an hour).
LIVE_SIM_S = (7200.0, 900.0)
#: CPU hogs beside the stack.
HOGS = 2
#: Wall seconds a trial may take beyond what its warp implies before it is abandoned.
SLACK_S = 120.0

_HOG = (
    "from base.clock import RealClock\n"
    "c = RealClock()\n"
    "end = c.monotonic() + {seconds}\n"
    "while c.monotonic() < end:\n"
    "    pass\n"
)


def _hogs(seconds: float) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen([sys.executable, "-c", _HOG.format(seconds=seconds)], stdout=subprocess.DEVNULL)
        for _ in range(HOGS)
    ]


def _trial(warp: float, sim_s: float, workdir: Path) -> dict[str, Any]:
    """Run the live stack at ``warp`` for ``sim_s`` simulated seconds (or until it fails); the counts."""
    from isru.stack import SimStack

    wall = RealClock()
    budget_s = sim_s / warp * 4.0 + SLACK_S
    counts = {"deadman": 0, "los": 0, "safe": 0, "flight_los": 0}
    span: dict[str, float | None] = {"first": None, "last": None}

    def on_event(event: dict[str, Any]) -> None:
        name = str(event.get("name", ""))
        if "deadman" in name:
            counts["deadman"] += 1
        elif name == "safe" and event.get("source") == "mission":
            counts["safe"] += 1
        elif name in ("link_lost", "los") and event.get("source") in ("failsafe", "link"):
            counts["flight_los"] += 1

    def on_telemetry(samples: list[tuple[str, float, Any]]) -> None:
        for _channel, t, _value in samples:
            span["first"] = t if span["first"] is None else min(span["first"], t)
            span["last"] = t if span["last"] is None else max(span["last"], t)

    def on_link(status: Any) -> None:
        if getattr(status, "state", "") == "los":
            counts["los"] += 1

    hogs = _hogs(budget_s)
    start = wall.monotonic()
    try:
        with SimStack(workdir, warp=warp) as stack:
            core = stack.ground
            core.subscribe("event", on_event)
            core.subscribe("telemetry", on_telemetry)
            core.subscribe("link", on_link)
            core.send("mission.start", {"cycles": 10}, confirmed=True)
            while wall.monotonic() - start < budget_s:
                elapsed = (span["last"] or 0.0) - (span["first"] or 0.0)
                if elapsed >= sim_s or any(counts.values()) or (stack.flight and stack.flight.poll() is not None):
                    break
                wall.sleep(0.5)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    elapsed_sim = (span["last"] or 0.0) - (span["first"] or 0.0)
    return {
        **counts,
        "sim_s": elapsed_sim,
        "wall_s": wall.monotonic() - start,
        "held": elapsed_sim >= sim_s and not any(counts.values()),
    }


@metric("live_warp_max", unit="x", target=">= 20")
def live_warp_max(options: RunOptions) -> Result:
    """The highest warp (of those tried) at which the live stack runs its simulated time with 0 dead-man stops,
    0 loss of signal and no SAFE while two CPU hogs run (raw: 1, real time)."""
    warps = WARPS[1] if options.quick else WARPS[0]
    sim_s = LIVE_SIM_S[1] if options.quick else LIVE_SIM_S[0]
    trials: dict[str, Any] = {}
    for warp in warps:
        with tempfile.TemporaryDirectory(prefix="isru-live-") as folder:
            trial = _trial(warp, sim_s, Path(folder))
        trials[f"{warp:g}"] = trial
        if trial["held"]:
            pace = trial["sim_s"] / max(trial["wall_s"], 1e-9)
            return Result(
                warp,
                raw=1.0,
                ratio=warp,
                raw_unit="x (real time)",
                extra={
                    "sim_seconds": sim_s,
                    "effective_pace_x": pace,
                    "trials": "; ".join(f"warp {w}: {t}" for w, t in trials.items()),
                },
            )
    raise MeasurementError(f"no warp of {list(warps)} held for {sim_s:g} simulated s: {trials}")
