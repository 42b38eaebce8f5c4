"""The campaign log's per-cycle record: the stow that ends a cycle after its booking counts in that cycle."""

from __future__ import annotations

from flight.mission.campaign import CampaignLog


class _Telemetry:
    def __init__(self) -> None:
        self.t = 0.0
        self.values = {"power.load_W": 360.0, "power.solar_W": 0.0, "power.soc": 0.5}

    def read(self, channel: str) -> float:
        return self.values[channel]

    def tick(self, log: CampaignLog, seconds: float, state: str, category: str | None = "working") -> None:
        for _ in range(round(seconds)):
            self.t += 1.0
            log.sample(category, state)


def test_the_stow_after_the_booking_counts_in_the_booked_cycle_and_the_next_state_starts_the_next() -> None:
    telemetry = _Telemetry()
    log = CampaignLog(telemetry.read, lambda: telemetry.t)
    log.sample("working", "prospect")  # the first sample starts the clock
    telemetry.tick(log, 100, "process")
    log.close_cycle(1, site=2, water_kg=0.2, regolith_kg=3.0, heater_Wh=1000.0)
    telemetry.tick(log, 7, "stow")
    telemetry.tick(log, 5, "prospect")
    first = log.cycles[0]
    assert first["state_s"] == {"process": 100.0, "stow": 7.0}
    assert first["time_s"]["working"] == 107.0
    assert round(first["energy_used_Wh"], 6) == round(360.0 * 107.0 / 3600.0, 6)
    telemetry.tick(log, 3, "stow")  # a stow later in the cycle (before a drive, a recovery) is that cycle's
    log.close_cycle(2, site=2, water_kg=0.1, regolith_kg=2.0, heater_Wh=900.0)
    assert log.cycles[0]["state_s"] == {"process": 100.0, "stow": 7.0}
    assert log.cycles[1]["state_s"] == {"prospect": 5.0, "stow": 3.0}


def test_an_idle_tick_after_the_booking_ends_the_cycle_s_stow() -> None:
    telemetry = _Telemetry()
    log = CampaignLog(telemetry.read, lambda: telemetry.t)
    log.sample("working", "process")
    log.close_cycle(1, site=0, water_kg=0.2, regolith_kg=3.0, heater_Wh=1000.0)
    telemetry.tick(log, 4, "stow")
    telemetry.tick(log, 2, "idle", category=None)
    telemetry.tick(log, 6, "stow")  # a recovery's stow from SAFE, after the cycle: not the booked cycle's
    assert log.cycles[0]["state_s"] == {"stow": 4.0}
