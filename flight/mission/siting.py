"""Energy-aware siting: rank sites by the water a cycle yields per kWh it takes from the battery, counting
the solar energy the rover collects there, and choose where to recharge.

Only measured inputs: the probe's water fraction and cutting energy per kg, and the array's input measured
at each site (``power.solar_W`` while probing). How light is computed (terrain shadow, the body's day) is
the forecast's business; the siting only compares what the array delivered where.

Per cycle at a site (``batch_kg`` of regolith, ``work_s`` of working time, ``standby_W`` of the rover's
own load while working)::

    drawn_Wh     = batch_kg * per_kg_J / 3600 + standby_W * work_s / 3600
    collected_Wh = solar_W * work_s / 3600
    net_Wh       = max(drawn_Wh - collected_Wh, NET_FLOOR * drawn_Wh)
    kg_per_kWh   = ice * batch_kg / net_Wh * 1000

A sunlit site pays for part of its own cycle; a site whose array cannot even carry the parked rover pays
for all of it. The floor keeps a fully sun-powered site finite (its battery still cycles).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

#: The net battery energy of a cycle is at least this share of what it draws, however sunny the site.
NET_FLOOR = 0.1
#: A probed site is worth driving to for a recharge when its array gives at least this many times the
#: input where the rover parked, and at least :data:`CHARGE_GAIN_W` more.
CHARGE_RATIO = 2.0
CHARGE_GAIN_W = 50.0


def kg_per_kWh(
    ice: float, per_kg_J: float, solar_W: float, *, batch_kg: float, work_s: float, standby_W: float
) -> float:
    """Expected water per kWh taken from the battery over a cycle, counting the solar input ``solar_W`` (W)
    collected during its ``work_s`` (s) of work; ``per_kg_J`` is drilling plus processing energy per kg of
    regolith (J/kg), ``ice`` the water mass fraction, ``standby_W`` the rover's own load while working."""
    if batch_kg <= 0.0 or not math.isfinite(per_kg_J):
        return 0.0
    drawn_Wh = batch_kg * per_kg_J / 3600.0 + max(0.0, standby_W) * work_s / 3600.0
    collected_Wh = max(0.0, solar_W) * work_s / 3600.0
    net_Wh = max(drawn_Wh - collected_Wh, NET_FLOOR * drawn_Wh)
    return ice * batch_kg / net_Wh * 1000.0 if net_Wh > 0.0 else 0.0


def charging_site(probes: Mapping[int, Mapping[str, float]], here_W: float) -> int | None:
    """The probed site to drive to for a recharge (the one whose array gave the most), or None when none
    beats ``here_W`` (W, the input where the rover is) by :data:`CHARGE_RATIO` and :data:`CHARGE_GAIN_W`."""
    lit = {site: float(p.get("solar_W", 0.0)) for site, p in probes.items()}
    if not lit:
        return None
    best = max(lit, key=lambda site: lit[site])
    gain = lit[best] - max(0.0, here_W)
    if lit[best] >= CHARGE_RATIO * max(0.0, here_W) and gain >= CHARGE_GAIN_W:
        return best
    return None
