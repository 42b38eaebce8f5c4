"""Partner tools talk to the ground hub, never to flight: the hub's JSON API and ``isru ground send --hub``,
over real HTTP to a real hub (the console server in this process, its ground core on the real CURVE link to
a flight segment on wall time), with accounts and the audit trail in real SQLite files."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nicegui import ui
from nicegui.server import Server
from nicegui.testing.general import nicegui_reset_globals

from base.clock import RealClock
from flight.app import FlightApp
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
from ground.hub_state import HubState
from ground.procedures import Procedures
from link.keys import init_keys
from sim_hw.registry import uninstall_world
from tests.support.console_support import BATTERY_CHANNEL, FlightThread, build_flight

pytest_plugins = ["pytester"]

WAIT_S = 20.0
PASSWORDS = {"ada": "ada's long password", "esa": "esa partner password"}

pytestmark = pytest.mark.timeout(120)


@dataclass
class Hub:
    url: str
    server: LinkServer
    core: GroundCore
    audit: AuditLog
    flight: FlightThread
    app: FlightApp
    accounts: Accounts


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
    state = HubState(archive.path, clock, rover="moon-1")
    core = GroundCore.connect(
        server.endpoint, archive, clock, keys_dir=keys, identity="archive", audit=audit, hub_state=state, rover="moon-1"
    )
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
            yield Hub(url, server, core, audit, flight, app, accounts)
        finally:
            Server.instance.should_exit = True
            web.join(timeout=10)
            os.environ.pop("NICEGUI_SCREEN_TEST_PORT", None)
            ctx.detach()
            core.link_client.stop()
            core.link_client.close()
            core.close()
            audit.close()
            state.close()
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


def test_bad_credentials_are_refused_alike_and_audited_with_the_reason(hub: Hub) -> None:
    for user, password, audited in (("ada", "wrong password", "wrong password"), ("bob", "x" * 9, "unknown user")):
        with pytest.raises(HubError) as refused:
            HubClient(hub.url, user, password).snapshot()
        assert refused.value.status == 401
        assert f"wrong user name or password for '{user}'" in str(refused.value)  # the same words for both
        row = hub.audit.entries(action="login_refused", limit=1)[0]
        assert row.user == user and audited in row.detail


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
    assert refused.returncode == 3 and "wrong user name or password for 'esa'" in refused.stderr


# ------------------------------------------------------------------------- tools over the hub
def test_a_procedure_through_the_hub_commands_and_awaits_telemetry_and_an_event(hub: Hub) -> None:
    sessions = {s.identity.name for s in hub.server.sessions.values()}
    proc = Procedures(HubClient(hub.url, "ada", PASSWORDS["ada"]))
    try:
        handle = proc.send("drill.self_test")
        done = handle.wait_completed(timeout_s=WAIT_S)
        assert done["stage"] == "completed" and handle.stages[0] == "accepted"
        value, t = proc.await_telemetry(BATTERY_CHANNEL, lambda v: 0.0 <= v <= 1.0, timeout_s=WAIT_S)
        assert 0.0 <= value <= 1.0 and t > 0
        hub.flight.call(lambda: hub.app.events.info("test", "hub_probe", "seen through the hub"))
        event = proc.await_event(name="hub_probe", source="test", timeout_s=WAIT_S)
        assert event["message"] == "seen through the hub"
        record = hub.core.commands.get(handle.id)
        assert record is not None and record.source == "ada"  # the hub's record names the person
    finally:
        proc.close()
    assert {s.identity.name for s in hub.server.sessions.values()} == sessions == {"archive"}


def test_an_observers_procedure_may_read_but_its_command_is_refused_and_audited(hub: Hub) -> None:
    proc = Procedures(HubClient(hub.url, "esa", PASSWORDS["esa"]))
    try:
        proc.await_telemetry(BATTERY_CHANNEL, timeout_s=WAIT_S)
        before = hub.server.stats["commands"]
        with pytest.raises(HubError) as refused:
            proc.send("drive.stop")
        assert refused.value.status == 403 and "observer" in refused.value.reason
        assert hub.server.stats["commands"] == before
    finally:
        proc.close()
    refusals = hub.audit.entries(user="esa", action="command_refused")
    assert refusals and refusals[0].target == "send drive.stop" and refusals[0].rover == "moon-1"


def test_the_hub_serves_its_dictionary_alarms_and_acts_on_alarms_per_role(hub: Hub) -> None:
    ada, esa = HubClient(hub.url, "ada", PASSWORDS["ada"]), HubClient(hub.url, "esa", PASSWORDS["esa"])
    assert BATTERY_CHANNEL in {c["name"] for c in esa.dictionary()["telemetry"]}
    hub.flight.call(lambda: hub.app.events.error("test", "hub_fault", "an error for the board"))
    name = "event:test.hub_fault"
    deadline = time.perf_counter() + WAIT_S
    while name not in {a["name"] for a in esa.alarms()["alarms"]}:
        assert time.perf_counter() < deadline, esa.alarms()
        time.sleep(0.1)
    board = esa.alarms()
    assert board["rover"] == "moon-1"
    for act in (lambda: esa.acknowledge(name, "seen"), lambda: esa.shelve(name, 60.0), lambda: esa.unshelve(name)):
        with pytest.raises(HubError) as refused:
            act()
        assert refused.value.status == 403
    assert len(hub.audit.entries(user="esa", action="command_refused")) >= 3
    until = ada.shelve(name, 600.0)
    assert esa.alarms()["shelves"][name] == pytest.approx(until) and until > time.time() + 590
    ada.unshelve(name)
    assert name not in esa.alarms()["shelves"]
    acked = ada.acknowledge(name, "probe fault, injected by the test")
    assert acked["acked"] and acked["ack_by"] == "ada"
    with pytest.raises(HubError) as unknown:
        ada.acknowledge("no.such.alarm", "x")
    assert unknown.value.status == 404 and "no alarm 'no.such.alarm'" in unknown.value.reason


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("GET", "/api/feed?after=abc", None, "query 'after': expected a cursor"),
        ("GET", "/api/feed?after=99999999999", None, "argument 'after': expected a cursor 0.."),
        ("GET", "/api/feed?after=0&wait=60", None, "argument 'wait': expected seconds to wait, 0..10"),
        ("GET", "/api/feed?after=0&kinds=rumours", None, "argument 'kinds': expected some of telemetry"),
        ("GET", "/api/feed?cursor=3", None, "query 'cursor': not known"),
        ("POST", "/api/commands", b"not json", "body: expected a JSON object"),
        ("POST", "/api/commands", b'{"args": {}}', "field 'name': missing; expected a command name"),
        ("POST", "/api/commands", b'{"name": "drive.stop", "args": [1]}', "field 'args': expected an object"),
        ("POST", "/api/alarms/shelve", b'{"name": "power.soc"}', "field 'seconds': missing"),
        ("POST", "/api/alarms/shelve", b'{"name": "power.soc", "seconds": 1e9}', "argument 'seconds': expected"),
        ("POST", "/api/alarms/ack", b'{"name": "power.soc", "comment": true}', "field 'comment': expected"),
    ],
)
def test_a_bad_cursor_or_body_is_refused_400_naming_the_field(
    hub: Hub, method: str, path: str, body: bytes | None, expected: str
) -> None:
    token = base64.b64encode(f"ada:{PASSWORDS['ada']}".encode()).decode()
    request = urllib.request.Request(
        hub.url + path, data=body, method=method, headers={"Authorization": f"Basic {token}"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10).close()
    detail = json.loads(refused.value.read().decode())["detail"]
    refused.value.close()
    assert refused.value.code == 400 and expected in detail, detail


def _raw_post(hub: Hub, head: str, body: bytes = b"", wait_s: float = 10.0) -> tuple[int, str]:
    """POST ``head`` (request line and headers, CRLF-separated, no blank line) and ``body`` over a bare socket;
    the answer's status and text (read until the server closes or ``wait_s`` passes)."""
    port = int(hub.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=wait_s) as sock:
        sock.sendall(head.encode() + b"\r\n\r\n" + body)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or len(answer) < 12:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
            sock.settimeout(0.5)
            answer += sock.recv(65536)
        except TimeoutError:
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, answer.decode("utf-8", "replace")


def test_a_huge_body_is_refused_before_it_is_read_and_a_stranger_before_its_body(hub: Hub) -> None:
    token = base64.b64encode(f"ada:{PASSWORDS['ada']}".encode()).decode()
    declared = "POST /api/commands HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
    # 400 MB announced, none sent: answered at once (a server that read first would wait for the bytes)
    status, text = _raw_post(hub, f"{declared}\r\nAuthorization: Basic {token}\r\nContent-Length: 400000000")
    assert status == 413 and "expected at most 65536" in text, text
    status, text = _raw_post(hub, f"{declared}\r\nContent-Length: 400000000")  # no login at all
    assert status == 401, text
    # chunked, with no length announced: cut off past the bound
    chunk = b"%x\r\n%s\r\n" % (70_000, b"[" * 70_000)
    status, text = _raw_post(hub, f"{declared}\r\nAuthorization: Basic {token}\r\nTransfer-Encoding: chunked", chunk)
    assert status == 413, text


def test_a_body_that_stalls_is_refused_408_and_a_whole_one_on_the_next_connection_goes_through(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ground.console.api.BODY_WAIT_S", 1.0)
    token = base64.b64encode(f"ada:{PASSWORDS['ada']}".encode()).decode()
    head = f"POST /api/alarms/unshelve HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {token}"
    # 100 bytes announced, 10 sent, then nothing: answered once the wait is over, not held open
    status, text = _raw_post(hub, f"{head}\r\nContent-Length: 100", b'{"name": "', wait_s=20.0)
    assert status == 408 and "body of 10 bytes after 1 s" in text, text
    body = b'{"name": "no.such.alarm"}'
    status, text = _raw_post(hub, f"{head}\r\nContent-Length: {len(body)}", body)
    assert status == 200 and '"name": "no.such.alarm"' in text, text  # unshelving what is not shelved is a no-op


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"[" * 30_000 + b"]" * 30_000, "nested too deeply"),
        (b'{"name": "estop.reset\\ud800"}', "lone surrogate"),
    ],
)
def test_a_body_json_cannot_hold_is_refused_400_and_the_hub_goes_on(hub: Hub, body: bytes, expected: str) -> None:
    token = base64.b64encode(f"esa:{PASSWORDS['esa']}".encode()).decode()
    request = urllib.request.Request(
        hub.url + "/api/commands", data=body, method="POST", headers={"Authorization": f"Basic {token}"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10).close()
    detail = json.loads(refused.value.read().decode())["detail"]
    refused.value.close()
    assert refused.value.code == 400 and expected in detail, detail
    assert HubClient(hub.url, "esa", PASSWORDS["esa"]).snapshot()["link"] == "acquired"


def test_a_login_flood_with_huge_names_leaves_small_audit_rows(hub: Hub) -> None:
    name = "x" * 10_000
    token = base64.b64encode(f"{name}:wrong".encode()).decode()
    request = urllib.request.Request(hub.url + "/api/snapshot", headers={"Authorization": f"Basic {token}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10).close()
    refused.value.close()
    assert refused.value.code == 401
    row = hub.audit.entries(action="login_refused", limit=1)[0]
    assert len(row.user) <= 64 and len(row.detail) <= 200 and "unknown user" in row.detail


def test_waiting_feed_requests_are_bounded_per_account_and_the_hub_keeps_answering(hub: Hub) -> None:
    partner = HubClient(hub.url, "esa", PASSWORDS["esa"])
    cursor = partner.feed()["cursor"]
    answers: list[int] = []

    def poll() -> None:  # a filter nothing matches: each waits its whole 4 s
        answers.append(len(partner.feed(cursor, wait_s=4.0, kinds=["telemetry"], channels=["nosuch"])["items"]))

    pollers = [threading.Thread(target=poll) for _ in range(4)]
    for poller in pollers:
        poller.start()
    time.sleep(1.0)  # all four are waiting now
    began = time.perf_counter()
    with pytest.raises(HubError) as refused:
        partner.feed(cursor, wait_s=4.0, kinds=["telemetry"], channels=["nosuch"])
    assert refused.value.status == 429 and "at most 4 at once" in str(refused.value)
    assert time.perf_counter() - began < 2.0  # refused at once, not after a wait
    assert partner.feed(cursor, channels=["nosuch"])["items"] == []  # a read that does not wait still goes
    env = {**os.environ, "ISRU_HUB_PASSWORD": PASSWORDS["esa"]}
    watch = [sys.executable, "-m", "isru.cli", "ground", "watch", BATTERY_CHANNEL, "--hub", hub.url, "--user", "esa"]
    busy = subprocess.run([*watch, "--duration", "4"], capture_output=True, text=True, env=env, timeout=60)
    assert busy.returncode == 0, busy.stderr  # its waiting polls were refused 429 for a while: it asked again
    operator = HubClient(hub.url, "ada", PASSWORDS["ada"])
    began = time.perf_counter()
    operator.command(operator.send("imu.self_test"))
    assert time.perf_counter() - began < 3.0  # the operator is not queued behind the waiting polls
    for poller in pollers:
        poller.join(timeout=15)
    assert answers == [0, 0, 0, 0]


def test_the_feed_gives_what_arrived_after_the_cursor_and_waits_a_bounded_time(hub: Hub) -> None:
    esa = HubClient(hub.url, "esa", PASSWORDS["esa"])
    start = esa.feed()
    assert start["items"] == [] and start["rover"] == "moon-1"
    answer = esa.feed(start["cursor"], wait_s=5.0, kinds=["telemetry"], channels=[BATTERY_CHANNEL])
    assert answer["cursor"] > start["cursor"] and answer["run"] == start["run"]
    assert {s[0] for item in answer["items"] for s in item["samples"]} == {BATTERY_CHANNEL}
    began = time.perf_counter()
    quiet = esa.feed(answer["cursor"], wait_s=0.5, kinds=["command"])  # nobody commands: waits, then answers
    assert quiet["items"] == [] and 0.4 < time.perf_counter() - began < 5.0


def test_isru_ground_watch_and_events_through_the_hub(hub: Hub, tmp_path: Path) -> None:
    env = {**os.environ, "ISRU_HUB_PASSWORD": PASSWORDS["esa"], "ISRU_HOME": str(tmp_path)}
    watch = [sys.executable, "-m", "isru.cli", "ground", "watch", BATTERY_CHANNEL, "--hub", hub.url, "--user", "esa"]
    done = subprocess.run([*watch, "--duration", "3"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) >= 2 and all(f" {BATTERY_CHANNEL} = " in line for line in lines), done.stdout
    assert "following moon-1 through" in done.stderr
    unknown = subprocess.run(
        [*watch[:5], "no.channel", *watch[6:]], capture_output=True, text=True, env=env, timeout=60
    )
    assert unknown.returncode == 3 and "no channel 'no.channel'" in unknown.stderr
    events = [
        sys.executable,
        "-m",
        "isru.cli",
        "ground",
        "events",
        "--hub",
        hub.url,
        "--user",
        "esa",
        "--duration",
        "6",
    ]
    follower = subprocess.Popen(events, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.perf_counter() + 3.0
        while time.perf_counter() < deadline:  # give the follower time to start before the event
            time.sleep(0.2)
        hub.flight.call(lambda: hub.app.events.warning("test", "watched", "an event for the follower"))
        out, err = follower.communicate(timeout=30)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.communicate()
    assert follower.returncode == 0, err
    assert any("WARNING" in line and "test.watched: an event for the follower" in line for line in out.splitlines())


def test_the_pytest_plugin_runs_a_users_procedure_against_the_hub(
    hub: Hub, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        f"""
        def test_mine(isru, isru_hub):
            isru.send("drill.self_test").wait_completed(timeout_s=20)
            isru.await_telemetry("{BATTERY_CHANNEL}", timeout_s=20)
            assert isru_hub.snapshot()["rover"] == "moon-1"
        """
    )
    monkeypatch.setenv("ISRU_HUB_PASSWORD", PASSWORDS["ada"])
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))  # this checkout's plugin
    for name in [k for k in os.environ if k.startswith(("PYTEST_", "NICEGUI_"))]:
        monkeypatch.delenv(name)
    sessions = len(hub.server.sessions)
    result = pytester.runpytest_subprocess(
        "-q", "-p", "no:cacheprovider", "--isru-hub", hub.url, "--isru-user", "ada", timeout=90
    )
    result.assert_outcomes(passed=1)
    assert len(hub.server.sessions) == sessions  # the user's tests added no session on flight
    assert any(e.user == "ada" and e.target == "drill.self_test" for e in hub.audit.entries(action="command"))


def test_a_remembered_api_login_ends_at_once_with_a_new_password_or_a_revoked_account(hub: Hub) -> None:
    hub.accounts.add("bob", "operator", "bob's first password")
    bob = HubClient(hub.url, "bob", "bob's first password")
    assert bob.alarms()["rover"] == "moon-1" and bob.alarms()["rover"] == "moon-1"  # checked, then remembered
    hub.accounts.set_password("bob", "bob's second password")
    with pytest.raises(HubError) as old_password:
        bob.alarms()
    assert old_password.value.status == 401 and "wrong user name or password for 'bob'" in old_password.value.reason
    bob = HubClient(hub.url, "bob", "bob's second password")
    bob.alarms()
    hub.accounts.remove("bob")
    with pytest.raises(HubError) as revoked:
        bob.alarms()
    assert revoked.value.status == 401 and "'bob' has been revoked" in revoked.value.reason


def test_isru_ground_dictionary_through_the_hub(hub: Hub, tmp_path: Path) -> None:
    env = {**os.environ, "ISRU_HUB_PASSWORD": PASSWORDS["esa"], "ISRU_HOME": str(tmp_path)}
    command = [sys.executable, "-m", "isru.cli", "ground", "dictionary", "--hub", hub.url, "--user", "esa"]
    done = subprocess.run([*command, "--json"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert BATTERY_CHANNEL in {c["name"] for c in json.loads(done.stdout)["telemetry"]}
    env["ISRU_HUB_PASSWORD"] = "not esa's password"
    refused = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert refused.returncode == 3 and "wrong user name or password for 'esa'" in refused.stderr
