"""Running the simulated world inside a process that also runs flight (``isru flight``, ``isru demo``).

Flight never imports ``sim_hw``: whether a device is simulated is decided by its port URL alone. The
commands that start flight use this module to put the world behind the ``sim://`` ports on flight's clock,
and to give the mission the simulated terrain's candidate sites when the configuration lists none.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from base.clock import Clock


def uses_simulation(config: Any) -> bool:
    """True if any device of ``config`` is on a ``sim://`` port."""
    return any(dev.port.startswith("sim://") for dev in config.devices.values())


def build_world(config: Any, clock: Clock) -> Any:
    """The simulated world of ``config.sim`` on ``clock`` (faults from the configuration scheduled)."""
    import sim_hw  # noqa: F401  (registers sim://)
    from sim_hw.world import SimWorld

    return SimWorld.from_config(config.sim, clock)


def with_terrain_sites(config: Any, world: Any) -> Any:
    """``config`` with the world's sites as the mission's candidates, unless the configuration lists its own."""
    from flight.mission_config import SiteConfig

    if config.mission.sites:
        return config
    sites = [SiteConfig(site.x_m, site.y_m) for site in world.sites]
    return dataclasses.replace(config, mission=dataclasses.replace(config.mission, sites=sites))


def install_simulation(config: Any, clock: Clock) -> tuple[Any, str | None]:
    """If ``config`` uses ``sim://`` ports: build and install the world on ``clock``; returns the configuration
    flight should run (terrain sites filled in) and the installed world's name (None when nothing is simulated)."""
    if not uses_simulation(config):
        return config, None
    from sim_hw.registry import install_world

    world = build_world(config, clock)
    install_world(world)
    return with_terrain_sites(config, world), "default"
