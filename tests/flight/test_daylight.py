"""The day/night solar forecast of a short-day body (Bennu's 4.296 h): phase learnt from the array input,
the lit share of a horizon, and the energy planner refusing an activity the night would leave short."""

from __future__ import annotations

import pytest

from flight.mission.daylight import DiurnalSolar
from flight.mission.energy import EnergyPlanner
from flight.mission.siting import charging_site

DAY_S = 4.296 * 3600.0


class Sky:
    """Array input of a sun-tracking array on a turning body: ``peak_W`` for the first half of each day."""

    def __init__(self, peak_W: float = 255.0) -> None:
        self.t = 0.0
        self.peak_W = peak_W
        self.soc = 0.6

    def read(self, channel: str) -> float:
        if channel == "power.solar_W":
            return self.peak_W if (self.t % DAY_S) < DAY_S / 2 else 0.0
        if channel == "power.soc":
            return self.soc
        return 0.0

    def now(self) -> float:
        return self.t


def watch(sky: Sky, forecast: DiurnalSolar, until_s: float, step_s: float = 60.0) -> None:
    while sky.t < until_s:
        sky.t += step_s
        forecast.now_W()


def test_phase_unknown_until_a_sunrise_or_sunset_is_seen() -> None:
    sky = Sky()
    forecast = DiurnalSolar(sky.read, sky.now, DAY_S)
    sky.t = 600.0
    assert forecast.now_W() == 255.0
    assert forecast.mean_W(3600.0) == 0.0  # conservative: the light may end now
    watch(sky, forecast, DAY_S / 2 + 60.0)  # sunset seen
    assert forecast.sunrise_s == pytest.approx(0.0, abs=61.0)


def test_lit_share_over_a_horizon_follows_the_day() -> None:
    sky = Sky()
    forecast = DiurnalSolar(sky.read, sky.now, DAY_S)
    watch(sky, forecast, DAY_S + 600.0)  # a sunset and a sunrise seen: now 600 s after sunrise
    assert forecast.mean_W(3600.0) == pytest.approx(255.0, rel=0.02)  # all daylight
    assert forecast.mean_W(DAY_S) == pytest.approx(127.5, rel=0.02)  # a whole day: half lit
    assert forecast.lit_share(sky.t + DAY_S / 2 - 600.0, 3600.0) == pytest.approx(0.0, abs=0.02)  # night
    assert forecast.lit_share(sky.t, 3 * DAY_S) == pytest.approx(0.5, abs=0.02)


def test_the_planner_sees_the_night_coming() -> None:
    """An 860 W, 3 h heating started one hour before sunset: persistence would net it against the array all
    the way; the diurnal forecast counts only the hour of light left."""
    sky = Sky()
    forecast = DiurnalSolar(sky.read, sky.now, DAY_S)
    watch(sky, forecast, DAY_S + DAY_S / 2 - 3600.0)
    planner = EnergyPlanner(sky.read, sky.now, lambda: 0.2, lambda: (True, 2000.0, 80.0), forecast)
    need = planner.need_Wh("process_heat")  # the estimate: 860 W for 3600 s
    assert need == pytest.approx((860.0 - 255.0) * 1.0 + 80.0, rel=0.02)
    sky.t += 1800.0  # half an hour before sunset: half the hour lit
    assert planner.need_Wh("process_heat") == pytest.approx((860.0 - 127.5) + 80.0, rel=0.03)


def test_at_night_the_input_by_day_is_the_last_days_peak_not_nothing() -> None:
    """A recharge's choice of where to charge compares the input here by day with each probe's figure (measured
    by day): at night it is the last day's peak, so a night's 0 W is no reason to hop to another site, just as
    dark (asteroid seed 3: two excursions of four hops at night, the charge there no faster)."""
    sky = Sky(peak_W=230.0)
    forecast = DiurnalSolar(sky.read, sky.now, DAY_S)
    sky.t = 600.0
    assert forecast.daylight_W() == 230.0
    watch(sky, forecast, DAY_S / 2 + 600.0)  # into the night
    assert forecast.now_W() == 0.0
    assert forecast.daylight_W() == 230.0
    assert charging_site({2: {"solar_W": 250.0}}, forecast.daylight_W()) is None  # not far better: stay
    assert charging_site({2: {"solar_W": 250.0}}, forecast.now_W()) == 2  # what the night's reading said
