"""``isru keys`` and ``isru flight`` with its ground link, as a user runs them."""

from __future__ import annotations

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
    )
    client = None
    try:
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
