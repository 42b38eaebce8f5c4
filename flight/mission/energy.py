"""Energy as a planning input: before each activity, is the energy it needs there, with a reserve to make the
hardware safe?

The budget is kept in watt-hours above the load-shedding floor (the interlocks' ``low_battery_soc``), so an
activity the mission starts never runs the battery into shedding:

    available_Wh = (soc - low_battery_soc) * battery_capacity_Wh
    need_Wh      = max(0, draw_W - solar_W) * duration_s / 3600 + energy_reserve_Wh

``draw_W`` and ``duration_s`` are what the activity (a leaf of the machine) drew and took the last time it
ran, measured from power telemetry while it ran (before its first run, the conservative estimates of
:data:`ESTIMATES`). ``solar_W`` is the input a :class:`SolarForecast` expects over the activity's duration;
the planner does not care how light is computed — :class:`MeasuredSolar` forecasts from the array's
measured input, and a body with a day/night model of its own plugs in another forecast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

#: leaf → (power drawn, W; duration, s) assumed before the leaf has been measured (conservative: the heater
#: at its full 800 W with the standby loads, the drill at its torque limit).
ESTIMATES: dict[str, tuple[float, float]] = {
    "prospect_drive": (150.0, 600.0),
    "prospect_probe": (250.0, 600.0),
    "prospect_rank": (60.0, 1.0),
    "prospect_travel": (150.0, 900.0),
    "anchor_deploy": (150.0, 300.0),
    "anchor_preload": (150.0, 300.0),
    "anchor_verify": (80.0, 60.0),
    "extract_drill": (300.0, 1800.0),
    "extract_scoop": (120.0, 900.0),
    "process_seal": (80.0, 60.0),
    "process_heat": (860.0, 3600.0),
    "process_vent": (80.0, 120.0),
    "process_dump": (100.0, 120.0),
    "process_transfer": (120.0, 60.0),
    "stow": (150.0, 600.0),
}
#: Leaves that run as one unit: the energy for the whole chain is checked before its first leaf starts, and
#: the later leaves are neither checked nor parked for energy. Venting opens the chamber; from then until the
#: water is in the tank, a park (hours of charging, the cryocooler shed) lets the cold trap's ice sublimate
#: out of the open chamber (asteroid seed 13, cycle 6: 0.027 kg booked where its neighbours booked 0.27-0.33 kg).
CHAINS: dict[str, tuple[str, ...]] = {"process_vent": ("process_vent", "process_dump", "process_transfer")}
#: Leaves inside a chain after its first: paid for when the chain began.
CHAINED = frozenset(leaf for chain in CHAINS.values() for leaf in chain[1:])
#: Starts on a full battery (:meth:`EnergyPlanner.start_full`) a leaf may make before it completes: a long heat
#: spans parks (the asteroid's nights), but one that never gets through holds for the ground.
FULL_STARTS = 4
#: Weight of the newest run in a leaf's measured draw and duration (exponential average).
LEARN_WEIGHT = 0.5


class SolarForecast(Protocol):
    """Solar input at the site: now, and expected over the coming ``horizon_s`` seconds (W)."""

    def now_W(self) -> float:
        """Array input now, W."""
        ...

    def mean_W(self, horizon_s: float) -> float:
        """Mean array input expected over the next ``horizon_s`` seconds, W."""
        ...

    def daylight_W(self) -> float:
        """Array input here in daylight, W: what a probe's figure, measured by day, compares with."""
        ...


class MeasuredSolar:
    """Forecast by persistence of the measured array input (``power.solar_W``): at a lunar polar site or on a
    rig the light changes over days, far slower than an activity. While the battery is full the array is
    shunted to the load, so the reading is then a lower bound (the forecast errs on the safe side)."""

    def __init__(self, read: Callable[[str], float]) -> None:
        self._read = read

    def now_W(self) -> float:
        """``power.solar_W``, W."""
        return max(0.0, float(self._read("power.solar_W")))

    def mean_W(self, horizon_s: float) -> float:
        """The input now, assumed to last ``horizon_s``, W."""
        return self.now_W()

    def daylight_W(self) -> float:
        """The input now (the light changes over days), W."""
        return self.now_W()


@dataclass
class LeafEnergy:
    """What a leaf drew (W) and how long it took (s), learnt from its runs."""

    draw_W: float
    duration_s: float
    runs: int = 0


class EnergyPlanner:
    """Per-leaf energy needs and the battery's budget; :meth:`shortfall` is the check before an activity.

    ``read(channel)`` reads telemetry; ``floor_soc`` is the load-shedding state of charge; ``capacity_Wh``,
    ``reserve_Wh`` and ``enabled`` come from the mission settings (read each time: they are live parameters).
    """

    def __init__(
        self,
        read: Callable[[str], float],
        now: Callable[[], float],
        floor_soc: Callable[[], float],
        settings: Callable[[], tuple[bool, float, float]],
        solar: SolarForecast | None = None,
    ) -> None:
        self._read = read
        self._now = now
        self._floor_soc = floor_soc
        self._settings = settings
        self.solar = solar if solar is not None else MeasuredSolar(read)
        self.leaves = {leaf: LeafEnergy(w, s) for leaf, (w, s) in ESTIMATES.items()}
        self._running: tuple[str, float, float] | None = None  # leaf, start time s, Wh drawn so far
        self._last_t: float | None = None
        #: Starts on a full battery although short (:meth:`start_full`) per leaf, and the leaf let start next.
        self._started_full: dict[str, int] = {}
        self._granted: str | None = None

    # ----------------------------------------------------------------------------------- budget
    def available_Wh(self) -> float:
        """Battery energy above the load-shedding floor, Wh."""
        _, capacity_Wh, _ = self._settings()
        return (float(self._read("power.soc")) - self._floor_soc()) * capacity_Wh

    def need_Wh(self, leaf: str) -> float:
        """Energy leaf ``leaf`` takes from the battery (draw less the solar input expected meanwhile; for the
        first leaf of a :data:`CHAINS` chain, the whole chain's) plus the reserve to make the hardware safe
        afterwards, Wh."""
        _, _, reserve_Wh = self._settings()
        need = reserve_Wh
        for part in CHAINS.get(leaf, (leaf,)):
            known = self.leaves.get(part)
            if known is not None:
                net_W = max(0.0, known.draw_W - self.solar.mean_W(known.duration_s))
                need += net_W * known.duration_s / 3600.0
        return need

    def shortfall(self, leaf: str) -> str:
        """Why ``leaf`` must not start now ('' when the energy is there, planning is off, or ``leaf`` is inside
        a chain that was paid for when it began)."""
        enabled, _, _ = self._settings()
        if not enabled or leaf in CHAINED:
            return ""
        if self._granted == leaf:
            self._granted = None
            return ""
        need, have = self.need_Wh(leaf), self.available_Wh()
        if have >= need:
            return ""
        return f"{leaf} needs {need:.0f} Wh with the reserve, {have:.0f} Wh above the shedding floor"

    def start_full(self, leaf: str) -> bool:
        """The battery is full and ``leaf`` still needs more than it holds above the floor: let ``leaf`` start
        anyway (True), since waiting cannot give more; :meth:`exhausted` parks it when only the reserve is
        left, and it goes on after the next charge, up to :data:`FULL_STARTS` times before it completes.
        Never a chain (it must finish on one charge); False after that many: the ground decides."""
        starts = self._started_full.get(leaf, 0)
        if leaf in CHAINS or leaf in CHAINED or starts >= FULL_STARTS:
            return False
        self._started_full[leaf] = starts + 1
        self._granted = leaf
        return True

    def exhausted(self, leaf: str) -> bool:
        """Only the reserve is left while ``leaf``'s activity runs: park now (never inside a chain, which
        finishes on the energy checked when it began; the interlocks' load shedding still stands below)."""
        enabled, _, reserve_Wh = self._settings()
        return enabled and leaf not in CHAINED and self.available_Wh() < reserve_Wh

    # -------------------------------------------------------------------------------- learning
    def begin(self, leaf: str) -> None:
        """``leaf``'s activity starts: measure what it draws."""
        self._running = (leaf, self._now(), 0.0)
        self._last_t = self._now()

    def sample(self) -> None:
        """Integrate the load drawn by the running activity (call each mission tick)."""
        if self._running is None or self._last_t is None:
            return
        now = self._now()
        leaf, start, drawn_Wh = self._running
        drawn_Wh += max(0.0, float(self._read("power.load_W"))) * (now - self._last_t) / 3600.0
        self._running, self._last_t = (leaf, start, drawn_Wh), now

    def end(self) -> None:
        """The running activity finished: learn its draw and duration."""
        if self._running is None:
            return
        leaf, start, drawn_Wh = self._running
        self._running = None
        self._started_full.pop(leaf, None)  # completed: a later run may start full again
        duration = self._now() - start
        if duration <= 0.0:
            return
        draw_W = drawn_Wh * 3600.0 / duration
        known = self.leaves.setdefault(leaf, LeafEnergy(draw_W, duration))
        weight = 1.0 if known.runs == 0 else LEARN_WEIGHT
        known.draw_W += weight * (draw_W - known.draw_W)
        known.duration_s += weight * (duration - known.duration_s)
        known.runs += 1

    def abandon(self) -> None:
        """The running activity was interrupted (parked, held, faulted): nothing learnt from it."""
        self._running = None
