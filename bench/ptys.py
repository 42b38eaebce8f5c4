"""A pty pair whose master end is served by a far-end program (:mod:`bench.peers`) in its own process.

The host opens :attr:`PtyPeer.path` (the slave tty) with pyserial, exactly as it would open a USB serial
adapter. The far end runs in a separate interpreter so that host and device do not share a GIL, as on
real hardware.
"""

from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
import tty
from pathlib import Path

from bench.errors import MeasurementError

_LOGGER = logging.getLogger(__name__)

#: Wall seconds a far-end process may take to start (an interpreter start and a few imports).
START_TIMEOUT_S = 20.0
#: Wall seconds a far-end process may take to exit once the host side of its pty has closed.
STOP_TIMEOUT_S = 5.0
_PROJECT_ROOT = Path(__file__).resolve().parent.parent


class PtyPeer:
    """Context manager: opens a raw pty, starts ``python -m bench.peers <mode> --fd <master> <args>``
    and waits for it to report ready; on exit closes the host side and reaps the process."""

    def __init__(self, mode: str, *args: str) -> None:
        self.mode = mode
        self.args = args
        self.path = ""
        #: Exit status of the far end once closed (0: it saw the hang-up and exited by itself).
        self.returncode: int | None = None
        self._slave: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PtyPeer:
        master, slave = os.openpty()
        self._slave = slave
        try:
            # Raw before anything is written: a cooked pty would echo the host's bytes back to it.
            tty.setraw(slave)
            self.path = os.ttyname(slave)
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(_PROJECT_ROOT), env.get("PYTHONPATH"))))
            self._process = subprocess.Popen(
                [sys.executable, "-m", "bench.peers", self.mode, "--fd", str(master), *self.args],
                pass_fds=(master,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                env=env,
            )
        except BaseException:
            self.close()
            raise
        finally:
            os.close(master)  # the far end holds its own copy
        try:
            self._await_ready()
        except BaseException:
            self.close()
            raise
        _LOGGER.debug("far end %s serving %s (pid %d)", self.mode, self.path, self._process.pid)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _await_ready(self) -> None:
        process = self._process
        if process is None or process.stdout is None:
            raise MeasurementError(f"far end {self.mode!r} was not started; expected a running process")
        readable, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
        line = process.stdout.readline() if readable else b""
        if line.strip() != b"ready":
            raise MeasurementError(
                f"far end {self.mode!r} on {self.path} did not report ready within {START_TIMEOUT_S:.0f} s "
                f"(said {line!r}, exit status {process.poll()}); expected a line 'ready'"
            )

    def close(self) -> None:
        """Close the host's pty handle (the far end then reads EIO and exits) and reap the process."""
        if self._slave is not None:
            os.close(self._slave)
            self._slave = None
        process, self._process = self._process, None
        if process is None:
            return
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _LOGGER.warning("far end %s (pid %d) did not exit; killing it", self.mode, process.pid)
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)
        finally:
            self.returncode = process.returncode
            if process.stdout is not None:
                process.stdout.close()
