"""Which devices each phase needs, and whether they are fit: what ``mission.recover`` and ``mission.resume``
check before the rover is let loose again (a latched fault or a dead line refuses them, naming it)."""

from __future__ import annotations

from collections.abc import Iterable

from flight.interlocks import Interlocks

#: Top-level state → the devices its steps command.
NEEDS: dict[str, tuple[str, ...]] = {
    "prospect": ("drive", "hopper", "imu", "drill"),
    "anchor": ("anchor", "imu"),
    "extract": ("drill", "scoop", "anchor", "extractor"),
    "process": ("extractor",),
    "stow": ("drill", "scoop", "anchor"),
    # withdraws drill and anchors and may drive (or hop) to the sun: a retry waits for those too (a wheel stall
    # while driving there had the retry refused by the drive's fault latched a moment later)
    "recharge": ("power", "drill", "anchor", "drive", "hopper", "imu"),
}
#: Leaves whose needs differ from their top-level state's: the probe anchors and drills where the rover stands
#: (the drive's telemetry still says it stands), and does not need the hopper (a hopper unfit for the next hop
#: does not stop a probe in place; the hop itself is refused, :mod:`flight.mission.hop_readiness`).
LEAF_NEEDS: dict[str, tuple[str, ...]] = {"prospect_probe": ("drive", "imu", "drill", "anchor")}


def device_problems(io: Interlocks, devices: Iterable[str]) -> list[str]:
    """``<device>: <problem>`` for each of ``devices`` fitted to the rig whose line is down or that has latched
    faults (from the driver's latest snapshot)."""
    problems = []
    for name in devices:
        if name not in io.rig:
            continue
        device = io.rig.device(name)
        if not device.link_up:
            problems.append(f"{name}: link down")
            continue
        snapshot = device.telemetry
        if snapshot is not None and snapshot.faults:
            problems.append(f"{name}: fault {','.join(snapshot.faults)} latched")
    return problems


def needed_by(leaf: str) -> tuple[str, ...]:
    """The devices leaf ``leaf`` (``extract_drill``) needs."""
    return LEAF_NEEDS.get(leaf) or NEEDS.get(leaf.split("_", 1)[0], ())
