"""The Raspberry Pi installation: the systemd unit (checked by systemd's own verifier), the udev rule and the
rig configuration, and that the three agree with each other and with the ICD."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hal.devices import driver_class
from hal.icd import DEVICES
from isru.config import load_config

REPO_ROOT = Path(__file__).resolve().parents[2]
UNIT = REPO_ROOT / "deploy" / "isru-flight.service"
UDEV_RULES = REPO_ROOT / "deploy" / "99-isru-serial.rules"
RIG_TOML = REPO_ROOT / "configs" / "rig.toml"
EXEC_START = "ExecStart=/opt/isru/.venv/bin/isru flight --config /etc/isru/rig.toml"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or (
    "/usr/bin/systemd-analyze" if Path("/usr/bin/systemd-analyze").exists() else None
)
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed here (it comes with systemd)"
)


# ------------------------------------------------------------------------------------- the checker
def _installed_executable() -> str:
    """An executable that exists, to stand in for /opt/isru/.venv/bin/isru (verify checks the binary)."""
    candidate = Path(sys.executable).parent / "isru"
    return str(candidate) if candidate.exists() else "/bin/true"


def _checkable_copy(unit_text: str, directory: Path) -> Path:
    """The unit with only its ExecStart binary replaced by one that exists; every other line kept."""
    lines = unit_text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("ExecStart=")]
    assert len(starts) == 1, f"expected one ExecStart= line, found {len(starts)}"
    binary = lines[starts[0]].removeprefix("ExecStart=").split()[0]
    lines[starts[0]] = lines[starts[0]].replace(binary, _installed_executable(), 1)
    path = directory / UNIT.name
    path.write_text("".join(lines), encoding="utf-8")
    return path


def verify_findings(unit_path: Path) -> list[str]:
    """Everything ``systemd-analyze verify`` says about a unit, plus its exit status if non-zero.

    It exits 0 on many problems (``WatchdogSec=ten`` is reported as 'Failed to parse sec value,
    ignoring' and skipped), so any output at all counts as a finding.
    """
    assert SYSTEMD_ANALYZE is not None
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(unit_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=unit_path.parent,
        env={"PATH": "/usr/bin:/bin", "SYSTEMD_LOG_COLOR": "0", "LANG": "C.UTF-8"},
    )
    findings = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    if result.returncode != 0:
        findings.append(f"systemd-analyze exited with status {result.returncode}")
    return findings


# ------------------------------------------------------------------------------------ verification
@needs_systemd_analyze
def test_unit_verifies_without_a_single_finding(tmp_path: Path) -> None:
    unit_text = UNIT.read_text(encoding="utf-8")
    copy = _checkable_copy(unit_text, tmp_path)
    # Only the binary changed.
    changed = [
        (a, b)
        for a, b in zip(unit_text.splitlines(), copy.read_text(encoding="utf-8").splitlines(), strict=True)
        if a != b
    ]
    assert [a for a, _ in changed] == [EXEC_START]
    assert verify_findings(copy) == []


@needs_systemd_analyze
@pytest.mark.parametrize(
    ("good", "bad"),
    [
        ("WatchdogSec=10", "WatchdogSec=ten"),  # "Failed to parse sec value, ignoring", exit status 0
        ("Type=notify", "Type=notfy"),
        ("Restart=on-failure", "Restart=sometimes"),
        ("ProtectSystem=strict", "ProtectSytem=strict"),  # a misspelt key is ignored, hardening silently lost
    ],
)
def test_the_checker_catches_a_bad_unit(tmp_path: Path, good: str, bad: str) -> None:
    unit_text = UNIT.read_text(encoding="utf-8")
    assert f"\n{good}\n" in unit_text
    line_number = unit_text[: unit_text.index(f"\n{good}\n") + 1].count("\n") + 1
    copy = _checkable_copy(unit_text.replace(f"\n{good}\n", f"\n{bad}\n", 1), tmp_path)
    findings = verify_findings(copy)
    # The finding names the file and line; its wording differs between systemd versions.
    bad_word = bad.split("=")[1] if bad.split("=")[0] == good.split("=")[0] else bad.split("=")[0]
    assert any(f"{UNIT.name}:{line_number}:" in line and bad_word in line for line in findings), findings


@needs_systemd_analyze
def test_the_checker_catches_a_missing_executable(tmp_path: Path) -> None:
    path = tmp_path / UNIT.name
    path.write_text(UNIT.read_text(encoding="utf-8").replace("/opt/isru/", str(tmp_path / "nowhere") + "/"))
    findings = verify_findings(path)
    assert any("is not executable" in line for line in findings), findings
    assert findings[-1].startswith("systemd-analyze exited with status")


@needs_systemd_analyze
def test_sandbox_exposure_stays_low(tmp_path: Path) -> None:
    copy = _checkable_copy(UNIT.read_text(encoding="utf-8"), tmp_path)
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=yes", "--no-pager", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "SYSTEMD_LOG_COLOR": "0", "LANG": "C.UTF-8", "SYSTEMD_COLORS": "0"},
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout + result.stderr)
    assert match, result.stdout + result.stderr
    # 10 is an unconfined service; 'OK' in systemd's scale ends at 4.0. This unit scored 1.5 when written.
    assert float(match.group(1)) <= 2.5


# ---------------------------------------------------------------------------------- unit contents
def _settings(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) for every setting, in order; keys may repeat (DeviceAllow=)."""
    settings, section = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.append((section, key, value))
    return settings


def test_unit_runs_the_flight_service_the_way_the_rig_needs() -> None:
    settings = _settings(UNIT.read_text(encoding="utf-8"))
    service = {key: value for section, key, value in settings if section == "Service"}
    assert f"ExecStart={service['ExecStart']}" == EXEC_START
    expected = {
        "Type": "notify",
        "NotifyAccess": "main",
        "WatchdogSec": "10",
        "Restart": "on-failure",
        "User": "isru",
        "StateDirectory": "isru",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "PrivateDevices": "no",
        "LimitNOFILE": "65536",
    }
    assert {key: service.get(key) for key in expected} == expected
    assert float(service["RestartSec"]) > 0
    assert "dialout" in service["SupplementaryGroups"].split()
    assert ("Install", "WantedBy", "multi-user.target") in settings


def test_device_policy_lets_the_serial_ports_through() -> None:
    settings = _settings(UNIT.read_text(encoding="utf-8"))
    allowed = {value for section, key, value in settings if section == "Service" and key == "DeviceAllow"}
    policy = [value for section, key, value in settings if section == "Service" and key == "DevicePolicy"]
    # ProtectClock= (or any DeviceAllow=) turns the device list into an allow list: the USB serial
    # classes must be on it with read and write access.
    if policy != ["auto"] or allowed:
        assert {"char-ttyUSB rw", "char-ttyACM rw"} <= allowed


# ------------------------------------------------------------------------------- rig configuration
def test_rig_config_loads_and_runs_on_real_time_and_real_ports() -> None:
    config = load_config(RIG_TOML)
    assert config.clock.mode == "real"
    assert sorted(config.devices) == sorted(set(DEVICES) - {"hopper"})  # the lunar rig drives
    for name, device in config.devices.items():
        assert device.enabled, name
        assert device.port.startswith("/dev/serial/by-id/usb-"), (name, device.port)


def test_rig_limits_are_known_to_the_drivers_and_inside_the_firmware_ranges() -> None:
    config = load_config(RIG_TOML)
    for name, device in config.devices.items():
        driver = driver_class(name)
        assert device.limits, f"{name}: the rig sets no operating limits"
        assert set(device.limits) <= set(driver.limit_names()), name
        for limit in driver.LIMITS:
            if limit.name not in device.limits:
                continue
            for command_name, arg_name in limit.args:
                (arg,) = [a for a in DEVICES[name].command(command_name).args if a.name == arg_name]
                assert arg.in_range(device.limits[limit.name]), (name, limit.name, arg)


# ------------------------------------------------------------------------------------ udev rule
_RULE_ITEM = re.compile(r'^(?P<key>[A-Z_]+)(\{(?P<attr>[A-Za-z0-9_]+)\})?(?P<op>==|!=|\+=|-=|:=|=)"(?P<value>[^"]*)"$')


def _rules() -> list[dict[str, tuple[str, str]]]:
    """Each rule line as {key or KEY{attr}: (operator, value)}; fails on a malformed item."""
    rules = []
    for number, raw in enumerate(UDEV_RULES.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        rule = {}
        for item in (part.strip() for part in line.split(",")):
            match = _RULE_ITEM.match(item)
            assert match, f"{UDEV_RULES.name}:{number}: malformed item {item!r}"
            key = match["key"] + (f"{{{match['attr']}}}" if match["attr"] else "")
            rule[key] = (match["op"], match["value"])
        rules.append(rule)
    return rules


def test_udev_rule_names_every_device_for_group_dialout() -> None:
    rules = _rules()
    names = []
    for rule in rules:
        assert rule["SUBSYSTEM"] == ("==", "tty")
        assert rule["ENV{ID_SERIAL_SHORT}"][0] == "=="
        assert rule["GROUP"] == ("=", "dialout")
        assert rule["MODE"] == ("=", "0660")
        op, link = rule["SYMLINK"]
        assert op == "+=" and link.startswith("isru/")
        names.append(link.removeprefix("isru/"))
    assert sorted(names) == sorted(set(DEVICES) - {"hopper"})  # the lunar rig drives


def test_udev_rule_and_rig_config_name_the_same_boards() -> None:
    by_rule = {rule["SYMLINK"][1].removeprefix("isru/"): rule["ENV{ID_SERIAL_SHORT}"][1] for rule in _rules()}
    config = load_config(RIG_TOML)
    for name, device in config.devices.items():
        # /dev/serial/by-id/usb-<vendor>_<product>_<serial>-if<NN>[-port<N>]
        match = re.fullmatch(r"/dev/serial/by-id/usb-\S+_(?P<serial>[^_]+)-if\d\d(-port\d+)?", device.port)
        assert match, device.port
        assert match["serial"] == by_rule[name], name


def test_rig_mission_set_points_fit_inside_the_rig_limits() -> None:
    config = load_config(RIG_TOML)
    mission, limits = config.mission, {name: device.limits for name, device in config.devices.items()}
    within = [
        (mission.drill_rpm, limits["drill"]["max_rpm"]),
        (mission.drill_depth_m, limits["drill"]["max_depth_m"]),
        (mission.feed_rate_m_s, limits["drill"]["max_feed_rate_m_s"]),
        (mission.torque_limit_Nm, limits["drill"]["max_torque_Nm"]),
        (mission.scoop_depth_m, limits["scoop"]["max_dig_depth_m"]),
        (mission.anchor_depth_m, limits["anchor"]["max_depth_m"]),
        (mission.anchor_preload_N, limits["anchor"]["max_preload_N"]),
        (config.flight.interlocks.min_preload_N, mission.anchor_preload_N),
        (mission.drive_speed_m_s, limits["drive"]["max_speed_m_s"]),
        (mission.heater_setpoint_K, limits["extractor"]["max_temp_K"]),
        (limits["extractor"]["max_temp_K"], config.flight.interlocks.max_chamber_temp_K),
        (math.radians(mission.max_tilt_deg), limits["imu"]["max_tilt_rad"]),
    ]
    assert [pair for pair in within if not pair[0] <= pair[1]] == []
    assert config.flight.store.startswith("/var/lib/isru/")  # the unit's StateDirectory, the only writable path
    assert "StateDirectory=isru" in UNIT.read_text(encoding="utf-8")
