"""Tell systemd how the flight service is doing (the ``sd_notify`` protocol), with the standard library only.

Under a ``Type=notify`` unit systemd puts a datagram socket in ``NOTIFY_SOCKET`` (a filesystem path, or
``@name`` for a Linux abstract socket). The service sends newline-separated ``KEY=VALUE`` lines to it:
``READY=1`` once the hardware is safe and the service runs, ``STATUS=...`` for ``systemctl status``,
``WATCHDOG=1`` at least every half ``WatchdogSec=``, ``STOPPING=1`` on the way out.

Outside systemd (no ``NOTIFY_SOCKET``) every call does nothing and returns False, so the same code runs
by hand, in tests and under the service manager. A failed send is logged, never raised: losing
contact with systemd must not stop flight (if the watchdog pings stop, systemd restarts the service,
which is the intended outcome).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

_LOGGER = logging.getLogger(__name__)

__all__ = ["Notifier", "notify", "notify_socket_address", "watchdog_period_s"]


def notify_socket_address(environ: Mapping[str, str] | None = None) -> str | None:
    """The address in ``NOTIFY_SOCKET`` as :func:`socket.socket.sendto` takes it (abstract names start
    with a NUL byte), or None when not running under systemd or the value is not a unix socket address."""
    value = (os.environ if environ is None else environ).get("NOTIFY_SOCKET", "")
    if not value:
        return None
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    _LOGGER.warning("NOTIFY_SOCKET=%r: expected an absolute path or an @abstract name; not notifying systemd", value)
    return None


def watchdog_period_s(environ: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """How often to send ``WATCHDOG=1``, seconds: half the timeout systemd gives in ``WATCHDOG_USEC``.

    None when the watchdog is off: no (or an unusable) ``WATCHDOG_USEC``, or ``WATCHDOG_PID`` names
    another process (``pid``, default this process, is the one asking).
    """
    env = os.environ if environ is None else environ
    usec_text = env.get("WATCHDOG_USEC", "")
    if not usec_text:
        return None
    pid_text = env.get("WATCHDOG_PID", "")
    if pid_text:
        try:
            watchdog_pid = int(pid_text)
        except ValueError:
            _LOGGER.warning("WATCHDOG_PID=%r: expected a process id; watchdog off", pid_text)
            return None
        if watchdog_pid != (os.getpid() if pid is None else pid):
            return None
    try:
        usec = int(usec_text)
    except ValueError:
        usec = 0
    if usec <= 0:
        _LOGGER.warning("WATCHDOG_USEC=%r: expected a positive number of microseconds; watchdog off", usec_text)
        return None
    return usec / 2e6


class Notifier:
    """Sends notifications to systemd over one datagram socket (opened on first use).

    ``environ`` defaults to the process environment, read once when the notifier is made.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.address = notify_socket_address(environ)
        self._socket: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        """True when running under systemd with a notification socket."""
        return self.address is not None

    def send(self, **fields: str | int) -> bool:
        """Send ``KEY=VALUE`` lines (e.g. ``send(READY=1, STATUS="running")``); True if systemd got them."""
        if self.address is None or not fields:
            return False
        lines = []
        for key, value in fields.items():
            text = str(value).replace("\n", " ")  # one field per line: a newline would start a bogus one
            lines.append(f"{key}={text}")
        payload = "\n".join(lines).encode("utf-8")
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._socket.sendto(payload, self.address)
        except OSError as exc:
            _LOGGER.warning("cannot notify systemd at %r: %s", self.address.replace("\0", "@"), exc)
            self.close()
            return False
        return True

    def ready(self, status: str = "") -> bool:
        """The service is up (hardware safe, loops running); with an optional status line."""
        return self.send(READY=1, STATUS=status) if status else self.send(READY=1)

    def status(self, text: str) -> bool:
        """A one-line status shown by ``systemctl status``."""
        return self.send(STATUS=text)

    def watchdog(self) -> bool:
        """The service is alive: reset the watchdog timer."""
        return self.send(WATCHDOG=1)

    def extend_timeout(self, seconds: float) -> bool:
        """Ask for ``seconds`` more to finish starting or stopping (e.g. while slow hardware is made safe)."""
        return self.send(EXTEND_TIMEOUT_USEC=max(0, round(seconds * 1e6)))

    def stopping(self, status: str = "") -> bool:
        """The service is shutting down."""
        return self.send(STOPPING=1, STATUS=status) if status else self.send(STOPPING=1)

    def close(self) -> None:
        """Close the socket (a later send opens a new one)."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def notify(message: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send one raw notification (``"READY=1"``, ``"STATUS=..."``, several lines joined by newlines);
    False when not under systemd or the send failed."""
    fields = dict(line.split("=", 1) for line in message.splitlines() if "=" in line)
    if not fields:
        raise ValueError(f"expected KEY=VALUE lines such as 'READY=1', found {message!r}")
    with Notifier(environ) as notifier:
        return notifier.send(**fields)
