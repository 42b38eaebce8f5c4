"""Who gets in: key directories, CURVE with a ZAP authenticator in the same context, hostile connections
(unknown key, wrong server key, NULL, PLAIN, raw TCP garbage — 100 attempts each, nothing delivered), roles."""

from __future__ import annotations

import contextlib
import logging
import socket as pysocket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq
import zmq.auth.thread

from base.clock import RealClock
from ground.client import LinkClient
from link import wire
from link.errors import InsecureSetup, KeyFileError
from link.keys import add_client, init_keys, key_file_mode, load_allowed, load_client_keys
from link.security import ServerSecurity, check_server_socket, secure_client
from tests.support.link_harness import MiniFlight

ATTEMPTS = 100


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_keys(tmp_path_factory.mktemp("sec") / "keys")


@pytest.fixture
def flight(keys: Path, tmp_path: Path) -> Iterator[MiniFlight]:
    mini = MiniFlight(RealClock(), tmp_path / "spool.db", keys_dir=keys)
    yield mini
    mini.close()


# ------------------------------------------------------------------------------------------ keys
def test_init_makes_private_certificates_and_the_allowed_folders(tmp_path: Path) -> None:
    root = init_keys(tmp_path / "k")
    assert key_file_mode(root) == 0o700
    assert key_file_mode(root / "server.key_secret") == 0o600
    for role in ("operator", "observer", "archive"):
        assert key_file_mode(root / "clients" / f"{role}.key_secret") == 0o600
        assert (root / "allowed" / role / f"{role}.key").is_file()
        assert b"secret-key" not in (root / "allowed" / role / f"{role}.key").read_bytes()
    assert key_file_mode(root / "allowed") == 0o700
    assert sorted((i.name, i.role) for i in load_allowed(root).values()) == [
        ("archive", "archive"),
        ("observer", "observer"),
        ("operator", "operator"),
    ]
    assert (root / "allowed" / "safety").is_dir()
    with pytest.raises(KeyFileError, match="already holds"):
        init_keys(root)


def test_add_client_with_a_role_and_bad_requests_are_named(tmp_path: Path) -> None:
    root = init_keys(tmp_path / "k")
    secret = add_client(root, "esa-partner", role="observer")
    assert key_file_mode(secret) == 0o600
    assert {i.name: i.role for i in load_allowed(root).values()}["esa-partner"] == "observer"
    with pytest.raises(KeyFileError, match="already exists"):
        add_client(root, "esa-partner", role="operator")
    with pytest.raises(KeyFileError, match="expected one of"):
        add_client(root, "x", role="admin")
    with pytest.raises(KeyFileError, match="letters, digits"):
        add_client(root, "../evil", role="observer")
    (root / "clients" / "operator.key_secret").chmod(0o644)
    with pytest.raises(KeyFileError, match="readable by others"):
        load_client_keys(root, "operator")


# ------------------------------------------------------------------------------ measured facts
def _curve_pair(ctx: zmq.Context, server_keys: tuple[bytes, bytes]) -> tuple[zmq.Socket, zmq.Socket]:
    server = ctx.socket(zmq.ROUTER)
    server.linger = 0
    server.curve_publickey, server.curve_secretkey = server_keys
    server.curve_server = True
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client = ctx.socket(zmq.DEALER)
    client.linger = 0
    client.curve_publickey, client.curve_secretkey = zmq.curve_keypair()  # a key nobody allowed
    client.curve_serverkey = server_keys[0]
    client.connect(f"tcp://127.0.0.1:{port}")
    return server, client


def test_curve_without_an_authenticator_or_with_one_in_another_context_accepts_anyone(tmp_path: Path) -> None:
    """The reason the link refuses to bind such sockets: both let a stranger's key in."""
    server_keys = zmq.curve_keypair()
    ctx, other = zmq.Context(), zmq.Context()
    auth = zmq.auth.thread.ThreadAuthenticator(other)
    auth.start()
    auth.configure_curve(domain="*", location=str(tmp_path))  # empty folder: would allow nobody
    try:
        for _case in ("no authenticator", "authenticator in another context"):
            server, client = _curve_pair(ctx, server_keys)
            client.send(b"stranger")
            assert server.poll(3000), "expected the stranger to get through"
            assert server.recv_multipart()[1] == b"stranger"
            with pytest.raises(InsecureSetup, match="accept any client"):
                check_server_socket(server, None if _case == "no authenticator" else auth)
            server.close(0)
            client.close(0)
    finally:
        auth.stop()
        ctx.term()
        other.term()


def test_the_link_refuses_plaintext_unless_insecure_and_then_warns(caplog: pytest.LogCaptureFixture) -> None:
    ctx = zmq.Context()
    try:
        with pytest.raises(InsecureSetup, match="key directory"):
            ServerSecurity(ctx, None)
        plain = ctx.socket(zmq.ROUTER)
        plain.linger = 0
        with pytest.raises(InsecureSetup, match="plaintext"):
            check_server_socket(plain, None)
        with caplog.at_level(logging.WARNING):
            security = ServerSecurity(ctx, None, insecure=True)
            endpoint = security.bind(plain, "tcp://127.0.0.1:0")
        assert endpoint.startswith("tcp://127.0.0.1:")
        assert any("INSECURE" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
        plain.close(0)
    finally:
        ctx.term()


# ----------------------------------------------------------------------------- hostile clients
def _hostile_sockets(ctx: zmq.Context, kind: str, endpoint: str, keys: Path) -> list[zmq.Socket]:
    sockets = []
    for _ in range(ATTEMPTS):
        s = ctx.socket(zmq.DEALER)
        s.linger = 0
        if kind == "unknown key":
            s.curve_publickey, s.curve_secretkey = zmq.curve_keypair()
            s.curve_serverkey = load_client_keys(keys, "operator")[2]
        elif kind == "wrong server key":
            secure_client(s, keys, "operator")
            s.curve_serverkey = zmq.curve_keypair()[0]
        elif kind == "plain":
            s.plain_username = b"operator"
            s.plain_password = b"operator"
        s.connect(endpoint)
        for message in (
            wire.Hello(1, 0, 0, 100, True, True),
            wire.Command(f"x-{len(sockets)}", 10**6, "test.count", {"n": 1}),
        ):
            with contextlib.suppress(zmq.Again):
                s.send(wire.encode(message)[0], zmq.NOBLOCK)
        sockets.append(s)
    return sockets


def _serve(flight: MiniFlight, wall_s: float) -> None:
    end = time.perf_counter() + wall_s
    while time.perf_counter() < end:
        flight.server.wait_until(flight.clock.monotonic() + 0.02)


@pytest.mark.parametrize("kind", ["unknown key", "wrong server key", "null", "plain"])
def test_hostile_zmq_clients_deliver_nothing(flight: MiniFlight, keys: Path, kind: str) -> None:
    ctx = zmq.Context()
    sockets = _hostile_sockets(ctx, kind, flight.server.endpoint, keys)
    try:
        _serve(flight, 1.5)
    finally:
        for s in sockets:
            s.close(0)
        ctx.term()
    assert flight.server.stats["messages_in"] == 0
    assert flight.server.sessions == {}
    assert flight.counter.executed == []
    if kind == "unknown key":
        assert flight.server.security.authenticator.denied >= ATTEMPTS


def test_raw_tcp_garbage_delivers_nothing_and_the_link_still_serves(flight: MiniFlight, keys: Path) -> None:
    host, port = flight.server.endpoint.removeprefix("tcp://").rsplit(":", 1)
    garbage = [
        b"\xff" + b"\x00" * 8 + b"\x7f\x03\x00CURVE" + b"\x00" * 60,  # a ZMTP greeting, then nonsense
        b"GET / HTTP/1.1\r\nHost: rover\r\n\r\n",
        bytes(range(256)) * 4,
    ]
    for attempt in range(ATTEMPTS):
        # the server may already have dropped us while we write: fine
        with pysocket.create_connection((host, int(port)), timeout=2) as conn, contextlib.suppress(OSError):
            conn.sendall(garbage[attempt % len(garbage)])
        if attempt % 10 == 0:
            flight.server.service()
    _serve(flight, 0.5)
    assert flight.server.stats["messages_in"] == 0
    assert flight.counter.executed == []
    # positive control: a client with an allowed key still gets in and commands
    client = LinkClient(flight.server.endpoint, flight.clock, keys_dir=keys, identity="operator")
    try:
        statuses: list[dict] = []
        client.on_command_status(statuses.append)
        client.send_command("test.count", {"n": 7})
        end = time.perf_counter() + 10
        while not any(s["stage"] == "completed" for s in statuses) and time.perf_counter() < end:
            client.poll(0.01)
            flight.server.service()
        assert flight.counter.executed == [7]
        assert flight.server.stats["messages_in"] > 0
    finally:
        client.close()


def test_an_observer_reads_but_cannot_command(flight: MiniFlight, keys: Path) -> None:
    client = LinkClient(flight.server.endpoint, flight.clock, keys_dir=keys, identity="observer")
    statuses: list[dict] = []
    packets: list[int] = []
    client.on_command_status(statuses.append)
    client.on_telemetry(lambda seq, _samples: packets.append(seq))
    try:
        command_id = client.send_command("test.count", {"n": 1})
        end = time.perf_counter() + 10
        while (not statuses or not packets) and time.perf_counter() < end:
            flight.produce()
            flight.server.wait_until(flight.clock.monotonic() + 0.01)
            client.poll(0.01)
        assert client.status.role == "observer"
        assert statuses and statuses[0]["id"] == command_id
        assert (statuses[0]["stage"], statuses[0]["reason"]) == ("failed", "forbidden")
        assert flight.counter.executed == []
        assert flight.server.stats["forbidden"] == 1
        assert packets, "the observer receives telemetry"
        assert any(e.name == "forbidden" for e in flight.events.recent)
    finally:
        client.close()
