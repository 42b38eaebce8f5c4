"""sd_notify over real unix datagram sockets: a path in tmp_path and a Linux abstract name."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from flight.sdnotify import Notifier, notify, notify_socket_address, watchdog_period_s


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket bound to a path in tmp_path, as systemd binds NOTIFY_SOCKET; and that path."""
    path = tmp_path / "notify.sock"
    assert len(os.fsencode(path)) < 100, "unix socket paths must stay under 108 bytes"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5.0)
    try:
        yield sock, str(path)
    finally:
        sock.close()


@pytest.fixture
def abstract_listener() -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket on an abstract name; and the name as NOTIFY_SOCKET spells it (``@...``)."""
    name = f"isru-notify-test-{os.getpid()}-{os.urandom(4).hex()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5.0)
    try:
        yield sock, "@" + name
    finally:
        sock.close()


def _received(sock: socket.socket) -> list[str]:
    return sock.recv(4096).decode("utf-8").split("\n")


def test_path_socket_gets_ready_status_watchdog_and_stopping(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    with Notifier({"NOTIFY_SOCKET": path}) as notifier:
        assert notifier.enabled
        assert notifier.ready("safe; holding")
        assert _received(sock) == ["READY=1", "STATUS=safe; holding"]
        assert notifier.status("cycle 3 at site 1")
        assert _received(sock) == ["STATUS=cycle 3 at site 1"]
        assert notifier.watchdog()
        assert _received(sock) == ["WATCHDOG=1"]
        assert notifier.extend_timeout(12.5)
        assert _received(sock) == ["EXTEND_TIMEOUT_USEC=12500000"]
        assert notifier.stopping()
        assert _received(sock) == ["STOPPING=1"]


def test_abstract_socket_name(abstract_listener: tuple[socket.socket, str]) -> None:
    sock, name = abstract_listener
    assert notify_socket_address({"NOTIFY_SOCKET": name}) == "\0" + name[1:]
    with Notifier({"NOTIFY_SOCKET": name}) as notifier:
        assert notifier.ready()
        assert _received(sock) == ["READY=1"]
        assert notifier.watchdog()
        assert _received(sock) == ["WATCHDOG=1"]


def test_process_environment_is_read_by_default(
    listener: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, path = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    assert notify("READY=1\nSTATUS=up")
    assert _received(sock) == ["READY=1", "STATUS=up"]


def test_a_newline_in_a_status_cannot_forge_a_field(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    with Notifier({"NOTIFY_SOCKET": path}) as notifier:
        assert notifier.status("fault\nREADY=1")
    assert _received(sock) == ["STATUS=fault READY=1"]


def test_not_under_systemd_every_call_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier()
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog() is False
    assert notifier.stopping() is False
    assert notify("READY=1") is False


@pytest.mark.parametrize("value", ["relative/notify.sock", "@", "vsock:2:1234"])
def test_unusable_socket_addresses_disable_notification(value: str, caplog: pytest.LogCaptureFixture) -> None:
    assert notify_socket_address({"NOTIFY_SOCKET": value}) is None
    assert Notifier({"NOTIFY_SOCKET": value}).ready() is False
    assert "expected an absolute path or an @abstract name" in caplog.text


def test_a_vanished_socket_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}) as notifier:
        assert notifier.enabled
        assert notifier.watchdog() is False
    assert "cannot notify systemd" in caplog.text


def test_notify_refuses_text_without_fields() -> None:
    with pytest.raises(ValueError, match=r"expected KEY=VALUE lines such as 'READY=1', found 'ready'"):
        notify("ready", {"NOTIFY_SOCKET": "/run/systemd/notify"})


# ------------------------------------------------------------------------------------------ watchdog
def test_watchdog_period_is_half_the_timeout() -> None:
    assert watchdog_period_s({"WATCHDOG_USEC": "10000000"}) == 5.0
    assert watchdog_period_s({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": str(os.getpid())}) == 5.0
    assert watchdog_period_s({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "42"}, pid=42) == 1.5


def test_watchdog_off_without_usec_or_for_another_process(caplog: pytest.LogCaptureFixture) -> None:
    assert watchdog_period_s({}) is None
    assert watchdog_period_s({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": str(os.getpid() + 1)}) is None
    assert watchdog_period_s({"WATCHDOG_USEC": "ten"}) is None
    assert watchdog_period_s({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_period_s({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "me"}) is None
    assert "WATCHDOG_USEC='ten': expected a positive number of microseconds" in caplog.text
    assert "WATCHDOG_PID='me': expected a process id" in caplog.text


def test_watchdog_period_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "8000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert watchdog_period_s() == 4.0
