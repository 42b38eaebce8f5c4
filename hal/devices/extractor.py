"""Driver of the thermal water extractor (ICD device ``extractor``, address 0x03)."""

from __future__ import annotations

from dataclasses import dataclass

from hal.device import Device
from hal.icd import EXTRACTOR
from hal.limits import Limit
from hal.motion import Motion
from hal.protocol import AckResult
from hal.telemetry import TelemetryBase

#: Values of the ``lid`` telemetry field.
LID_STATES = ("open", "sealed", "moving")


@dataclass(frozen=True)
class ExtractorTelemetry(TelemetryBase):
    """One extractor telemetry snapshot (SI units, as in the ICD)."""

    chamber_temp_K: float  # chamber (regolith) temperature, K
    pressure_Pa: float  # chamber pressure, Pa
    heater_power_W: float  # heater electrical power, W
    loaded_mass_kg: float  # regolith in the chamber, kg
    cold_trap_temp_K: float  # cold-trap temperature, K
    water_kg: float  # water in the cold trap, kg
    tank_kg: float  # water in the tank, kg
    heater_energy_J: float  # heater energy since the chamber was last loaded, J
    lid: int  # 0 open, 1 sealed, 2 moving
    vent: bool  # vent valve open

    @property
    def lid_state(self) -> str:
        """The lid as a word: ``open``, ``sealed`` or ``moving``."""
        return LID_STATES[self.lid] if 0 <= self.lid < len(LID_STATES) else f"lid_{self.lid}"

    @property
    def energy_per_kg_water_J_kg(self) -> float | None:
        """Heater energy spent per kilogram of water in the cold trap for the current batch, J/kg.
        None until some water has been trapped (and again after it is transferred to the tank)."""
        if self.water_kg <= 1e-9:
            return None
        return self.heater_energy_J / self.water_kg


class ThermalExtractor(Device[ExtractorTelemetry]):
    """The extractor: chamber lid, heater (open-loop power or regulated setpoint), vent, dump and the
    cold-trap water transfer."""

    spec = EXTRACTOR
    telemetry_class = ExtractorTelemetry
    LIMITS = (
        Limit("max_temp_K", "K", "highest chamber setpoint", args=(("heater_setpoint", "kelvin"),)),
        Limit("max_heater_W", "W", "highest open-loop heater power", args=(("heater_power", "watts"),)),
        Limit("max_pressure_Pa", "Pa", "highest chamber pressure (flight vents above it)", telemetry="pressure_Pa"),
    )

    def seal(self) -> Motion:
        """Close and seal the chamber lid."""
        return self.start("lid", sealed=1)

    def open_lid(self) -> Motion:
        """Open the chamber lid (regolith is accepted only with the lid open)."""
        return self.start("lid", sealed=0)

    def heater_power(self, watts: float) -> AckResult:
        """Drive the heater open-loop at ``watts`` W (0 = off)."""
        return self.act("heater_power", watts=watts)

    def heater_setpoint(self, kelvin: float) -> AckResult:
        """Regulate the chamber to ``kelvin`` K with the heater (0 = off)."""
        return self.act("heater_setpoint", kelvin=kelvin)

    def vent(self, open_: bool) -> AckResult:
        """Open (True) or close (False) the vent valve."""
        return self.act("vent", open=int(bool(open_)))

    def dump(self) -> Motion:
        """Dump the tailings out of the chamber (the lid must be open)."""
        return self.start("dump")

    def transfer_water(self) -> Motion:
        """Move the cold-trap water into the tank."""
        return self.start("transfer_water")


#: Short name, as the device is called in the configuration.
Extractor = ThermalExtractor
