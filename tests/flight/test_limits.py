"""Limit bands in the channel dictionary: derived from the configuration's own limits, overridable in TOML."""

from __future__ import annotations

import pytest

from base.config_loader import ConfigError, load_text
from flight.limits import LimitBand, apply_limits, derived_limits
from flight.telemetry import ChannelSpec, TelemetryTable
from isru.config import IsruConfig, default_config_path


def config_with(extra: str) -> IsruConfig:
    return load_text(default_config_path().read_text() + "\n" + extra, IsruConfig)


def test_bands_follow_the_interlock_and_device_limits() -> None:
    config = config_with("[flight.interlocks]\nlow_battery_soc = 0.25\nmax_chamber_temp_K = 650.0\n")
    bands = derived_limits(config)
    assert bands["power.soc"] == LimitBand(warn_low=0.5, alarm_low=0.25)
    assert bands["extractor.chamber_temp_K"].alarm_high == 650.0
    assert bands["drill.torque_Nm"].alarm_high == config.devices["drill"].limits["max_torque_Nm"]


def test_configured_bands_are_read_and_checked() -> None:
    config = config_with('[flight.limits."drill.bit_temp_K"]\nwarn_high = 450.0\nalarm_high = 500.0\n')
    assert config.flight.limits["drill.bit_temp_K"] == LimitBand(warn_high=450.0, alarm_high=500.0)
    with pytest.raises(ConfigError, match="alarm_high"):
        config_with('[flight.limits."drill.bit_temp_K"]\nalarm_high = "hot"\n')


def test_apply_keeps_the_channel_entry_and_adds_the_band() -> None:
    table = TelemetryTable()
    table.define(ChannelSpec("power.soc", "", "state of charge"))
    assert apply_limits(table, {"power.soc": LimitBand(alarm_low=0.2), "new.channel": LimitBand(warn_high=1.0)}) == 2
    entries = {entry["name"]: entry for entry in table.dictionary()}
    expected = {"name": "power.soc", "unit": "", "description": "state of charge", "type": "float", "alarm_low": 0.2}
    assert entries["power.soc"] == expected
    assert entries["new.channel"]["warn_high"] == 1.0
