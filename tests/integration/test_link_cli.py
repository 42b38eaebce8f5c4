"""``isru keys`` and ``isru flight`` with its ground link, as a user runs them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from base.clock import RealClock
from ground.client import LinkClient
from isru.cli import main
from isru.config import derived_config_text
from link import wire
from link.keys import key_file_mode, load_allowed


def test_keys_init_and_add_client(tmp_path: Path, capsys) -> None:
    root = tmp_path / "keys"
    assert main(["keys", "init", str(root)]) == 0
    assert key_file_mode(root / "server.key_secret") == 0o600
    assert main(["keys", "init", str(root)]) == 2
    assert "already holds" in capsys.readouterr().err
    assert main(["keys", "add-client", str(root), "partner", "--role", "observer"]) == 0
    assert {i.name: i.role for i in load_allowed(root).values()} == {
        "operator": "operator",
        "observer": "observer",
        "archive": "archive",
        "partner": "observer",
    }
    assert main(["keys", "add-client", str(root), "partner"]) == 2


def test_isru_flight_serves_the_secured_link_and_stops_on_sigterm(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert main(["keys", "init", str(keys)]) == 0
    config = tmp_path / "flight.toml"
    config.write_text(derived_config_text({"clock": {"mode": "scaled", "warp": 5.0}}))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "isru.cli",
            "flight",
            "--config",
            str(config),
            "--keys",
            str(keys),
            "--endpoint",
            "tcp://127.0.0.1:0",
            "--duration",
            "300",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "ISRU_HOME": str(tmp_path / "home")},
    )
    client = None
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"ground link on (tcp://127\.0\.0\.1:\d+)$", line.strip())
        assert match, line
        client = LinkClient(match.group(1), RealClock(), keys_dir=keys)
        statuses: list[dict] = []
        packets: list[int] = []
        client.on_command_status(statuses.append)
        client.on_telemetry(lambda seq, _samples: packets.append(seq))
        command_id = client.send_command("failsafe.set_policy", {"policy": "continue"})
        end = time.perf_counter() + 30
        while not (any(s["id"] == command_id and s["stage"] == "completed" for s in statuses) and packets):
            assert time.perf_counter() < end, (statuses, client.status)
            client.poll(0.02)
        assert client.dictionary is not None and client.dictionary["flight"]["name"]
        assert client.status.role == "operator"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if client is not None:
            client.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _start_flight(tmp_path: Path, keys: Path) -> tuple[subprocess.Popen[str], str]:
    """``isru flight`` with the embedded default configuration (no store, no spool named), ISRU_HOME in tmp."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "isru.cli", "flight", "--keys", str(keys), "--endpoint", "tcp://127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "ISRU_HOME": str(tmp_path / "home"), "PYTHONPATH": str(Path(__file__).parents[2])},
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    match = re.search(r"ground link on (tcp://127\.0\.0\.1:\d+)$", proc.stdout.readline().strip())
    assert match
    return proc, match.group(1)


def _command_once(endpoint: str, keys: Path, command: wire.Command) -> list[wire.Message]:
    """Say hello, send ``command`` raw (its counter as given), return what came back until its answer."""
    import zmq

    from link.security import secure_client

    ctx = zmq.Context()
    socket = ctx.socket(zmq.DEALER)
    socket.linger = 0
    secure_client(socket, keys, "operator")
    socket.connect(endpoint)
    # resume above everything spooled: only what answers this command comes back
    socket.send(wire.encode(wire.Hello(wire.PROTOCOL_VERSION, 2**62, 2**62, 10_000, False, False))[0])
    socket.send(wire.encode(command)[0])
    received: list[wire.Message] = []
    end = time.perf_counter() + 30
    try:
        while time.perf_counter() < end:
            if socket.poll(100):
                received.extend(wire.decode_batch(socket.recv()))
            if any(isinstance(m, wire.Reject) for m in received) or any(
                isinstance(m, wire.StatusPacket) and m.status["stage"] in ("completed", "failed") for m in received
            ):
                return received
        raise AssertionError(f"no answer to {command.id}: {received[-3:]}")
    finally:
        socket.close(0)
        ctx.term()


def test_with_the_default_config_a_command_replayed_after_a_restart_never_runs(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert main(["keys", "init", str(keys)]) == 0
    command = wire.Command("once", 5, "failsafe.set_policy", {"policy": "continue"})
    for attempt in range(2):
        proc, endpoint = _start_flight(tmp_path, keys)
        try:
            answers = _command_once(endpoint, keys, command)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
        if attempt == 0:
            assert any(isinstance(m, wire.StatusPacket) and m.status["stage"] == "completed" for m in answers)
        else:
            rejects = [m for m in answers if isinstance(m, wire.Reject)]
            assert [r.reason for r in rejects] == ["replay"] and rejects[0].counter == 5
    assert (tmp_path / "home" / "spool.sqlite").is_file()


FLIGHT = (sys.executable, "-m", "isru.cli", "flight")


def test_isru_flight_signs_with_the_rover_key_of_the_key_directory_it_is_given(tmp_path: Path) -> None:
    keys = tmp_path / "elsewhere" / "keys"
    assert main(["keys", "init", str(keys)]) == 0
    result = subprocess.run(
        [*FLIGHT, "--keys", str(keys), "--endpoint", "tcp://127.0.0.1:0", "--duration", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ISRU_HOME": str(tmp_path / "home")},  # [link] keys would name home/keys
    )
    assert result.returncode == 0, result.stderr
    assert "devices up" in result.stdout
    assert "key_ephemeral" not in result.stderr  # the rover key of --keys, not one made for this run


def test_with_the_default_virtual_clock_flight_is_paced_and_keeps_a_heartbeating_ground(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert main(["keys", "init", str(keys)]) == 0
    proc, endpoint = _start_flight(tmp_path, keys)
    client = None
    try:
        client = LinkClient(endpoint, RealClock(), keys_dir=keys, heartbeat_s=1.0)
        events: list[dict] = []
        client.on_event(lambda _seq, event: events.append(event))
        start = time.perf_counter()
        while time.perf_counter() - start < 5.0:  # past the 3 s loss-of-signal time-out of a free-running clock
            client.poll(0.05)
        assert client.status.state == "acquired", client.status
        assert not [e for e in events if e["name"] in ("los", "link_lost", "client_dropped")]
        stamps = [e["t"] for e in events]
        assert stamps and max(stamps) - min(stamps) < 60.0  # flight's clock runs near wall time, not 580 times it
    finally:
        if client is not None:
            client.close()
        proc.terminate()
        assert proc.wait(timeout=20) == 0
