"""Partner tools talk to the ground hub, never to flight: the hub's JSON API and ``isru ground send --hub``,
over real HTTP to a real hub (the console server in this process, its ground core on the real CURVE link to
a flight segment on wall time), with accounts and the audit trail in real SQLite files."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nicegui import ui
from nicegui.server import Server
from nicegui.testing.general import nicegui_reset_globals

from base.clock import RealClock
from flight.link_server import LinkServer
from ground.accounts import Accounts
from ground.archive import Archive
from ground.audit import AuditLog
from ground.console.app import register_pages
from ground.console.auth import HubAuth, allowed_origins
from ground.console.context import ConsoleContext
from ground.core import GroundCore
from ground.errors import HubError
from ground.hub_client import HubClient
from link.keys import init_keys
from sim_hw.registry import uninstall_world
from tests.support.console_support import BATTERY_CHANNEL, FlightThread, build_flight

WAIT_S = 20.0
PASSWORDS = {"ada": "ada's long password", "esa": "esa partner password"}

pytestmark = pytest.mark.timeout(120)


@dataclass
class Hub:
    url: str
    server: LinkServer
    core: GroundCore
    audit: AuditLog


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    tmp = tmp_path_factory.mktemp("hub-api")
    keys = init_keys(tmp / "keys")
    app, _world, _clock = build_flight(clock=RealClock())
    server = LinkServer.attach(app, endpoint="tcp://127.0.0.1:0", keys_dir=keys)
    flight = FlightThread(app).start()
    clock = RealClock()
    archive = Archive(tmp / "hub.sqlite")
    audit = AuditLog(archive.path, clock, rover="moon-1")
    core = GroundCore.connect(server.endpoint, archive, clock, keys_dir=keys, identity="archive", audit=audit)
    core.link_client.run_in_thread()
    accounts = Accounts(tmp / "accounts.sqlite", clock)
    accounts.add("ada", "operator", PASSWORDS["ada"])
    accounts.add("esa", "observer", PASSWORDS["esa"])
    port = _free_port()
    ctx = ConsoleContext(core, clock)
    ctx.auth = HubAuth(accounts, audit, allowed_origins("127.0.0.1", port, tls=False))
    os.environ["NICEGUI_SCREEN_TEST_PORT"] = str(port)
    with nicegui_reset_globals():
        register_pages(ctx)
        web = threading.Thread(
            target=lambda: ui.run(
                port=port, host="127.0.0.1", reload=False, show=False, show_welcome_message=False, storage_secret="s"
            ),
            daemon=True,
        )
        web.start()
        try:
            deadline = time.perf_counter() + WAIT_S
            while core.role != "archive" or BATTERY_CHANNEL not in core.latest:
                assert time.perf_counter() < deadline, f"link not acquired: {core.link}"
                time.sleep(0.05)
            url = f"http://127.0.0.1:{port}"
            while True:
                try:
                    urllib.request.urlopen(url + "/login", timeout=2.0).close()
                    break
                except OSError:
                    assert time.perf_counter() < deadline + WAIT_S, "the hub did not answer"
                    time.sleep(0.2)
            yield Hub(url, server, core, audit)
        finally:
            Server.instance.should_exit = True
            web.join(timeout=10)
            os.environ.pop("NICEGUI_SCREEN_TEST_PORT", None)
            ctx.detach()
            core.link_client.stop()
            core.link_client.close()
            core.close()
            audit.close()
            archive.close()
            accounts.close()
            flight.stop()
            server.close()
            app.close()
            uninstall_world()


def test_a_partner_gets_the_full_snapshot_and_cannot_command(hub: Hub) -> None:
    partner = HubClient(hub.url, "esa", PASSWORDS["esa"])
    snapshot = partner.snapshot()
    assert snapshot["link"] == "acquired" and snapshot["rover"]
    assert set(hub.core.latest) <= set(snapshot["latest"]) and BATTERY_CHANNEL in snapshot["latest"]
    before = hub.server.stats["commands"]
    with pytest.raises(HubError) as refused:
        partner.send("drive.stop")
    assert refused.value.status == 403 and "'esa' is an observer" in str(refused.value)
    assert hub.server.stats["commands"] == before
    assert {s.identity.name for s in hub.server.sessions.values()} == {"archive"}  # partners add no session


def test_bad_credentials_are_refused_with_the_reason(hub: Hub) -> None:
    for user, password, expected in (("ada", "wrong password", "wrong password"), ("bob", "x" * 9, "unknown user")):
        with pytest.raises(HubError) as refused:
            HubClient(hub.url, user, password).snapshot()
        assert refused.value.status == 401 and expected in str(refused.value)


def test_an_operator_commands_through_the_hub_as_herself(hub: Hub) -> None:
    ada = HubClient(hub.url, "ada", PASSWORDS["ada"])
    with pytest.raises(HubError) as unconfirmed:
        ada.send("drive.twist", {"v_m_s": 0.1, "omega_rad_s": 0.0})
    assert unconfirmed.value.status == 409
    with pytest.raises(HubError) as invalid:
        ada.send("drive.twist", {"v_m_s": 99.0, "omega_rad_s": 0.0}, confirmed=True)
    assert invalid.value.status == 400 and "v_m_s" in str(invalid.value)
    command_id = ada.send("drive.stop")
    deadline = time.perf_counter() + WAIT_S
    while (record := ada.command(command_id))["terminal"] is None:
        assert time.perf_counter() < deadline, record
        time.sleep(0.1)
    assert record["terminal"] == "completed" and record["source"] == "ada"
    assert any(e.user == "ada" and e.target == "drive.stop" for e in hub.audit.entries(action="command"))


def test_isru_ground_send_through_the_hub(hub: Hub, tmp_path: Path) -> None:
    env = {**os.environ, "ISRU_HUB_PASSWORD": PASSWORDS["ada"], "ISRU_HOME": str(tmp_path)}
    command = [sys.executable, "-m", "isru.cli", "ground", "send", "drill.self_test", "--hub", hub.url]
    done = subprocess.run([*command, "--user", "ada"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    stages = [line.split()[1] for line in done.stdout.splitlines()]
    assert stages[0] == "accepted" and stages[-1] == "completed"
    refused = subprocess.run([*command, "--user", "esa"], capture_output=True, text=True, env=env, timeout=60)
    assert refused.returncode == 3 and "wrong password for 'esa'" in refused.stderr
