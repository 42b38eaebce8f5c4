"""Mission set points as run-time parameters, generated from :class:`~flight.mission_config.MissionConfig`.

Each scalar field of the ``[mission]`` table becomes parameter ``mission.<field>`` with the field's type,
unit, range and description (one definition: the config schema). The configuration gives the starting
value; ``param.set`` changes it while the rover runs and ``param.save`` keeps it across restarts.
:class:`LiveMissionConfig` is what the mission machine reads: the config's attributes, but with current
parameter values.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from flight.mission_config import MissionConfig
from flight.params import ParameterStore, ParamSpec

PREFIX = "mission."
_TYPES = {bool: "bool", int: "int", float: "float", str: "str"}


def mission_param_specs(config: MissionConfig) -> list[ParamSpec]:
    """A parameter for every scalar field of ``config``, defaulting to the configured value."""
    hints = typing.get_type_hints(MissionConfig)
    specs = []
    for field in dataclasses.fields(MissionConfig):
        kind = _TYPES.get(hints[field.name])
        if kind is None:
            continue  # lists (candidate sites) are configuration, not parameters
        meta = field.metadata
        ranged = kind in ("int", "float")
        specs.append(
            ParamSpec(
                PREFIX + field.name,
                kind,
                meta.get("unit", ""),
                meta.get("lo") if ranged else None,
                meta.get("hi") if ranged else None,
                getattr(config, field.name),
                meta.get("doc", ""),
            )
        )
    return specs


class LiveMissionConfig:
    """Attribute access to the mission configuration, scalar values taken from the parameter store."""

    def __init__(self, config: MissionConfig, params: ParameterStore) -> None:
        self._config = config
        self._params = params

    def __getattr__(self, name: str) -> Any:
        key = PREFIX + name
        if key in self._params.specs:
            return self._params.get(key)
        return getattr(self._config, name)
