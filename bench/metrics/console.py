"""Console metrics: how late a telemetry sample is drawn in the browser, and what serving it costs.

One run feeds both keys. A flight process (:mod:`bench.metrics._console_flight`: flight's telemetry table
and link server, CURVE, spool on disk) publishes 50 packets/s of 8 channels; the ground hub ``isru console``
(the real command, its own process, one link session as the archiving station) receives them over the link
into its ground core and archive and serves the console; three headless Chromium browsers (Debian's, driven
by chromedriver, offline) each log in to the hub with an account and show all 8 channels in two live plots.
Every sample drawn is timed in the browser: the animation frame after its chart was redrawn, minus the wall
time flight stamped on the sample (same machine, same clock).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.errors import MeasurementError
from bench.registry import Result, RunOptions, metric
from bench.stats import median, percentile
from link.keys import init_keys

RATE_HZ = 50.0
CHANNELS = 8
BROWSERS = 3
#: Wall seconds each browser runs before timing starts (page load, first batches).
WARMUP_S = 3.0
#: Wall seconds to wait for the server or a browser before giving up.
START_TIMEOUT_S = 30.0
#: The bench's account on the hub (an observer: it only watches).
USER, PASSWORD = "bench", "bench-observer-password"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver


@dataclass(frozen=True)
class ConsoleRun:
    """What one run measured: latencies (ms) of every sample drawn, and the server's CPU."""

    latencies_ms: list[float]
    received_ms: list[float]
    cpu_pct: float
    measured_s: float
    expected_samples: int


_RUNS: dict[bool, ConsoleRun] = {}


@metric("console_latency_p95_ms", unit="ms", target="<= 250")
def console_latency_p95_ms(options: RunOptions) -> Result:
    """95th percentile of sample publish -> drawn in the browser, 50 Hz x 8 channels, 3 browsers."""
    run = _run(options)
    return Result(
        value=percentile(run.latencies_ms, 0.95),
        extra={
            "median_ms": round(median(run.latencies_ms), 1),
            "p99_ms": round(percentile(run.latencies_ms, 0.99), 1),
            # Up to the page, before drawing: link, ground core, console batching and websocket.
            "received_p95_ms": round(percentile(run.received_ms, 0.95), 1),
            "received_median_ms": round(median(run.received_ms), 1),
            "load_avg_1min": round(os.getloadavg()[0], 1),
            "samples_drawn": len(run.latencies_ms),
            "samples_published_x_browsers": run.expected_samples,
            "measured_s": round(run.measured_s, 1),
        },
    )


@metric("console_cpu_pct", unit="%")
def console_cpu_pct(options: RunOptions) -> Result:
    """CPU of the ``isru console`` process (link client, ground core, archive, web server) at that load, % of
    one core."""
    run = _run(options)
    return Result(value=run.cpu_pct, extra={"measured_s": round(run.measured_s, 1)})


def _run(options: RunOptions) -> ConsoleRun:
    if options.quick not in _RUNS:
        _RUNS[options.quick] = measure(measure_s=options.pick(full=20, quick=6))
    return _RUNS[options.quick]


def measure(measure_s: float, browsers: int = BROWSERS) -> ConsoleRun:
    """Run the server and ``browsers`` browsers; time ``measure_s`` wall seconds after the warm-up."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/plots?" + "&".join(
        "c=" + ",".join(f"bench.ch{i}" for i in range(start, start + CHANNELS // 2)) for start in (0, CHANNELS // 2)
    )
    with tempfile.TemporaryDirectory(prefix="isru-bench-console-") as folder, contextlib.ExitStack() as stack:
        keys = init_keys(Path(folder) / "keys")
        _add_account(Path(folder) / "accounts.sqlite")
        endpoint = stack.enter_context(_flight(keys))
        server = stack.enter_context(_console(Path(folder), keys, endpoint, port))
        drivers = [stack.enter_context(_browser()) for _ in range(browsers)]
        for driver in drivers:
            _log_in(driver, f"http://127.0.0.1:{port}")
            driver.get(url)
        deadline = time.perf_counter() + START_TIMEOUT_S
        for driver in drivers:
            while not driver.execute_script("return window.isruPlots ? window.isruPlots.drawn : 0"):
                if time.perf_counter() > deadline:
                    raise MeasurementError("no browser drew a sample within the start timeout")
                time.sleep(0.1)
        time.sleep(WARMUP_S)
        for driver in drivers:
            driver.execute_script("window.isruPlots.takeLatencies(); window.isruPlots.takeReceived()")
        cpu0, wall0 = _cpu_seconds(server.pid), time.perf_counter()
        time.sleep(measure_s)
        cpu1, wall1 = _cpu_seconds(server.pid), time.perf_counter()
        latencies: list[float] = []
        received: list[float] = []
        for driver in drivers:
            latencies.extend(float(x) for x in driver.execute_script("return window.isruPlots.takeLatencies()"))
            received.extend(float(x) for x in driver.execute_script("return window.isruPlots.takeReceived()"))
    if not latencies or not received:
        raise MeasurementError("the browsers drew no samples while timing")
    elapsed = wall1 - wall0
    return ConsoleRun(
        latencies_ms=latencies,
        received_ms=received,
        cpu_pct=100.0 * (cpu1 - cpu0) / elapsed,
        measured_s=elapsed,
        expected_samples=int(RATE_HZ * CHANNELS * browsers * elapsed),
    )


def _add_account(path: Path) -> None:
    from base.clock import RealClock
    from ground.accounts import Accounts

    accounts = Accounts(path, RealClock())
    try:
        accounts.add(USER, "observer", PASSWORD)
    finally:
        accounts.close()


def _log_in(driver: WebDriver, base: str) -> None:
    """Log the browser in to the hub as the bench's account."""
    from selenium.webdriver.common.by import By

    driver.get(base + "/login")
    deadline = time.perf_counter() + START_TIMEOUT_S
    while True:
        try:
            driver.find_element(By.XPATH, "//input[@aria-label='user']").send_keys(USER)
            driver.find_element(By.XPATH, "//input[@aria-label='password']").send_keys(PASSWORD)
            driver.find_element(By.XPATH, "//button[.//span[normalize-space(text())='Log in']]").click()
            break
        except Exception as exc:  # the login page is still drawing
            if time.perf_counter() > deadline:
                raise MeasurementError(f"the hub's login page did not take the bench's login: {exc}") from exc
            time.sleep(0.1)
    while "/login" in driver.current_url:
        if time.perf_counter() > deadline:
            raise MeasurementError("the hub did not let the bench's account in")
        time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (from /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _environment() -> dict[str, str]:
    """This environment without test-runner variables (NiceGUI takes those for its own test server)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextlib.contextmanager
def _flight(keys: Path) -> Iterator[str]:
    """The publishing flight process; yields its link endpoint."""
    command = [
        sys.executable,
        "-m",
        "bench.metrics._console_flight",
        "--keys",
        str(keys),
        "--rate-hz",
        str(RATE_HZ),
        "--channels",
        str(CHANNELS),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_environment()
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        if not line.startswith("endpoint "):
            raise MeasurementError(f"flight publisher did not start (said {line!r}, exit code {process.poll()})")
        yield line.split()[1]
    finally:
        _stop(process)


@contextlib.contextmanager
def _console(folder: Path, keys: Path, endpoint: str, port: int) -> Iterator[subprocess.Popen]:
    """The hub (``isru console``) on ``port`` over the link to ``endpoint``; yields the process once it serves
    (its login page: every other page asks for a login)."""
    config = folder / "console.toml"
    config.write_text(f'[link]\nendpoint = "{endpoint}"\n[ground]\nconsole_port = {port}\n', encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "isru.cli",
        "console",
        "--config",
        str(config),
        "--keys",
        str(keys),
        "--identity",
        "archive",
        "--accounts",
        str(folder / "accounts.sqlite"),
        "--archive",
        str(folder / "archive.sqlite"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_environment())
    try:
        deadline = time.perf_counter() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2.0) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.perf_counter() > deadline:
                    raise MeasurementError(
                        f"isru console did not start on port {port} (exit code {process.poll()})"
                    ) from None
                time.sleep(0.2)
        yield process
    finally:
        _stop(process)


@contextlib.contextmanager
def _browser() -> Iterator[WebDriver]:
    os.environ.setdefault("SE_OFFLINE", "true")
    os.environ.setdefault("SE_CHROMEDRIVER", CHROMEDRIVER)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(START_TIMEOUT_S)
    try:
        yield driver
    finally:
        driver.quit()
