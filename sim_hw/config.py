"""Configuration schema of the simulation (the ``[sim]`` table)."""

from __future__ import annotations

from dataclasses import dataclass, field

from base.config_loader import setting
from sim_hw.bodies import BODIES
from sim_hw.device_names import DEVICE_NAMES


@dataclass(frozen=True)
class FaultSpec:
    """A fault the simulation injects at a time: ``SimWorld.inject(device, kind, **params)`` at ``at_s``."""

    at_s: float = setting(lo=0.0, unit="s", doc="simulated time of the injection")
    device: str = setting(choices=DEVICE_NAMES, doc="device to affect")
    kind: str = setting(doc="fault kind: a line fault, a sensor symptom or the device's inject_<kind>")
    params: dict[str, bool | float | str] = setting(
        default_factory=dict, doc="keyword arguments of the fault (true/false, a number or a string)"
    )


@dataclass(frozen=True)
class SimConfig:
    """The simulated world."""

    body: str = setting("moon", choices=tuple(BODIES), doc="planetary body")
    seed: int = setting(7, lo=0, hi=2**31 - 1, doc="random seed: same seed, same world, same run")
    site: int = setting(0, lo=0, hi=99, doc="site the rover starts on")
    site_count: int = setting(5, lo=1, hi=100, doc="number of candidate sites")
    step_s: float = setting(0.05, lo=0.001, hi=1.0, unit="s", doc="longest physics step")
    warp: float = setting(1.0, lo=0.01, hi=10_000.0, doc="clock speed-up across processes (isru sim --pty)")
    faults: list[FaultSpec] = field(default_factory=list)
