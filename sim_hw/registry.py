"""Named simulated worlds that ``sim://`` ports attach to."""

from __future__ import annotations

import threading

from base.clock import RealClock
from sim_hw.errors import WorldUrlError
from sim_hw.world import SimWorld

_WORLDS: dict[str, SimWorld] = {}
_LOCK = threading.Lock()
_URL_PARAMS = ("world", "seed", "site", "body")


def install_world(world: SimWorld, name: str = "default") -> SimWorld:
    """Make ``world`` the one that ``sim://DEVICE?world=name`` ports attach to; returns it."""
    with _LOCK:
        _WORLDS[name] = world
    return world


def uninstall_world(name: str = "default") -> None:
    """Forget the world installed under ``name`` (no error if there is none)."""
    with _LOCK:
        _WORLDS.pop(name, None)


def installed_world(name: str = "default") -> SimWorld | None:
    """The world installed under ``name``, or None."""
    return _WORLDS.get(name)


def world_for_url(params: dict[str, str]) -> SimWorld:
    """The world a ``sim://`` URL names, creating it on a real-time clock if it does not exist.

    Raises :class:`WorldUrlError` for unknown parameters, malformed numbers, or a seed/site/body that
    disagrees with the existing world.
    """
    unknown = sorted(set(params) - set(_URL_PARAMS))
    if unknown:
        raise WorldUrlError(f"unknown sim:// parameter(s) {unknown}; expected among {list(_URL_PARAMS)}")
    name = params.get("world", "default")
    try:
        seed = int(params["seed"]) if "seed" in params else None
        site = int(params["site"]) if "site" in params else None
    except ValueError as exc:
        raise WorldUrlError(f"seed and site must be integers: {exc}") from exc
    body = params.get("body")
    with _LOCK:
        world = _WORLDS.get(name)
        if world is None:
            world = SimWorld(RealClock(), body=body or "moon", seed=seed or 0, site=site or 0)
            _WORLDS[name] = world
            return world
    if seed is not None and seed != world.seed:
        raise WorldUrlError(f"world {name!r} runs seed {world.seed}; the URL asks for seed {seed}")
    if body is not None and body != world.body.name:
        raise WorldUrlError(f"world {name!r} is on {world.body.name}; the URL asks for {body}")
    return world
