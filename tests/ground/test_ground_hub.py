"""The ground hub's people: accounts with hashed passwords, the person behind each action (roles from the
account), the audit trail in the archive file, a late view's snapshot from the archive, and flight admitting
only ground-station keys — over the real CURVE link on loopback with real SQLite files."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from base.clock import RealClock, VirtualClock
from flight.app import FlightApp
from flight.link_server import LinkServer
from flight.telemetry import ChannelSpec
from ground.accounts import Accounts
from ground.acting import Actor
from ground.archive import Archive
from ground.audit import AuditLog
from ground.client import LinkClient
from ground.core import GroundCore
from ground.errors import AccountError, Forbidden, LoginRefused
from isru.cli import main
from link.keys import add_client, init_keys
from sim_hw.registry import uninstall_world
from tests.support.flight_stack import build

HOT = ChannelSpec("test.chamber_K", unit="K", warn_high=700.0, alarm_high=850.0)
STEP_S, POLL_S, MAX_STEPS = 0.1, 0.005, 3000


# ------------------------------------------------------------------------------------------- accounts
def test_accounts_hash_passwords_and_refuse_bad_logins_clearly(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "accounts.sqlite", RealClock())
    accounts.add("ada", "operator", "correct horse")
    accounts.add("esa", "observer", "partner pass")
    assert accounts.login("ada", "correct horse").role == "operator"
    assert not accounts.login("esa", "partner pass").may_command
    with pytest.raises(LoginRefused, match="wrong user name or password for 'ada'") as wrong:
        accounts.login("ada", "Correct horse")
    with pytest.raises(LoginRefused, match="wrong user name or password for 'bob'") as unknown:
        accounts.login("bob", "correct horse")
    assert str(wrong.value).replace("ada", "bob") == str(unknown.value)  # a stranger cannot tell them apart
    assert (wrong.value.detail, unknown.value.detail) == ("wrong password for 'ada'", "unknown user 'bob'")
    accounts.remove("esa")
    with pytest.raises(LoginRefused, match="wrong user name or password for 'esa'"):
        accounts.login("esa", "not esa's password")  # revoked, but only the right password learns that
    with pytest.raises(LoginRefused, match="'esa' has been revoked"):
        accounts.login("esa", "partner pass")
    accounts.set_password("ada", "battery staple")
    with pytest.raises(LoginRefused):
        accounts.login("ada", "correct horse")
    assert accounts.login("ada", "battery staple").name == "ada"
    accounts.close()
    raw = (tmp_path / "accounts.sqlite").read_bytes()
    assert b"battery staple" not in raw and b"partner pass" not in raw  # only salted scrypt hashes are stored
    assert (tmp_path / "accounts.sqlite").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("name", "role", "password", "expected"),
    [
        ("../x", "operator", "long enough", "account name"),
        ("ada", "pilot", "long enough", "expected one of operator, observer, admin"),
        ("ada", "operator", "short", "at least 8 characters"),
    ],
)
def test_a_bad_account_is_refused_naming_what_was_expected(
    tmp_path: Path, name: str, role: str, password: str, expected: str
) -> None:
    accounts = Accounts(tmp_path / "accounts.sqlite", RealClock())
    with pytest.raises(AccountError, match=expected):
        accounts.add(name, role, password)
    assert accounts.list() == []


def test_isru_users_adds_lists_changes_and_revokes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(tmp_path / "accounts.sqlite")
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert main(["users", "--accounts", path, "add", "ada", "--role", "admin", "--password-stdin"]) == 0
    assert main(["users", "--accounts", path, "add", "esa", "--role", "observer", "--generate"]) == 0
    generated = capsys.readouterr().out.split("password: ")[1].strip()
    assert main(["users", "--accounts", path, "list"]) == 0
    listing = capsys.readouterr().out
    assert "ada" in listing and "admin" in listing and "esa" in listing and "observer" in listing
    assert main(["users", "--accounts", path, "add", "ada", "--role", "operator", "--generate"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["users", "--accounts", path, "role", "esa", "operator"]) == 0
    assert main(["users", "--accounts", path, "remove", "esa"]) == 0
    assert main(["users", "--accounts", path, "remove", "nobody"]) == 2
    assert "unknown user 'nobody'" in capsys.readouterr().err
    accounts = Accounts(path, RealClock())
    assert accounts.login("ada", "a long password").role == "admin"
    with pytest.raises(LoginRefused, match="revoked"):
        accounts.login("esa", generated)


# ---------------------------------------------------------------------------------- over the real link
@dataclass
class Flight:
    app: FlightApp
    clock: VirtualClock
    server: LinkServer
    keys: Path


@pytest.fixture
def flight(tmp_path: Path) -> Iterator[Flight]:
    keys = init_keys(tmp_path / "keys")
    app, _world, clock = build()
    app.table.define(HOT)
    server = LinkServer.attach(app, endpoint="tcp://127.0.0.1:0", keys_dir=str(keys), spool=str(tmp_path / "spool"))
    try:
        yield Flight(app, clock, server, keys)
    finally:
        server.close()
        app.close()
        uninstall_world()


def run_until(flight: Flight, clients: list[LinkClient], done: Callable[[], bool], what: str) -> None:
    for _ in range(MAX_STEPS):
        if done():
            return
        flight.app.executive.run(duration_s=STEP_S)
        for client in clients:
            client.poll(POLL_S)
    raise AssertionError(f"gave up after {MAX_STEPS} steps waiting for {what}")


def test_flight_admits_only_ground_station_keys(flight: Flight) -> None:
    add_client(flight.keys, "console-7", role="observer")  # a console's or a partner's key: not a station
    station = LinkClient(flight.server.endpoint, flight.clock, keys_dir=flight.keys, identity="archive")
    partners = [
        LinkClient(flight.server.endpoint, flight.clock, keys_dir=flight.keys, identity=name, archive=False)
        for name in ("observer", "console-7")
    ]
    try:
        run_until(flight, [station, *partners], lambda: station.status.state == "acquired", "the station's welcome")
        run_until(flight, [station, *partners], lambda: flight.server.security.authenticator.denied >= 2, "refusals")
        assert [p.status.state for p in partners] == ["connecting", "connecting"]
        assert {s.identity.name for s in flight.server.sessions.values()} == {"archive"}
    finally:
        for client in (station, *partners):
            client.close()


def test_the_person_acting_is_checked_named_and_audited(flight: Flight, tmp_path: Path) -> None:
    archive = Archive(tmp_path / "hub.sqlite")
    audit = AuditLog(archive.path, RealClock(), rover="moon-1")
    core = GroundCore.connect(
        flight.server.endpoint, archive, flight.clock, keys_dir=flight.keys, identity="archive", audit=audit
    )
    acting: list[Actor | None] = [Actor("ada", "operator")]
    core.actor_source = lambda: acting[0]
    client = core.link_client
    try:
        run_until(flight, [client], lambda: core.dictionary is not None and core.role == "archive", "the welcome")
        record = core.send("drive.stop")
        run_until(flight, [client], lambda: record.terminal is not None, "drive.stop to end")
        assert record.source == "ada" and record.terminal == "completed"
        acting[0] = Actor("esa", "observer")
        accepted = flight.app.dispatcher.counts["accepted"]
        with pytest.raises(Forbidden, match="'esa' is an observer"):
            core.send("drive.stop")
        flight.app.table.update({HOT.name: 900.0}, flight.clock.now())
        run_until(flight, [client], lambda: core.alarms.get(HOT.name) is not None, "the red-band alarm")
        with pytest.raises(Forbidden):
            core.alarms.ack(HOT.name, "not mine to ack")
        acting[0] = Actor("ada", "operator")
        core.alarms.ack(HOT.name, "chamber vented")
        core.alarms.shelve(HOT.name, 60.0)
        run_until(flight, [client], lambda: True, "a step")
        assert flight.app.dispatcher.counts["accepted"] == accepted  # the observer's command never left
        rows = [(e.user, e.role, e.action, e.target, e.rover) for e in reversed(audit.entries())]
        assert rows[0][:4] == ("ada", "operator", "command", "drive.stop") and rows[0][4] == "moon-1"
        assert ("esa", "observer", "command_refused", "send drive.stop", "moon-1") in rows
        assert ("esa", "observer", "command_refused", f"acknowledge alarm {HOT.name}", "moon-1") in rows
        assert ("ada", "operator", "alarm_ack", HOT.name, "moon-1") in rows
        assert ("ada", "operator", "alarm_shelve", HOT.name, "moon-1") in rows
        with sqlite3.connect(archive.path) as raw:  # the trail is in the archive's own file
            assert raw.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == len(rows)
    finally:
        client.close()
        core.close()
        audit.close()
        archive.close()


def test_a_restarted_hub_shows_every_channel_and_its_alarms_at_once_from_its_archive(
    flight: Flight, tmp_path: Path
) -> None:
    path = tmp_path / "hub.sqlite"
    with Archive(path) as archive:
        core = GroundCore.connect(
            flight.server.endpoint, archive, flight.clock, keys_dir=flight.keys, identity="archive"
        )
        try:
            run_until(flight, [core.link_client], lambda: len(core.latest) > 50, "telemetry")
            before = core.latest
            assert any(name.startswith("param.mission.") for name in before)  # parameters are telemetry too
            flight.app.table.update({HOT.name: 900.0}, flight.clock.now())
            run_until(flight, [core.link_client], lambda: core.alarms.get(HOT.name) is not None, "the alarm")
            core.flush()
        finally:
            core.link_client.close()
            core.close()
    with Archive(path) as archive:  # the hub restarts; before any new packet arrives
        core = GroundCore.connect(
            flight.server.endpoint, archive, flight.clock, keys_dir=flight.keys, identity="archive"
        )
        try:
            assert core.rover == "rover"  # no welcome yet
            latest = core.latest
            assert set(before) <= set(latest)
            assert all(latest[name][1] >= t for name, (_value, t) in before.items())
            assert latest["mission.state"][0] == before["mission.state"][0]
            alarm = core.alarms.get(HOT.name)  # the same alarm board as before the restart
            assert alarm is not None and alarm.latched == "alarm" and not alarm.acked and alarm.latched_value == 900.0
        finally:
            core.link_client.close()
            core.close()


# ------------------------------------------------------------------------------------ sessions
def test_console_logins_survive_a_hub_restart_as_hashed_tokens_until_they_end(tmp_path: Path) -> None:
    from ground.console.auth import HubAuth, session_secret
    from ground.errors import ArchiveError
    from ground.hub_state import SESSION_TTL_S, HubState

    clock = VirtualClock(auto_advance=False)
    accounts = Accounts(tmp_path / "accounts.sqlite", RealClock())
    accounts.add("ada", "operator", "a long password")
    path, origins = tmp_path / "hub.sqlite", ["http://127.0.0.1:8080"]

    def hub() -> tuple[HubAuth, HubState]:  # a hub (re)starting on the same archive file
        state = HubState(path, clock, rover="moon-1")
        return HubAuth(accounts, None, origins, state), state

    auth, state = hub()
    for browser in ("browser-1", "browser-2", "browser-3"):
        auth.login(browser, "ada", "a long password")
    auth.logout("browser-2")
    state.close()
    auth, state = hub()  # restarted
    assert auth.actor_of("browser-1") == Actor("ada", "operator")
    assert auth.actor_of("browser-2") is None and auth.actor_of("browser-9") is None
    with sqlite3.connect(path) as raw:
        rows = raw.execute("SELECT token_hash, rover, account FROM console_sessions").fetchall()
    assert len(rows) == 2 and all(len(h) == 64 and r == "moon-1" and a == "ada" for h, r, a in rows)
    assert b"browser-1" not in path.read_bytes()  # only the SHA-256 of a session id is stored
    clock.advance(SESSION_TTL_S + 1.0)
    assert auth.actor_of("browser-1") is None  # the login has ended
    assert state.drop_expired_sessions() == 2
    auth.login("browser-4", "ada", "a long password")
    accounts.remove("ada")
    assert auth.actor_of("browser-4") is None and state.session_account("browser-4") is None  # revoked: gone
    state.close()
    secret_file = tmp_path / "accounts.secret"
    assert session_secret(secret_file) == session_secret(secret_file)  # the cookies' key outlives a restart
    assert secret_file.stat().st_mode & 0o077 == 0
    secret_file.write_text("short")
    with pytest.raises(ArchiveError, match="expected at least 32 characters"):
        session_secret(secret_file)
