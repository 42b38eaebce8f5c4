"""A solar forecast for a body whose day is shorter than the mission's activities: an asteroid turning in 4.3 h.

:class:`~flight.mission.energy.MeasuredSolar` forecasts by persistence, right where the light changes over
days (a lunar pole, a rig). On Bennu (4.296 h rotation, Lauretta et al. 2019) a three-hour extraction
outlasts daylight, so persistence would promise the array's noon output through the night. This forecast
knows the configured day length ``day_length_s`` and learns the rest from ``power.solar_W``: the time of the
last sunrise or sunset it saw (input crossing :data:`LIT_W`) and the peak input of the current or last day.
A sun-tracking array is lit for half the day at about its peak, dark for the other half, so the expected
mean over a horizon is the peak times the lit share of that horizon. Until the first sunrise or sunset is
seen it is conservative: the light is assumed to end now. SI units, watts and seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable

#: Array input above which the array counts as lit, W.
LIT_W = 1.0


class DiurnalSolar:
    """Forecast of the array input on a body with a ``day_length_s`` day/night cycle (a
    :class:`~flight.mission.energy.SolarForecast`); ``read(channel)`` reads telemetry, ``now()`` the clock."""

    def __init__(self, read: Callable[[str], float], now: Callable[[], float], day_length_s: float) -> None:
        if not day_length_s > 0.0:
            raise ValueError(f"day_length_s must be > 0 s, got {day_length_s!r}")
        self._read = read
        self._now = now
        self.day_length_s = day_length_s
        self.peak_W = 0.0
        #: Clock time (s) of the last sunrise seen (or the sunrise a sunset implies); None before either.
        self.sunrise_s: float | None = None
        self._lit: bool | None = None

    def now_W(self) -> float:
        """``power.solar_W`` now, W (and the day's phase and peak learnt from it)."""
        watts = max(0.0, float(self._read("power.solar_W")))
        now = self._now()
        lit = watts > LIT_W
        if self._lit is not None and lit != self._lit:
            self.sunrise_s = now if lit else now - 0.5 * self.day_length_s
            if lit:
                self.peak_W = 0.0  # a new day: its own peak
        self._lit = lit
        self.peak_W = max(self.peak_W, watts)
        return watts

    def daylight_W(self) -> float:
        """The input here by day, W: the current or last day's peak (at night the array gives nothing anywhere,
        so a night's 0 W is no reason to move to a site whose figure was measured by day)."""
        return max(self.now_W(), self.peak_W)

    def mean_W(self, horizon_s: float) -> float:
        """Mean input expected over the next ``horizon_s`` seconds, W."""
        watts = self.now_W()
        if horizon_s <= 0.0:
            return watts
        if self.sunrise_s is None:
            return 0.0  # phase unknown: assume the light ends now
        return self.peak_W * self.lit_share(self._now(), horizon_s)

    def lit_share(self, start_s: float, horizon_s: float) -> float:
        """Share of [``start_s``, ``start_s + horizon_s``] in daylight (the first half of each day after a
        sunrise)."""
        assert self.sunrise_s is not None
        day, half = self.day_length_s, 0.5 * self.day_length_s
        t0 = start_s - self.sunrise_s
        whole = math.floor(horizon_s / day)
        lit = whole * half
        rest_start = (t0 + whole * day) % day
        rest = horizon_s - whole * day
        # daylight in [rest_start, rest_start + rest] of a day-long pattern lit on [0, half) and [day, day + half)
        for lit_from, lit_to in ((0.0, half), (day, day + half)):
            lit += max(0.0, min(rest_start + rest, lit_to) - max(rest_start, lit_from))
        return lit / horizon_s
