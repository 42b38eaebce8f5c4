"""Keys that mean something: adding, removing or moving a key takes effect within seconds, for live sessions
too; a bad key file is skipped with an error naming it; only the archive role's acknowledgements prune the
spool; a safety client may only stop and hold (real CURVE over ZeroMQ, real key files)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from base.clock import RealClock
from flight.link_server import KEYS_REFRESH_S
from link import wire
from link.keys import ClientIdentity, add_client, add_missing_clients, init_keys, load_allowed
from tests.support.link_harness import MiniFlight, RawOperator


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    root = init_keys(tmp_path / "keys")
    add_client(root, "partner", role="operator")
    return root


def _answered(client: RawOperator, flight: MiniFlight, command_id: str, wall_s: float = 10.0) -> str:
    """Service until ``command_id`` is completed (``completed``) or rejected (the reason)."""
    end = flight.clock.monotonic() + wall_s
    while flight.clock.monotonic() < end:
        client.service(flight)
        for m in client.received:
            if isinstance(m, wire.Reject) and m.command_id == command_id:
                return m.reason
            if isinstance(m, wire.StatusPacket) and m.status["id"] == command_id and m.status["stage"] == "completed":
                return "completed"
    return "no answer"


def _serve(flight: MiniFlight, seconds: float) -> None:
    flight.run_for(seconds, 0.05)


def test_a_removed_key_ends_its_live_session_within_seconds(keys: Path) -> None:
    flight = MiniFlight(RealClock(), None, keys_dir=keys)
    partner = RawOperator(flight.server.endpoint, keys, "partner")
    try:
        partner.send(wire.Command("before", 1, "test.count", {"n": 1}))
        assert _answered(partner, flight, "before") == "completed"
        (keys / "allowed" / "operator" / "partner.key").unlink()
        _serve(flight, KEYS_REFRESH_S + 0.5)
        assert not any(s.identity.name == "partner" for s in flight.server.sessions.values())
        assert any(e.name == "client_revoked" and e.data["client"] == "partner" for e in flight.events.recent)
        dropped = flight.server.stats["unauthenticated"]
        partner.send(wire.Command("after", 2, "test.count", {"n": 2}))
        assert _answered(partner, flight, "after", wall_s=1.0) == "no answer"
        assert flight.server.stats["unauthenticated"] > dropped
        assert flight.counter.executed == [1]
    finally:
        partner.close()
        flight.close()


def test_a_key_moved_to_another_role_has_that_role_at_once(keys: Path) -> None:
    flight = MiniFlight(RealClock(), None, keys_dir=keys)
    partner = RawOperator(flight.server.endpoint, keys, "partner")
    try:
        partner.drain(flight, 1, wire.Welcome)
        shutil.move(keys / "allowed" / "operator" / "partner.key", keys / "allowed" / "observer" / "partner.key")
        _serve(flight, KEYS_REFRESH_S + 0.5)
        assert any(e.name == "client_changed" and e.data["role"] == "observer" for e in flight.events.recent)
        partner.send(wire.Command("demoted", 5, "test.count", {"n": 5}))
        assert _answered(partner, flight, "demoted", wall_s=2.0) in ("no answer", "forbidden")
        partner.send(wire.Hello(wire.PROTOCOL_VERSION, 0, 0, 1000, False, False))
        welcomes = partner.drain(flight, 2, wire.Welcome)
        assert welcomes[-1].role == "observer"
        partner.send(wire.Command("demoted-2", 6, "test.count", {"n": 6}))
        assert _answered(partner, flight, "demoted-2") == "forbidden"
        assert flight.counter.executed == []
    finally:
        partner.close()
        flight.close()


def test_a_bad_key_file_is_skipped_naming_it_and_a_new_key_still_gets_in(
    keys: Path, caplog: pytest.LogCaptureFixture
) -> None:
    flight = MiniFlight(RealClock(), None, keys_dir=keys)
    bad = keys / "allowed" / "operator" / "broken.key"
    try:
        bad.write_text("this is not a certificate\n")
        with caplog.at_level(logging.ERROR, logger="link.security"):
            _serve(flight, KEYS_REFRESH_S + 0.5)
        assert any(str(bad) in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records)
        add_client(keys, "newcomer", role="operator")  # after the bad file: the list is not frozen
        newcomer = RawOperator(flight.server.endpoint, keys, "newcomer")
        try:
            newcomer.send(wire.Command("fresh", 1, "test.count", {"n": 9}))
            assert _answered(newcomer, flight, "fresh") == "completed"
        finally:
            newcomer.close()
    finally:
        flight.close()


@pytest.mark.parametrize(("name", "prunes"), [("operator", False), ("archive", True)])
def test_only_the_archive_role_prunes_the_spool(keys: Path, name: str, prunes: bool) -> None:
    flight = MiniFlight(RealClock(), None, keys_dir=keys)
    client = RawOperator(flight.server.endpoint, keys, name, hello=False)
    try:
        client.send(wire.Hello(wire.PROTOCOL_VERSION, 0, 0, 1000, False, True))  # claims to archive
        client.drain(flight, 1, wire.Welcome)
        for _ in range(20):
            flight.produce()
            client.service(flight)
        client.drain(flight, 20, wire.TelemetryPacket)
        top = max(m.seq for m in client.received if isinstance(m, wire.TelemetryPacket))
        client.send(wire.Ack(top, 0, 1000))
        _serve(flight, 0.3)
        assert (flight.server.spool.packets.acked >= top) is prunes
    finally:
        client.close()
        flight.close()


def test_a_safety_client_may_only_stop_and_hold(keys: Path) -> None:
    assert ClientIdentity("officer", "safety").may_send("estop")
    assert ClientIdentity("officer", "safety").may_send("mission.hold")
    assert not ClientIdentity("officer", "safety").may_send("mission.resume")
    add_client(keys, "officer", role="safety")
    flight = MiniFlight(RealClock(), None, keys_dir=keys)
    officer = RawOperator(flight.server.endpoint, keys, "officer")
    try:
        assert officer.drain(flight, 1, wire.Welcome)[0].role == "safety"
        officer.send(wire.Command("spin", 1, "test.count", {"n": 1}))
        assert _answered(officer, flight, "spin") == "forbidden"
        reject = next(m for m in officer.received if isinstance(m, wire.Reject))
        assert "may send only estop and mission.hold" in reject.message
        assert flight.counter.executed == []
    finally:
        officer.close()
        flight.close()


def test_a_key_directory_from_before_the_archive_role_gets_its_missing_client(tmp_path: Path) -> None:
    """The demo's key directory may predate the archive client: the stack adds what ``isru keys init`` makes
    today and leaves every existing key alone."""
    root = init_keys(tmp_path / "keys")
    for stale in (root / "allowed" / "archive" / "archive.key", *(root / "clients").glob("archive.key*")):
        stale.unlink()
    operator_before = (root / "clients" / "operator.key_secret").read_bytes()
    assert add_missing_clients(root) == ["archive"]
    assert add_missing_clients(root) == []
    assert load_allowed(root)
    assert {identity.role for identity in load_allowed(root).values()} >= {"operator", "observer", "archive"}
    assert (root / "clients" / "operator.key_secret").read_bytes() == operator_before
