"""The ground hub's shared state survives the hub's own restart: ``isru console`` as its own process on a real
flight process over the CURVE link, stopped and started again on the same archive file — a shelf comes back
with the same end, one whose end passed while the hub was down is dropped with a journal note."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from base.clock import RealClock
from ground.accounts import Accounts
from ground.errors import HubError
from ground.hub_client import HubClient
from isru.stack import SimStack, free_port

ISRU = [sys.executable, "-m", "isru.cli"]
ROOT = str(Path(__file__).resolve().parents[2])
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))} | {"PYTHONPATH": ROOT}
PASSWORD = "ada's long password"
WAIT_S = 40.0

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def flight(tmp_path: Path) -> Iterator[SimStack]:
    """A flight process only (its keys, configuration and spool in ``tmp_path/stack``); no ground of its own."""
    from link.keys import init_keys
    from link.ledger_keys import init_ledger_keys

    stack = SimStack(tmp_path / "stack", warp=2.0)
    init_keys(stack.keys_dir)
    init_ledger_keys(stack.keys_dir)
    stack._write_config()
    stack.start_flight()
    try:
        yield stack
    finally:
        stack.stop_flight()


def _start_hub(config: Path, url: str) -> subprocess.Popen[str]:
    hub = subprocess.Popen(
        [*ISRU, "console", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    )
    client = HubClient(url, "ada", PASSWORD)
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            client.dictionary()
            return hub
        except HubError as exc:
            assert hub.poll() is None and time.monotonic() < deadline, f"the hub did not acquire the link: {exc}"
            time.sleep(0.3)


def _stop_hub(hub: subprocess.Popen[str]) -> str:
    hub.terminate()
    output = hub.communicate(timeout=30)[0]
    assert hub.returncode == 0, output
    return output


def test_a_shelf_survives_a_hub_restart_with_its_end_and_an_expired_one_is_dropped_in_the_journal(
    flight: SimStack, tmp_path: Path
) -> None:
    Accounts(tmp_path / "accounts.sqlite", RealClock()).add("ada", "operator", PASSWORD)
    port = free_port()
    archive = tmp_path / "hub.sqlite"
    config = tmp_path / "hub.toml"
    config.write_text(
        f'[link]\nendpoint = "{flight.endpoint}"\nkeys = "{flight.keys_dir}"\n'
        f'[ground]\nconsole_port = {port}\naccounts = "{tmp_path / "accounts.sqlite"}"\narchive = "{archive}"\n'
        'rover = "moon-1"\n'
    )
    url = f"http://127.0.0.1:{port}"
    ada = HubClient(url, "ada", PASSWORD)
    hub = _start_hub(config, url)
    try:
        limited = [c["name"] for c in ada.dictionary()["telemetry"] if c.get("alarm_high") is not None]
        long_one, short_one = limited[0], limited[1]
        until = ada.shelve(long_one, 900.0)
        ada.shelve(short_one, 1.0)
        assert set(ada.alarms()["shelves"]) == {long_one, short_one}
    finally:
        _stop_hub(hub)
    time.sleep(1.5)  # the short shelf ends while the hub is down
    hub = _start_hub(config, url)
    try:
        board = ada.alarms()
        assert board["rover"] == "moon-1"
        assert board["shelves"] == {long_one: pytest.approx(until, abs=1e-6)}  # same end, not restarted
        ada.unshelve(long_one)
        assert ada.alarms()["shelves"] == {}
    finally:
        _stop_hub(hub)
    with sqlite3.connect(archive) as raw:
        notes = [
            (name, json.loads(state)["journal"])
            for name, state in raw.execute("SELECT name, state FROM alarm_journal ORDER BY rowid")
            if "journal" in json.loads(state)
        ]
        shelves_left = raw.execute("SELECT COUNT(*) FROM alarm_shelves").fetchone()[0]
    assert notes[:2] == [(long_one, "shelved"), (short_one, "shelved")]
    assert set(notes[2:4]) == {(short_one, "shelf_expired"), (long_one, "shelf_restored")}  # at the restart
    assert notes[4:] == [(long_one, "unshelved")]
    assert shelves_left == 0
