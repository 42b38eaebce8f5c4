"""What an emulated device sees of its world: the part of :class:`~sim_hw.world.SimWorld` that firmware
and device models use. They type against this protocol, so the world can build them without a cycle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from sim_hw.bodies import Body
from sim_hw.rover_state import RoverState
from sim_hw.terrain import Site


class PoweredDevice(Protocol):
    """Another device as a neighbour sees it: something on a bus that draws power."""

    def power_W(self) -> float:
        """Electrical power the device draws now, watts."""
        ...


class WorldView(Protocol):
    """The world as a device sees it (read-only attributes; the world owns and advances them)."""

    @property
    def t(self) -> float:
        """World time, seconds."""
        ...

    @property
    def body(self) -> Body:
        """The planetary body the rover is on."""
        ...

    @property
    def rover(self) -> RoverState:
        """The shared physical state of the rover (devices write the fields they cause)."""
        ...

    @property
    def sites(self) -> Sequence[Site]:
        """Every candidate site (the same object until the sites change)."""
        ...

    @property
    def site(self) -> Site | None:
        """The site the rover stands on, or None between sites."""
        ...

    @property
    def devices(self) -> Mapping[str, PoweredDevice]:
        """The world's devices by name."""
        ...

    def now(self) -> float:
        """The present on the world's clock, seconds (at or after :attr:`t`, which lags by part of a step):
        when a byte arriving now arrived."""
        ...

    def wakeups_changed(self) -> None:
        """Say that this device's next output time changed outside a step."""
        ...
