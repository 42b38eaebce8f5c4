"""The conformance suite (``isru conformance``) against every emulator, over the serial byte path.

The in-process ``sim://`` port carries real frames (COBS, CRC, the emulator's decoder) on a virtual clock,
so the dead-man's timing is exact; one device also runs over real pseudo-terminals on the real clock
(``sim_hw.pty_server``, the path ``isru sim --pty`` serves). Firmware that breaks the ICD in the ways the
emulators once did is caught, check by check.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import RealClock, VirtualClock
from hal.conformance import Report, run_conformance
from hal.conformance_link import RawLink
from hal.icd import DRILL, Completion
from isru.cli import main as isru_main
from sim_hw.devices import DEVICE_NAMES
from sim_hw.devices.drill import DrillFirmware
from sim_hw.pty_server import PtyServer
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld


@pytest.fixture
def world() -> Iterator[SimWorld]:
    try:
        yield install_world(SimWorld(VirtualClock(), seed=5))
    finally:
        uninstall_world()


def conformance(world: SimWorld, device: str) -> Report:
    link = RawLink.open(f"sim://{device}", world.clock, 0xFF)
    try:
        return run_conformance(link)
    finally:
        link.close()


@pytest.mark.parametrize("device", DEVICE_NAMES)
def test_every_emulator_passes_the_conformance_suite(world: SimWorld, device: str) -> None:
    report = conformance(world, device)
    assert report.device == device
    assert report.passed, report.text()
    names = {r.name for r in report.results}
    assert {"identify definition hash", "empty COMMAND → BAD_LENGTH"} <= names
    assert len(report.results) >= 30
    if device not in ("imu", "power"):  # the two without an actuator the dead-man stops
        assert {"dead-man is never early", "dead-man latches its fault"} <= names
    if device != "power":  # the one without a motion command
        assert {"an unacknowledged COMMAND_COMPLETE is resent", "a retried motion runs once"} <= names


class OldDrill(DrillFirmware):
    """A drill that breaks the ICD the way the emulators once did: another definition's hash, ``stop``
    without MODE_CHANGE, and a retry cache that ignores the payload."""

    def _identify_payload(self) -> bytes:
        payload = bytearray(super()._identify_payload())
        payload[-4:] = (DRILL.icd_hash ^ 0x5A5A5A5A).to_bytes(4, "little")
        return bytes(payload)

    def cmd_stop(self) -> None:
        self.stop_actuators()
        self.end_motion(Completion.STOPPED)
        self.mode = 0  # no MODE_CHANGE

    def _handle(self, frame):  # type: ignore[no-untyped-def]
        if self._last_request is not None:  # the cache "matches" whatever payload a retry carries
            seq, kind, _payload, wire = self._last_request
            self._last_request = (seq, kind, frame.payload, wire)
        super()._handle(frame)


def test_the_suite_names_each_deviation_of_a_nonconforming_drill(world: SimWorld) -> None:
    world.add_device("drill", OldDrill(world, serial_number=1, seed=5))
    report = conformance(world, "drill")
    failed = {r.name for r in report.failures()}
    assert failed == {
        "identify definition hash",
        "stop → MODE_CHANGE(0)",
        "RETRY, same seq, other payload → answered afresh",
    }, report.text()
    (hash_check,) = [r for r in report.results if r.name == "identify definition hash"]
    assert f"0x{DRILL.icd_hash:08X}" in hash_check.detail
    assert f"0x{DRILL.icd_hash ^ 0x5A5A5A5A:08X}" in hash_check.detail


def test_conformance_over_real_ptys_on_the_real_clock() -> None:
    world = SimWorld(RealClock(), seed=5, devices=("drill", "imu"))
    server = PtyServer(world)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for device in ("drill", "imu"):
            link = RawLink.open(server.paths[device], world.clock, 0xFF)
            try:
                report = run_conformance(link)
            finally:
                link.close()
            assert report.passed, report.text()
    finally:
        server.stop()
        thread.join(timeout=5.0)
        server.close()


def test_isru_conformance_command_reports_and_sets_its_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    world = install_world(SimWorld(RealClock(), seed=5, devices=("imu",)), "conformance")
    try:
        assert isru_main(["conformance", "sim://imu?world=conformance", "--failures-only"]) == 0
        out = capsys.readouterr().out
        assert "imu:" in out and "checks passed" in out and "FAIL" not in out
    finally:
        uninstall_world("conformance")
    assert world.device("imu").received("calibrate")
    assert isru_main(["conformance", "/dev/does-not-exist"]) == 2
    assert "cannot open /dev/does-not-exist" in capsys.readouterr().out
