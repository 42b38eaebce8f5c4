"""``isru console`` as the hub, as its own process: it refuses to start without an account or with half a
TLS configuration (saying which), and with a certificate it serves HTTPS only — the login page and the API
— checked with a real self-signed certificate made by openssl."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from base.clock import RealClock
from ground.accounts import Accounts
from ground.errors import HubError
from ground.hub_client import HubClient
from link.keys import init_keys

ISRU = [sys.executable, "-m", "isru.cli"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}  # NiceGUI's test mode


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(tmp_path: Path, port: int, extra: str = "") -> Path:
    config = tmp_path / "hub.toml"
    config.write_text(
        f'[link]\nendpoint = "tcp://127.0.0.1:{_free_port()}"\nkeys = "{init_keys(tmp_path / "keys")}"\n'
        f'[ground]\nconsole_port = {port}\naccounts = "{tmp_path / "accounts.sqlite"}"\n'
        f'archive = "{tmp_path / "hub.sqlite"}"\n{extra}'
    )
    return config


def test_the_hub_refuses_to_start_without_an_account(tmp_path: Path) -> None:
    result = subprocess.run(
        [*ISRU, "console", "--config", str(_config(tmp_path, _free_port()))],
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
    )
    assert result.returncode == 2
    assert "no accounts in" in result.stderr and "isru users add NAME --role operator" in result.stderr


def test_half_a_tls_configuration_is_refused(tmp_path: Path) -> None:
    Accounts(tmp_path / "accounts.sqlite", RealClock()).add("ada", "operator", "a long password")
    config = _config(tmp_path, _free_port(), f'tls_cert = "{tmp_path / "cert.pem"}"\n')
    result = subprocess.run([*ISRU, "console", "--config", str(config)], capture_output=True, text=True, env=ENV)
    assert result.returncode == 2 and "tls_cert and tls_key: expected both" in result.stderr


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
@pytest.mark.timeout(90)
def test_with_a_certificate_the_hub_serves_https_only(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    Accounts(tmp_path / "accounts.sqlite", RealClock()).add("ada", "operator", "a long password")
    port = _free_port()
    config = _config(tmp_path, port, f'tls_cert = "{cert}"\ntls_key = "{key}"\n')
    hub = subprocess.Popen(
        [*ISRU, "console", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    )
    trusted = ssl.create_default_context(cafile=str(cert))
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{port}/login", timeout=5, context=trusted) as page:
                    assert page.status == 200
                break
            except (urllib.error.URLError, ConnectionError):
                assert hub.poll() is None and time.monotonic() < deadline, "the hub did not serve HTTPS"
                time.sleep(0.3)
        with pytest.raises((urllib.error.URLError, ConnectionError)):  # plain HTTP gets no page
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5).read()
        snapshot = HubClient(f"https://127.0.0.1:{port}", "ada", "a long password", cafile=str(cert)).snapshot()
        assert snapshot["link"] in ("connecting", "los")  # no flight here: the hub still serves
        with pytest.raises(HubError) as refused:
            HubClient(f"https://127.0.0.1:{port}", "ada", "not it", cafile=str(cert)).snapshot()
        assert refused.value.status == 401
        request = urllib.request.Request(f"https://127.0.0.1:{port}/login", headers={"Origin": "https://evil.example"})
        with pytest.raises(urllib.error.HTTPError) as cross_site:
            urllib.request.urlopen(request, timeout=5, context=trusted)
        assert cross_site.value.code == 403
        cross_site.value.close()
        socket_url = f"https://127.0.0.1:{port}/_nicegui_ws/socket.io/?EIO=4&transport=polling"
        with pytest.raises(urllib.error.HTTPError) as foreign_socket:  # nor may it open the console's websocket
            urllib.request.urlopen(
                urllib.request.Request(socket_url, headers={"Origin": "https://evil.example"}),
                timeout=5,
                context=trusted,
            )
        assert foreign_socket.value.code == 403
        foreign_socket.value.close()
    finally:
        hub.terminate()
        output = hub.communicate(timeout=30)[0]
    assert hub.returncode == 0, output
    assert f"https://127.0.0.1:{port}" in output
