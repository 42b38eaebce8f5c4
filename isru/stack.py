"""A whole simulated stack on this machine: flight (simulated devices in-process) as its own process,
and a ground core with its archive here, over the secured link on 127.0.0.1.

It is what ``isru demo`` runs and what the pytest plugin's ``isru_stack`` fixture hands to a test::

    with SimStack(tmp_path, warp=5.0) as stack:
        stack.procedures.send("mission.start", cycles=1).wait_completed()

Keys are made with ``isru keys init`` in ``workdir/keys``; flight runs ``isru flight --config
workdir/flight.toml`` (the embedded default plus this stack's overrides: a paced (lock-step) clock, the link
endpoint, keys, spool and store in ``workdir``) and logs to ``workdir/flight.log``.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from base.clock import RealClock
from ground.archive import Archive
from ground.core import GroundCore
from ground.errors import WaitTimeout
from ground.ledger.hub import LedgerHub
from ground.procedures import Procedures
from isru.config import merge_overrides
from isru.errors import StackError

_LOGGER = logging.getLogger(__name__)

#: Seconds (wall) to wait for a started flight process to send its dictionary.
START_TIMEOUT_S = 30.0
#: Seconds (wall) to wait for flight to stop after SIGTERM before it is killed.
STOP_TIMEOUT_S = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SimStack:
    """Flight process + ground core over the real link; see the module docstring.

    ``warp`` is flight's simulated seconds per wall second; ``overrides`` are merged into the flight
    configuration (nested like the TOML file); ``insecure`` runs the link in plaintext (tests of that only);
    ``endpoint`` is the link's (None: a free port on 127.0.0.1).
    """

    def __init__(
        self,
        workdir: str | Path,
        *,
        warp: float = 2.0,
        overrides: dict[str, Any] | None = None,
        light_time_s: float = 0.0,
        insecure: bool = False,
        config: str | Path | None = None,
        endpoint: str | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.warp = warp
        self.light_time_s = light_time_s
        self.insecure = insecure
        self.base_config = config
        self.endpoint = endpoint or f"tcp://127.0.0.1:{free_port()}"
        self.keys_dir = self.workdir / "keys"
        self.config_path = self.workdir / "flight.toml"
        self.log_path = self.workdir / "flight.log"
        self.archive_path = self.workdir / "archive.sqlite"
        self.ledger_path = self.workdir / "ledger.sqlite"
        self.ledger: LedgerHub | None = None
        self._stop_registered = False
        self.clock = RealClock()
        self._overrides = overrides or {}
        self.flight: subprocess.Popen[bytes] | None = None
        self.archive: Archive | None = None
        self.core: GroundCore | None = None
        self.procedures: Procedures | None = None
        self._extra_cores: list[GroundCore] = []

    # ----------------------------------------------------------------------------------- config
    def flight_overrides(self) -> dict[str, Any]:
        """What this stack changes in flight's configuration."""
        base: dict[str, Any] = {
            # Lock-step: the devices simulated inside flight share its paced clock (a starved flight slows down
            # instead of tripping their dead-men); a stack whose devices run elsewhere overrides it to scaled.
            "clock": {"mode": "paced", "warp": self.warp},
            "link": {
                "endpoint": self.endpoint,
                "keys": str(self.keys_dir),
                "insecure": self.insecure,
                "light_time_s": self.light_time_s,
                "spool": str(self.workdir / "spool.sqlite"),
            },
            "flight": {"store": str(self.workdir / "store.sqlite"), "params": str(self.workdir / "params.json")},
        }
        merge_overrides(base, self._overrides)
        return base

    def _write_config(self) -> None:
        from isru.config import derived_config_text

        self.config_path.write_text(derived_config_text(self.flight_overrides(), self.base_config))

    @property
    def ground(self) -> GroundCore:
        """The archiving ground core (:class:`StackError` before :meth:`start`)."""
        if self.core is None:
            raise StackError("the stack has not been started")
        return self.core

    @property
    def flight_pid(self) -> int:
        """The flight process's id (:class:`StackError` when it was never started)."""
        if self.flight is None:
            raise StackError("flight has not been started")
        return self.flight.pid

    # -------------------------------------------------------------------------------------- life
    def start(self) -> SimStack:
        """Make keys, start flight, connect ground, wait for the dictionary; returns self."""
        from link.keys import add_missing_clients, init_keys
        from link.ledger_keys import init_ledger_keys

        if not self.insecure:
            if not (self.keys_dir / "server.key").exists():
                init_keys(self.keys_dir)
            for name in add_missing_clients(self.keys_dir):  # a key directory made before that client existed
                _LOGGER.warning("keys: added the %s client to %s", name, self.keys_dir)
        init_ledger_keys(self.keys_dir)  # a key directory made before the ledger gets its keys
        self._write_config()
        self.start_flight()
        try:
            self.archive = Archive(self.archive_path)
            self.core = self.connect("archive", archive=True)  # the archiving station: its acks prune the spool
            self.procedures = Procedures(self.core, self.clock)
        except BaseException:
            self.stop()  # never leave a flight process behind a failed start
            raise
        return self

    def start_flight(self) -> None:
        """Start the flight process (again, after :meth:`kill_flight` or :meth:`stop_flight`)."""
        if self.flight is not None and self.flight.poll() is None:
            raise StackError(f"flight is already running (pid {self.flight.pid})")
        log = self.log_path.open("ab")
        if not self._stop_registered:  # also when this process ends without stop(): flight never outlives it
            atexit.register(self.stop_flight)
            self._stop_registered = True
        try:
            self.flight = subprocess.Popen(
                [sys.executable, "-m", "isru.cli", "flight", "--config", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                # Its own process group: a Ctrl-C at the terminal reaches this process, which stops flight
                # (SIGTERM) itself, so flight exiting while the stack runs is always flight's own doing.
                process_group=0,
            )
        finally:
            log.close()

    def connect(self, identity: str = "operator", *, archive: bool = False) -> GroundCore:
        """A ground core on this stack's link with client certificate ``identity``, serviced in a thread.

        The first (``archive=True``) one is the archiving station; others are live views with their own
        temporary archive. Waits for the flight dictionary.
        """
        if archive:
            assert self.archive is not None
            store = self.archive
        else:
            store = Archive(self.workdir / f"view-{identity}-{len(self._extra_cores)}.sqlite")
        core = GroundCore.connect(
            self.endpoint,
            store,
            self.clock,
            archiving=archive,
            keys_dir=None if self.insecure else self.keys_dir,
            identity=identity,
            insecure=self.insecure,
        )  # the light time is flight's ([link] light_time_s): one side only, and ground learns it from the welcome
        if archive:
            if self.ledger is not None:
                self.ledger.log.close()
            self.ledger = LedgerHub.open(self.keys_dir, self.ledger_path, self.clock)
            self.ledger.attach(core)
        core.link_client.run_in_thread()
        if not archive:
            self._extra_cores.append(core)
        self.await_dictionary(core)
        return core

    def await_dictionary(self, core: GroundCore, timeout_s: float | None = None) -> None:
        """Wait until ``core`` holds the flight dictionary (raises :class:`StackError` with flight's log); by
        default :data:`START_TIMEOUT_S` plus twice the round trip of light in wall seconds at the warp (a starved
        paced clock runs slower than the warp)."""
        if timeout_s is None:
            timeout_s = START_TIMEOUT_S + 2.0 * (2.0 * self.light_time_s) / self.warp
        try:
            core.commands.wait(lambda: core.dictionary, timeout_s, "the flight dictionary")
        except WaitTimeout:
            raise StackError(
                f"flight did not answer on {self.endpoint} within {timeout_s} s; its log:\n{self.flight_log()[-3000:]}"
            ) from None

    def flight_log(self) -> str:
        """What the flight process wrote so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def kill_flight(self) -> None:
        """SIGKILL the flight process (a crash: nothing is cleaned up) and reap it."""
        if self.flight is not None and self.flight.poll() is None:
            self.flight.send_signal(signal.SIGKILL)
            self.flight.wait(timeout=STOP_TIMEOUT_S)

    def stop_flight(self) -> int | None:
        """SIGTERM the flight process (it makes the hardware safe and exits); returns its exit code."""
        if self.flight is None:
            return None
        if self.flight.poll() is None:
            self.flight.send_signal(signal.SIGTERM)
            try:
                self.flight.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                _LOGGER.error("flight did not stop within %s s of SIGTERM; killing it", STOP_TIMEOUT_S)
                self.flight.kill()
                self.flight.wait(timeout=STOP_TIMEOUT_S)
        return self.flight.returncode

    def stop(self) -> None:
        """Stop flight and close every ground core and archive. Flight is stopped whatever happens while the
        cores close (an error, a second Ctrl-C): it must never outlive the stack, holding the link's port."""
        try:
            if self.procedures is not None:
                self.procedures.close()
            for core in [*self._extra_cores, self.core]:  # the archiving core last: views first
                if core is None:
                    continue
                link = core.client
                if link is not None:
                    link.stop()
                core.close()
                if link is not None:
                    link.close()
                if core.archive is not self.archive:
                    core.archive.close()
            self._extra_cores.clear()
        finally:
            self.stop_flight()
        if self.archive is not None:
            self.archive.close()
            self.archive = None
        if self.ledger is not None:
            self.ledger.log.close()
            self.ledger = None

    def __enter__(self) -> SimStack:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
