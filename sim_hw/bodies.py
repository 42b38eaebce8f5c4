"""Planetary bodies the simulated rover can work on: gravity and surface environment.

Values and their published sources are listed in ``docs/sim.md``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Body:
    """A body's surface environment. SI units."""

    name: str
    gravity_m_s2: float
    surface_temp_K: float
    ambient_pressure_Pa: float
    doc: str


BODIES: dict[str, Body] = {
    body.name: body
    for body in (
        Body("moon", 1.62, 250.0, 1e-10, "Lunar polar region: 1.62 m/s^2, hard vacuum"),
        Body(
            "asteroid",
            1.0e-4,
            200.0,
            0.0,
            "Small C-type near-Earth asteroid (~500 m diameter): microgravity, no atmosphere",
        ),
        Body("earth", 9.81, 293.0, 101_325.0, "Earth test rig with regolith simulant, in air"),
    )
}


def body_by_name(name: str) -> Body:
    """The body called ``name``; raises ``KeyError`` naming the known ones."""
    try:
        return BODIES[name]
    except KeyError:
        raise KeyError(f"unknown body {name!r}; expected one of {sorted(BODIES)}") from None
