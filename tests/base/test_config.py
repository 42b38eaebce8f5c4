"""Configuration loading: the embedded default, and every kind of broken file, from real files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from base.config_loader import ConfigError, load_text
from hal.config import DeviceConfig, TransportConfig
from hal.icd import DEVICES
from isru.config import IsruConfig, default_config_path, load_config


def test_the_embedded_default_loads() -> None:
    config = load_config()
    assert isinstance(config, IsruConfig)
    assert default_config_path().is_file()
    assert set(config.devices) == set(DEVICES) - {"hopper"}  # the lunar rover drives; the hopper is the asteroid's
    assert all(device.port == f"sim://{name}" for name, device in config.devices.items())
    assert config.clock.mode == "virtual"
    assert isinstance(config.transport, TransportConfig)
    assert config.devices["drill"].limits["max_rpm"] == 300.0
    assert config.devices["power"].limits == {}


def test_defaults_fill_what_a_file_leaves_out(tmp_path: Path) -> None:
    path = tmp_path / "minimal.toml"
    path.write_text('[devices.imu]\nport = "/dev/serial/by-id/usb-imu"\nbaud = 115200\n')
    config = load_config(path)
    assert config.name == "isru"
    assert config.clock.mode == "real"
    assert config.transport == TransportConfig()
    assert config.devices == {
        "imu": DeviceConfig(port="/dev/serial/by-id/usb-imu", baud=115200),
    }
    assert isinstance(config.transport.timeout_s, float)


BROKEN = [
    pytest.param(
        'name = "rig"\n[clock\nmode = "real"\n',
        "",
        "valid TOML",
        "a syntax error",
        id="syntax-error",
    ),
    pytest.param(
        "[transport]\ntimeout = 0.5\n",
        "transport.timeout",
        "one of the keys ['baud', 'reconnect_max_s', 'reconnect_min_s', 'retries', 'silence_timeout_s', 'timeout_s']",
        "unknown key 'timeout'",
        id="unknown-key",
    ),
    pytest.param(
        '[transport]\nretries = "two"\n',
        "transport.retries",
        "an integer",
        "str 'two'",
        id="wrong-type",
    ),
    pytest.param(
        "[transport]\nretries = 2.5\n",
        "transport.retries",
        "an integer",
        "float 2.5",
        id="float-for-int",
    ),
    pytest.param(
        "[transport]\ntimeout_s = 50\n",
        "transport.timeout_s",
        "a value in 0.001..10.0 s",
        "float 50.0",
        id="out-of-range",
    ),
    pytest.param(
        '[devices.drill]\nport = "sim://drill"\ndeadman_s = 0.01\n',
        "devices.drill.deadman_s",
        "a value in 0.05..60.0 s",
        "float 0.01",
        id="out-of-range-nested",
    ),
    pytest.param(
        '[clock]\nmode = "fast"\n',
        "clock.mode",
        "one of ['real', 'scaled', 'paced', 'virtual']",
        "str 'fast'",
        id="bad-choice",
    ),
    pytest.param(
        '[devices.laser]\nport = "sim://laser"\n',
        "devices.laser",
        "a device name among ['anchor', 'drill', 'drive', 'extractor', 'hopper', 'imu', 'power', 'scoop']",
        "'laser'",
        id="unknown-device",
    ),
    pytest.param(
        "[devices.drill]\nenabled = true\n",
        "devices.drill.port",
        "str",
        "nothing (the key is required)",
        id="missing-required-key",
    ),
    pytest.param(
        '[devices.drill]\nport = "sim://drill"\n[devices.drill.limits]\nmax_rpm = "fast"\n',
        "devices.drill.limits.max_rpm",
        "a number",
        "str 'fast'",
        id="wrong-type-in-table",
    ),
    pytest.param(
        'clock = "real"\n',
        "clock",
        "a table [ClockConfig]",
        "str 'real'",
        id="value-for-table",
    ),
    pytest.param(
        '[devices.drill]\nport = "sim://drill"\nenabled = 1\n',
        "devices.drill.enabled",
        "a boolean (true or false)",
        "int 1",
        id="int-for-bool",
    ),
]


@pytest.mark.parametrize(("text", "key", "expected", "found"), BROKEN)
def test_a_broken_file_names_file_key_expected_and_found(
    tmp_path: Path, text: str, key: str, expected: str, found: str
) -> None:
    path = tmp_path / "rover.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    message = str(error)
    assert str(path) in message
    assert f"expected {expected}" in message
    assert found in message
    if key:
        assert f"{path}: {key}: expected" in message
    else:  # a syntax error has no key; the parser's message points at the line instead
        assert "line 2" in message
    assert (error.source, error.key, error.expected) == (str(path), key, expected)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError, match=re.escape(f"{path}: expected a readable TOML file, found FileNotFoundError")):
        load_config(path)


def test_load_text_names_its_source() -> None:
    with pytest.raises(ConfigError, match=re.escape("<inline>: transport.baud: expected a value in 300..4000000 baud")):
        load_text("[transport]\nbaud = 1\n", IsruConfig, source="<inline>")


def test_derived_config_round_trips_the_default_with_overrides(tmp_path):
    from isru.config import derived_config_text, load_config

    text = derived_config_text({"clock": {"mode": "scaled", "warp": 20.0}, "link": {"insecure": True}})
    path = tmp_path / "derived.toml"
    path.write_text(text)
    derived, default = load_config(path), load_config()
    assert derived.clock.mode == "scaled" and derived.clock.warp == 20.0 and derived.link.insecure
    assert derived.devices == default.devices and derived.sim == default.sim and derived.mission == default.mission


def test_derived_config_writes_injected_faults_that_load_back_the_same(tmp_path):
    """The live demo hands its ``--inject`` faults to flight in the derived configuration ([[sim.faults]])."""
    from isru.config import derived_config_text, load_config
    from sim_hw.config import FaultSpec

    faults: list[dict[str, Any]] = [
        {"at_s": 3400.0, "device": "anchor", "kind": "slip", "params": {}},
        {"at_s": 0.0, "device": "anchor", "kind": "slip", "params": {"active": False}},
        {"at_s": 120.5, "device": "drive", "kind": "wheel_stall", "params": {"side": "left", "duration_s": 60.0}},
        {"at_s": 9.0, "device": "extractor", "kind": "nan", "params": {"field": "chamber_temp_K"}},
    ]
    path = tmp_path / "derived.toml"
    path.write_text(derived_config_text({"sim": {"seed": 5, "faults": faults}}))
    loaded = load_config(path).sim
    assert loaded.seed == 5
    assert loaded.faults == [FaultSpec(**fault) for fault in faults]
    assert loaded.faults[1].params["active"] is False  # a boolean stays a boolean, not 0.0
    again = tmp_path / "again.toml"  # a configuration that already lists faults derives again unchanged
    again.write_text(derived_config_text({}, path))
    assert load_config(again).sim == loaded


def test_derived_config_refuses_a_bad_override_naming_the_key():
    from isru.config import ConfigError, derived_config_text

    with pytest.raises(ConfigError, match=r"clock\.warp"):
        derived_config_text({"clock": {"warp": -1.0}})


def test_a_config_that_is_not_utf8_names_the_file_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "rover.toml"
    path.write_bytes(b'[flight]\nname = "caf\xe9"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}:2:12: expected UTF-8 text, found byte 0xe9 (invalid continuation byte)"
    assert (caught.value.source, caught.value.line, caught.value.column) == (str(path), 2, 12)


def test_a_toml_syntax_error_carries_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "rover.toml"
    path.write_text("[flight]\nname = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"{path}:2:8: expected valid TOML")) as caught:
        load_config(path)
    assert (caught.value.line, caught.value.column) == (2, 8)


def test_a_sequence_file_that_is_not_utf8_or_toml_is_a_config_error(tmp_path: Path) -> None:
    from flight.sequence_file import load_directory

    (tmp_path / "bad.toml").write_bytes(b'name = "bad"\n# caf\xe9\n[[steps]]\ncommand = "x"\n')
    with pytest.raises(ConfigError, match=re.escape(f"{tmp_path / 'bad.toml'}:2:6: expected UTF-8 text")):
        load_directory(tmp_path)
    (tmp_path / "bad.toml").write_text('name = "bad"\n[[steps]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"{tmp_path / 'bad.toml'}:2:")):
        load_directory(tmp_path)


SIM_ONLY_WITH_A_DRIVE_FAULT = """
[sim]
body = "moon"

[[sim.faults]]
at_s = 10.0
device = "drive"
kind = "wheel_stall"
params = { side = "left" }
"""


def test_a_simulator_only_config_without_devices_takes_a_fault_on_any_emulator(tmp_path):
    """`isru sim` serves every emulator when the file has no [devices] table, so its faults are checked against
    all of them (before: 'this configuration has no drive; its devices are []')."""
    from isru.config import load_config

    path = tmp_path / "sim-only.toml"
    path.write_text(SIM_ONLY_WITH_A_DRIVE_FAULT)
    assert [fault.device for fault in load_config(path).sim.faults] == ["drive"]


#: A drill on its emulator, for files that then set its limits.
DRILL = '[devices.drill]\nport = "sim://drill"\n'


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("[flight.rates]\nquiet_deadman_s = 0.5\n", "flight.rates.quiet_deadman_s", "at least four quiet control"),
        (
            "[flight.fdir_thresholds]\nchamber_overpresure = 1.0\n",
            "flight.fdir_thresholds.chamber_overpresure",
            "a watchpoint among",
        ),
        (DRILL + "[devices.drill.limits]\nmax_rmp = 300.0\n", "devices.drill.limits.max_rmp", "one of the limits"),
        (DRILL + "[devices.drill.limits]\nmax_rpm = -5.0\n", "devices.drill.limits.max_rpm", "a number above 0"),
    ],
)
def test_what_flight_would_refuse_at_start_is_refused_at_load_naming_the_file(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    path = tmp_path / "changed.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.source == str(path) and caught.value.key == key
    assert caught.value.expected.startswith(expected)


def test_fdir_thresholds_naming_watchpoints_of_the_table_load() -> None:
    rig = load_config(Path(__file__).resolve().parents[2] / "configs" / "rig.toml")
    assert rig.flight.fdir_thresholds == {"chamber_overpressure": 161325.0}
