"""PROCESS: seal the hopper, bake the batch, vent, dump the tailings and transfer the water to the tank."""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Mapping

from flight.mission.context import Activity, MissionContext, MissionFailure
from flight.mission.heating import heat_batch
from flight.mission.motion import require, wait

#: Interlock rules that cut the heater or its bus while the chamber heats.
HEATER_RULES = ("heater_overtemp", "heater_uncommanded")

#: Receives each completed cycle: (cycle, site, water kg, regolith kg, heater energy Wh).
LedgerSink = Callable[[int, int, float, float, float], None]


class Process:
    """The processing phase's activities (leaves ``process_seal``, ``_heat``, ``_vent``, ``_dump``,
    ``_transfer``); a finished cycle is added to the progress and reported to the ledger."""

    def __init__(self, ctx: MissionContext, ledger: LedgerSink | None = None) -> None:
        self._ctx = ctx
        self._ledger = ledger

    def activities(self) -> Mapping[str, Callable[[], Activity]]:
        """Leaf name → activity."""
        return {
            "process_seal": self.seal,
            "process_heat": self.heat,
            "process_vent": self.vent,
            "process_dump": self.dump,
            "process_transfer": self.transfer,
        }

    def seal(self) -> Activity:
        """Close the hopper's lid; then, where ``pump_down_Pa`` is set (a rig in air), pump the chamber down."""
        ctx = self._ctx
        yield from require(ctx, "extractor", "lid", sealed=1)
        if ctx.config.pump_down_Pa <= 0.0:
            return "sealed", "lid sealed"
        reached = yield from pump_down(ctx)
        return "sealed", f"lid sealed, {reached}"

    def heat(self) -> Activity:
        """Bake the batch until its yield falls off (:func:`~flight.mission.heating.heat_batch`); heating that
        stalls holds for the ground with the reason, naming any interlock that cut the heater meanwhile (a
        heater switch failed closed goes to SAFE from inside :func:`heat_batch`)."""
        ctx = self._ctx
        before = {rule: ctx.io.trips.get(rule, 0) for rule in HEATER_RULES}
        stalled, reason = yield from heat_batch(ctx)
        if stalled:
            cut = ", ".join(
                f"{rule} {n}x" for rule, count in before.items() if (n := ctx.io.trips.get(rule, 0) - count)
            )
            if cut:
                reason = f"{reason}; interlocks cut the heater while heating ({cut})"
            ctx.events.error("mission", "heating_stalled", reason)
            return "hold", f"{reason}: hold for the ground (mission.resume heats again)"
        return "heated", reason

    def vent(self) -> Activity:
        """Open the vent for ``vent_s``."""
        ctx = self._ctx
        ctx.io.command("extractor", "vent", open=1)
        yield from wait(ctx, ctx.config.vent_s)
        ctx.io.command("extractor", "vent", open=0)
        return "vented", f"vented for {ctx.config.vent_s:g} s"

    def dump(self) -> Activity:
        """Note the batch's regolith and heater energy, then open the lid and dump the tailings."""
        ctx = self._ctx
        ctx.progress.batch_regolith_kg = float(ctx.get("extractor.loaded_mass_kg"))
        ctx.progress.batch_energy_Wh = float(ctx.get("extractor.heater_energy_J")) / 3600.0
        yield from require(ctx, "extractor", "lid", sealed=0)
        yield from require(ctx, "extractor", "dump")
        ctx.progress.batch_tank_kg = float(ctx.get("extractor.tank_kg"))
        ctx.progress.batch_trap_kg = float(ctx.get("extractor.water_kg"))
        return "dumped", f"{ctx.progress.batch_regolith_kg:.2f} kg of tailings dumped"

    def transfer(self) -> Activity:
        """Move the batch's water to the tank and book the cycle: the tank's rise and the trap's fall since the
        dump noted them (a transfer cut off and retried, or resumed after a restart, books the whole batch once)."""
        ctx = self._ctx
        progress = ctx.progress
        tank_before, trap_before = progress.batch_tank_kg, progress.batch_trap_kg
        if not all(math.isfinite(kg) and kg >= 0.0 for kg in (tank_before, trap_before)):  # no dump noted them
            tank_before, trap_before = ctx.get("extractor.tank_kg"), ctx.get("extractor.water_kg")
        yield from require(ctx, "extractor", "transfer_water")
        yield from wait(ctx, 0.5)
        water = metered_water(
            ctx,
            max(0.0, ctx.get("extractor.tank_kg") - tank_before),
            max(0.0, trap_before - ctx.get("extractor.water_kg")),
        )
        regolith, energy = progress.batch_regolith_kg, progress.batch_energy_Wh
        progress.batch_regolith_kg = progress.batch_energy_Wh = 0.0
        progress.batch_tank_kg = progress.batch_trap_kg = -1.0
        progress.cycle += 1
        progress.water_kg += water
        progress.regolith_kg += regolith
        progress.energy_Wh += energy
        if self._ledger is not None:
            self._ledger(progress.cycle, progress.site, water, regolith, energy)
        ctx.events.info(
            "mission",
            "cycle_complete",
            f"cycle {progress.cycle}: {water:.3f} kg water from {regolith:.2f} kg regolith, {energy:.0f} Wh",
            cycle=progress.cycle,
            water_kg=water,
            regolith_kg=regolith,
            energy_Wh=energy,
        )
        return "cycle_done", f"cycle {progress.cycle} of {progress.cycles_target} complete"


#: Water (kg) below which a change of the tank or trap reading is taken for no change (sensor resolution).
METER_RESOLUTION_KG = 1e-4
#: Relative disagreement between the tank's rise and the trap's fall past which a transfer is reported.
METER_TOLERANCE = 0.1


def metered_water(ctx: MissionContext, tank_rise_kg: float, trap_fall_kg: float) -> float:
    """The water (kg) a transfer booked: the tank's rise (the custody meter), cross-checked against the cold
    trap's fall. A tank reading that did not move while the trap emptied is a stuck tank gauge: the trap's
    fall is booked instead. Any disagreement past :data:`METER_TOLERANCE` is reported as a ``mission``
    warning naming both figures and which was booked, so the ledger's figure is never silently wrong."""
    if tank_rise_kg < METER_RESOLUTION_KG <= trap_fall_kg:
        ctx.events.warning(
            "mission",
            "transfer_meter_suspect",
            f"the tank reading did not move while the cold trap gave {trap_fall_kg:.3f} kg: booked the trap's "
            "figure (check extractor.tank_kg)",
        )
        return trap_fall_kg
    if abs(tank_rise_kg - trap_fall_kg) > METER_TOLERANCE * max(tank_rise_kg, trap_fall_kg, METER_RESOLUTION_KG):
        ctx.events.warning(
            "mission",
            "transfer_mismatch",
            f"the tank rose {tank_rise_kg:.3f} kg but the cold trap gave {trap_fall_kg:.3f} kg: booked the tank's "
            "figure",
        )
    return tank_rise_kg


def pump_down(ctx: MissionContext) -> Generator[None, None, str]:
    """Hold the vent of the sealed chamber open until its pressure is at most ``pump_down_Pa`` (Pa), then
    close it. Raises :class:`MissionFailure` naming the pressure reached if ``pump_down_max_s`` (s) passes
    first (a leaking seal, a pump that is off), and before pumping if the pressure reads 0, nothing or not a
    number (a failed gauge would end the pump-down at once)."""
    cfg = ctx.config
    start = ctx.now()
    before = ctx.get("extractor.pressure_Pa", math.nan)
    if not (isinstance(before, (int, float)) and math.isfinite(before) and before > 0.0):
        # a gauge reading exactly 0 (a dropout) or nothing would end the pump-down before it began, and the
        # chamber would heat sealed air towards the seal's rating
        raise MissionFailure(
            f"pump-down: the chamber pressure reads {before!r} Pa before pumping; expected a positive reading "
            "(the pressure sensor has failed or dropped out: check extractor.pressure_Pa)"
        )
    ctx.io.command("extractor", "vent", open=1)
    while ctx.get("extractor.pressure_Pa", math.inf) > cfg.pump_down_Pa:
        if ctx.now() - start >= cfg.pump_down_max_s:
            ctx.io.command("extractor", "vent", open=0)
            raise MissionFailure(
                f"pump-down: chamber at {ctx.get('extractor.pressure_Pa', math.inf):.0f} Pa after "
                f"{cfg.pump_down_max_s:g} s, expected at most {cfg.pump_down_Pa:g} Pa (seal leak or pump off?)"
            )
        yield
    ctx.io.command("extractor", "vent", open=0)
    return f"pumped down to {ctx.get('extractor.pressure_Pa'):.0f} Pa in {ctx.now() - start:.0f} s"
