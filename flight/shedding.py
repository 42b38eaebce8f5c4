"""Load shedding on a low battery that never strands hardware.

Cutting a bus stops whatever it feeds where it is. For the drill that would leave the auger in the hole,
where nothing can pull it out until the battery has recovered (and the ice may freeze it in): so the drill is
first withdrawn and its bus cut only once it is out of the ground, or once :data:`RETRACT_LIMIT_S` has
passed (a retract that does not finish must not drain the battery). The extractor's heater is switched off and
its vent valve closed first (a lid motion under way finishes, for at most :data:`LID_LIMIT_S`), the drive's
wheels are stopped; then their buses are cut. Each bus is shed once per low-battery episode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flight.events import EventLog
from flight.rig import Rig
from flight.telemetry import TelemetryTable
from hal.errors import HalError

#: Buses shed on a low battery, in this order.
SHED_BUSES = ("drill", "extractor", "drive")
#: The devices each shed bus feeds that are stopped before it is cut (the drive bus feeds the wheels on the Moon
#: and the hopper's flywheel on an asteroid; a rig has the devices it has).
BUS_DEVICES = {"drive": ("drive", "hopper")}
#: Rate of the shedding retract, m/s (the drill's fastest withdrawal: 1 m in 100 s).
RETRACT_RATE_M_S = 0.01
#: Longest a shedding retract may take before the drill bus is cut anyway, s.
RETRACT_LIMIT_S = 240.0
#: A shedding retract that was stopped is sent again after this long, s.
RESEND_S = 1.0
#: Longest a lid motion may take to finish before the extractor bus is cut anyway, s.
LID_LIMIT_S = 30.0
#: A bus drawing no more than this is left on (nothing to save), W.
IDLE_LOAD_W = 1.0


class LoadShedder:
    """Sheds :data:`SHED_BUSES` while the battery is low, making each device safe before its bus goes off.

    ``cut_bus(bus, reason)`` switches a bus off; ``bus_on(bus)`` reads the bus state from telemetry;
    ``drill_deployed()`` says whether the auger is below the surface.
    """

    def __init__(
        self,
        rig: Rig,
        table: TelemetryTable,
        events: EventLog,
        cut_bus: Callable[[str, str], bool],
        bus_on: Callable[[str], bool],
        drill_deployed: Callable[[], bool],
    ) -> None:
        self.rig = rig
        self.table = table
        self.events = events
        self._cut_bus = cut_bus
        self._bus_on = bus_on
        self._drill_deployed = drill_deployed
        self._shed: set[str] = set()
        #: Clock time (s) each device's make-safe step began in this episode.
        self._began: dict[str, float] = {}
        self._retract_sent_at = -float("inf")

    @property
    def withdrawing(self) -> bool:
        """A shedding retract of the drill is under way."""
        return "drill" in self._began and "drill" not in self._shed

    def shed(self) -> None:
        """One control tick with the battery low: advance the make-safe steps, cut what is safe to cut."""
        for bus in SHED_BUSES:
            if bus in self._shed or not self._bus_on(bus):
                continue
            if bus == "drill" and self._drill_deployed():
                self._withdraw_drill()
                continue
            if float(self.table.get(f"power.{bus}_W", 0.0) or 0.0) <= IDLE_LOAD_W:
                continue
            if bus == "extractor" and not self._extractor_ready():
                continue
            for device in BUS_DEVICES.get(bus, ()):
                if device in self.rig.devices:
                    self._stop(device)
            self._shed.add(bus)  # once per episode: the bus telemetry shows the cut only at the next power sample
            self._cut_bus(bus, "low battery: load shed")

    def clear(self) -> None:
        """The battery has recovered: the next low-battery episode sheds again."""
        self._shed.clear()
        self._began.clear()
        self._retract_sent_at = -float("inf")

    def _now(self) -> float:
        return self.rig.clock.monotonic()

    def _withdraw_drill(self) -> None:
        """Withdraw the drill; a retract that something else stopped (SAFE stops every actuator, the mission's
        activity ends its feed) is sent again every :data:`RESEND_S`. Cut the bus at :data:`RETRACT_LIMIT_S`."""
        now = self._now()
        began = self._began.get("drill")
        if began is None:
            self._began["drill"] = began = now
            self.events.warning(
                "interlocks", "shed_retract", "low battery: withdrawing the drill before its bus is shed"
            )
        elif now - began >= RETRACT_LIMIT_S:
            self.events.critical(
                "interlocks", "shed_retract_timeout", f"the drill is still in the ground after {RETRACT_LIMIT_S:g} s"
            )
            self._shed.add("drill")
            self._cut_bus("drill", "low battery: load shed (the withdrawal did not finish)")
            return
        if self.table.get("drill.mode") == "retracting" or now - self._retract_sent_at < RESEND_S:
            return
        self._retract_sent_at = now
        try:
            self.rig.device("drill").command("retract", rate_m_s=RETRACT_RATE_M_S)
        except HalError as exc:
            self.events.error("interlocks", "shed_retract_failed", f"drill.retract: {exc}")
            self._shed.add("drill")
            self._cut_bus("drill", "low battery: load shed (the drill could not be withdrawn)")

    def _extractor_ready(self) -> bool:
        """Heater off and vent closed (the extractor's stop); True once no lid motion is under way."""
        began = self._began.get("extractor")
        if began is None:
            self._began["extractor"] = began = self._now()
            for name, args in (
                ("heater_setpoint", {"kelvin": 0.0}),
                ("heater_power", {"watts": 0.0}),
                ("vent", {"open": 0}),
            ):
                try:
                    self.rig.device("extractor").command(name, **args)
                except HalError as exc:  # the bus cut that follows switches the heater off and closes the valve
                    self.events.error("interlocks", "shed_stop_failed", f"extractor.{name}: {exc}")
        lid_moving = str(self.table.get("extractor.mode", "")) == "sealing"
        return not lid_moving or self._now() - began >= LID_LIMIT_S

    def _stop(self, device: str) -> None:
        try:
            self.rig.device(device).command("stop")
        except HalError as exc:  # the bus cut that follows stops it anyway
            self.events.error("interlocks", "shed_stop_failed", f"{device}.stop: {exc}")

    def telemetry(self) -> dict[str, Any]:
        """Shedding state as channels."""
        return {"interlocks.shed_buses": ",".join(sorted(self._shed)), "interlocks.shed_withdrawing": self.withdrawing}
