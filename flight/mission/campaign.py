"""The campaign log: per cycle, where every watt-hour and every gram went.

Sampled every mission tick from power telemetry: energy drawn by the rover (``power.load_W``) and harvested
by the array (``power.solar_W``), the lowest state of charge, and the time spent working, recharging,
hibernating and held, and by the mission's top-level state; the hops made; plus the recoveries the mission
took (parking to recharge, anchoring retried or moved, drilling given up for the scoop, heating held, a
tumbled rover righted). A cycle's record is closed when the cycle is booked (its
water and regolith come from the ledger); the stow that ends the cycle after the booking still counts in it.
Nothing here knows the body: time and power are all it reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Time categories of :meth:`CampaignLog.sample`.
CATEGORIES = ("working", "recharging", "hibernating", "held")


class CampaignLog:
    """Accumulates the running cycle and keeps the closed ones (``cycles``, a list of dicts, SI units and Wh).

    ``read(channel)`` reads telemetry, ``now()`` is the clock in seconds.
    """

    def __init__(self, read: Callable[[str], float], now: Callable[[], float]) -> None:
        self._read = read
        self._now = now
        self.cycles: list[dict[str, Any]] = []
        self._last_t: float | None = None
        self._open = self._fresh()
        #: The record just closed, while the stow that follows its booking runs (then None).
        self._stowing: dict[str, Any] | None = None

    @staticmethod
    def _fresh() -> dict[str, Any]:
        return {
            "energy_used_Wh": 0.0,
            "energy_harvested_Wh": 0.0,
            "min_soc": 1.0,
            "time_s": dict.fromkeys(CATEGORIES, 0.0),
            "recoveries": {},
            "state_s": {},
            "hops": 0,
        }

    def sample(self, category: str | None, state: str = "") -> None:
        """One tick in ``category`` (one of :data:`CATEGORIES`; None while idle or in SAFE: time not counted),
        in the mission's top-level ``state`` (time by state)."""
        now = self._now()
        last, self._last_t = self._last_t, now
        if state != "stow":
            self._stowing = None
        if category is None or last is None:
            return
        dt = now - last
        record = self._open if self._stowing is None else self._stowing
        record["energy_used_Wh"] += max(0.0, self._read("power.load_W")) * dt / 3600.0
        record["energy_harvested_Wh"] += max(0.0, self._read("power.solar_W")) * dt / 3600.0
        record["min_soc"] = min(record["min_soc"], self._read("power.soc"))
        record["time_s"][category] += dt
        if state:
            record["state_s"][state] = record["state_s"].get(state, 0.0) + dt

    def hopped(self) -> None:
        """The rover made one hop (microgravity mobility)."""
        self._open["hops"] += 1

    def recovery(self, name: str) -> None:
        """The mission took recovery ``name`` (``park``, ``retry``, ``relocate``, ...)."""
        taken = self._open["recoveries"]
        taken[name] = taken.get(name, 0) + 1

    def close_cycle(self, cycle: int, site: int, water_kg: float, regolith_kg: float, heater_Wh: float) -> None:
        """Cycle ``cycle`` was booked: keep its record with what the ledger says, start the next."""
        record, self._open = self._open, self._fresh()
        record.update(cycle=cycle, site=site, water_kg=water_kg, regolith_kg=regolith_kg, heater_Wh=heater_Wh)
        self.cycles.append(record)
        self._stowing = record
