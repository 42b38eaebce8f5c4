"""Driver of the power system: battery, solar array and switched load buses (ICD device ``power``,
address 0x07)."""

from __future__ import annotations

from dataclasses import dataclass

from hal.device import Device
from hal.errors import CommandError
from hal.icd import POWER, POWER_BUSES
from hal.limits import Limit
from hal.protocol import AckResult
from hal.telemetry import TelemetryBase


@dataclass(frozen=True)
class PowerTelemetry(TelemetryBase):
    """One power telemetry snapshot (SI units, as in the ICD); bus i is bit i of ``bus_mask``."""

    battery_V: float
    battery_A: float  # positive discharging, A
    soc: float  # state of charge, 0..1
    solar_W: float
    load_W: float
    avionics_W: float
    drill_W: float
    scoop_W: float
    extractor_W: float
    anchor_W: float
    drive_W: float
    imu_W: float
    comms_W: float
    bus_mask: int

    @property
    def bus_loads_W(self) -> dict[str, float]:
        """Load of each bus by name, W."""
        return {bus: getattr(self, f"{bus}_W") for bus in POWER_BUSES}

    @property
    def bus_on(self) -> dict[str, bool]:
        """Whether each bus is switched on, by name."""
        return {bus: bool(self.bus_mask >> i & 1) for i, bus in enumerate(POWER_BUSES)}

    @property
    def net_W(self) -> float:
        """Solar input minus total load, W (positive: charging)."""
        return self.solar_W - self.load_W


def bus_index(bus: str | int) -> int:
    """The index of ``bus``, given by name or index; :class:`CommandError` names the valid buses."""
    if isinstance(bus, str):
        try:
            return POWER_BUSES.index(bus)
        except ValueError:
            raise CommandError(f"power: unknown bus {bus!r}; expected one of {list(POWER_BUSES)}") from None
    if isinstance(bus, bool) or not isinstance(bus, int) or not 0 <= bus < len(POWER_BUSES):
        raise CommandError(
            f"power: bus {bus!r}; expected a name among {list(POWER_BUSES)} or 0..{len(POWER_BUSES) - 1}"
        )
    return bus


class Power(Device[PowerTelemetry]):
    """The power system: switches load buses and reports the battery, the array and every bus load."""

    spec = POWER
    telemetry_class = PowerTelemetry
    LIMITS = (
        Limit("min_soc", "", "lowest state of charge (flight sheds loads below it)", telemetry="soc", kind="min"),
        Limit("max_load_W", "W", "highest total load (flight sheds loads above it)", telemetry="load_W"),
    )

    def bus(self, bus: str | int, on: bool) -> AckResult:
        """Switch a bus (by name, e.g. ``"drill"``, or index) on or off."""
        return self.act("bus", index=bus_index(bus), on=int(bool(on)))
