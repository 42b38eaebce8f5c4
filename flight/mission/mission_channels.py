"""The mission's telemetry channels: their dictionary entries (values come from
:meth:`flight.mission.machine.Mission.telemetry`)."""

from __future__ import annotations

from flight.telemetry import ChannelSpec


def mission_channels() -> list[ChannelSpec]:
    """Dictionary entries of the ``mission.*`` channels."""
    return [
        ChannelSpec("mission.state", "enum", "current leaf state of the mission machine (docs/mission.md)", "str"),
        ChannelSpec("mission.top_state", "enum", "current top-level state of the mission machine", "str"),
        ChannelSpec("mission.cycle", "count", "extraction cycles completed", "int", alarm_low=0),
        ChannelSpec("mission.cycles_target", "count", "extraction cycles the campaign aims for", "int"),
        ChannelSpec("mission.site", "index", "index of the site worked, -1 before the first", "int"),
        ChannelSpec("mission.water_kg", "kg", "water extracted since the campaign began", alarm_low=0.0),
        ChannelSpec("mission.regolith_kg", "kg", "regolith processed since the campaign began", alarm_low=0.0),
        ChannelSpec("mission.energy_Wh", "Wh", "energy used by the campaign so far", alarm_low=0.0),
        ChannelSpec("mission.held", "enum", "the state a hold interrupted ('' when not held)", "str"),
        ChannelSpec("mission.parked", "enum", "the working state a recharge resumes ('' when none)", "str"),
        ChannelSpec("mission.energy_mode", "enum", "working, recharging or hibernating", "str"),
        ChannelSpec(
            "mission.energy_available_Wh", "Wh", "battery energy above the reserve, for planning", alarm_low=0.0
        ),
    ]
