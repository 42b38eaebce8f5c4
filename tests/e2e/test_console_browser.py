"""The console end to end in a real headless Chromium (Debian's chromium and chromedriver, Selenium
offline): a real flight segment over the simulated rover runs on wall time with its real link server;
the operator console is a real ground core over a real link client, served in this process without login
(people logging in, the observer and two browsers on one hub: ``test_hub_browser.py``).

The scenarios run in file order on one rover: every view renders (screenshots go to ``screenshots/``), a
live plot advances, a hazardous command is cancelled (nothing reaches flight) and then confirmed (the
history shows it completed), E-STOP stops every actuator, a battery pushed into its red band raises an
alarm that an acknowledgement changes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from nicegui import ui
from nicegui.server import Server
from nicegui.testing.general import nicegui_reset_globals
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from base.clock import RealClock
from flight.link_server import LinkServer
from ground.archive import Archive
from ground.console.app import register_pages
from ground.console.context import ConsoleContext
from ground.core import GroundCore
from link.keys import init_keys
from sim_hw.registry import uninstall_world
from tests.support.console_support import BATTERY_CHANNEL, FlightThread, build_flight

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
WAIT_S = 15.0

pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromedriver (make test installs them)",
    ),
    pytest.mark.timeout(90),
]


@dataclass
class Rig:
    app: Any
    world: Any
    flight: FlightThread
    server: LinkServer
    core: GroundCore
    url: str
    driver: webdriver.Chrome

    # ----------------------------------------------------------------------------- browser helpers
    def open(self, path: str, base: str | None = None) -> None:
        self.driver.get((base or self.url) + path)
        self.wait_text("isru")

    def wait(self, condition: Callable[[], Any], what: str, timeout_s: float = WAIT_S) -> Any:
        deadline = time.perf_counter() + timeout_s
        while True:
            try:
                result = condition()
            except Exception:  # the page is changing under us; try again
                result = None
            if result:
                return result
            if time.perf_counter() > deadline:
                self.shot("timeout")
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
            time.sleep(0.1)

    def wait_text(self, text: str, timeout_s: float = WAIT_S) -> None:
        wanted = text.lower()  # buttons show their labels in capitals
        self.wait(lambda: wanted in self.driver.find_element(By.TAG_NAME, "body").text.lower(), repr(text), timeout_s)

    def button(self, label: str) -> WebElement:
        xpath = f"//button[.//span[normalize-space(text())='{label}']]"
        return self.wait(
            lambda: next((b for b in self.driver.find_elements(By.XPATH, xpath) if b.is_displayed()), None),
            f"button {label!r}",
        )

    def field(self, label_start: str) -> WebElement:
        xpath = f"//input[starts-with(@aria-label, '{label_start}')]"
        return self.wait(lambda: self.driver.find_element(By.XPATH, xpath), f"field {label_start!r}")

    def type_into(self, label_start: str, text: str) -> None:
        """Type into a field once it takes input (a dialog's field is not interactable while it opens)."""

        def typed() -> bool:
            element = self.field(label_start)
            element.clear()
            element.send_keys(text)
            return True

        self.wait(typed, f"the field {label_start!r} to take input")

    def click(self, xpath: str, what: str) -> None:
        """Click the element at ``xpath`` once it is there and interactable."""
        self.wait(lambda: self.driver.find_element(By.XPATH, xpath).click() or True, what)

    def js(self, script: str) -> Any:
        return self.driver.execute_script(script)

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))

    # ----------------------------------------------------------------------------- flight helpers
    def on_flight(self, function: Callable[[], Any]) -> Any:
        return self.flight.call(function)

    def records(self, name: str) -> list[Any]:
        return [r for r in self.core.commands.records() if r.name == name]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen | None = None, timeout_s: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2.0) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{url}: the server exited with {process.returncode}")
        assert time.perf_counter() < deadline, f"{url} did not answer within {timeout_s} s"
        time.sleep(0.2)


def _chrome() -> webdriver.Chrome:
    # Selenium Manager must not look for drivers on the network.
    os.environ.setdefault("SE_OFFLINE", "true")
    os.environ.setdefault("SE_CHROMEDRIVER", str(CHROMEDRIVER))
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    tmp = tmp_path_factory.mktemp("console")
    keys = init_keys(tmp / "keys")
    app, world, _clock = build_flight(clock=RealClock())
    server = LinkServer.attach(app, endpoint="tcp://127.0.0.1:0", keys_dir=keys)
    flight = FlightThread(app).start()
    clock = RealClock()
    core = GroundCore.connect(
        server.endpoint, Archive(tmp / "archive.sqlite"), clock, keys_dir=keys, identity="operator"
    )
    core.client.run_in_thread()
    ctx = ConsoleContext(core, clock)
    port = _free_port()
    driver = None
    os.environ["NICEGUI_SCREEN_TEST_PORT"] = str(port)
    with nicegui_reset_globals():
        register_pages(ctx)
        web = threading.Thread(
            target=lambda: ui.run(port=port, host="127.0.0.1", reload=False, show=False, show_welcome_message=False),
            daemon=True,
        )
        web.start()
        try:
            deadline = time.perf_counter() + WAIT_S
            while core.role != "operator" or BATTERY_CHANNEL not in core.latest:
                assert time.perf_counter() < deadline, f"link not acquired: {core.link}"
                time.sleep(0.05)
            _wait_http(f"http://127.0.0.1:{port}/")
            driver = _chrome()
            yield Rig(
                app,
                world,
                flight,
                server,
                core,
                f"http://127.0.0.1:{port}",
                driver,
            )
        finally:
            if driver is not None:
                driver.quit()
            Server.instance.should_exit = True
            web.join(timeout=10)
            os.environ.pop("NICEGUI_SCREEN_TEST_PORT", None)
            ctx.detach()
            core.client.stop()
            core.client.close()
            core.close()
            core.archive.close()
            flight.stop()
            server.close()
            app.close()
            uninstall_world()


VIEWS = [
    ("/", "overview", "state: "),
    ("/plots?c=power.soc&c=drive.v_m_s,drive.omega_rad_s", "plots", "updates/s"),
    ("/telemetry", "telemetry", "Limits"),
    ("/commands?name=drill.spin", "commands", "hazardous:"),
    ("/history", "history", "Stages"),
    ("/events", "events", "Severity"),
    ("/alarms", "alarms", "channels with limits"),
    ("/sequences", "sequences", "seq.run"),
    ("/archive", "archive", "Export CSV"),
]


@pytest.mark.parametrize(("path", "name", "text"), VIEWS, ids=[v[1] for v in VIEWS])
def test_every_view_renders_with_estop(rig: Rig, path: str, name: str, text: str) -> None:
    rig.open(path)
    rig.wait_text(text)
    assert rig.button("E-STOP").is_enabled()
    rig.wait_text("link acquired")
    time.sleep(0.5)  # let charts and the diagram draw before the picture
    rig.shot(name)


def test_overview_highlights_the_current_state(rig: Rig) -> None:
    rig.open("/")
    state = rig.core.value("mission.state")
    rig.wait_text(f"state: {state}")
    rig.wait(
        lambda: rig.driver.find_elements(By.CSS_SELECTOR, "svg g.node.s_active, svg .s_active"),
        "the active state drawn in the diagram",
    )


def test_live_plot_advances(rig: Rig) -> None:
    rig.open(f"/plots?c={BATTERY_CHANNEL}")
    rig.wait(lambda: rig.js("return window.isruPlots && window.isruPlots.drawn"), "first samples drawn")
    chart = "Object.keys(window.isruPlots.state)[0]"
    count = f"return window.isruPlots.state[{chart}].series[0].length"
    newest = f"const s = window.isruPlots.state[{chart}].series[0]; return s[s.length - 1][0]"
    first_count, first_t = rig.js(count), rig.js(newest)
    rig.wait(lambda: rig.js(newest) > first_t and rig.js(count) > first_count, "the plot to advance")
    drawn = rig.js(f"return getElement({chart}).chart.getOption().series[0].data.length")
    assert drawn >= first_count
    rig.wait_text("updates/s")
    rate = rig.wait(
        lambda: next(
            (
                int(e.text.split()[0])
                for e in rig.driver.find_elements(By.XPATH, "//*[contains(text(), 'updates/s')]")
                if e.text.split()[0] != "0"
            ),
            None,
        ),
        "a rate readout",
    )
    assert rate > 0


def test_archive_plots_and_exports_a_range(rig: Rig) -> None:
    rig.core.flush()
    rig.open(f"/archive?c={BATTERY_CHANNEL}")
    rig.button("Plot").click()
    rig.wait(lambda: rig.driver.find_element(By.XPATH, f"//*[starts-with(text(), '{BATTERY_CHANNEL}: ')]"), "summary")
    summary = rig.driver.find_element(By.XPATH, f"//*[starts-with(text(), '{BATTERY_CHANNEL}: ')]").text
    assert int(summary.split()[1]) > 0
    rig.button("Export CSV").click()
    rig.wait(lambda: rig.driver.find_element(By.XPATH, "//*[starts-with(text(), 'exported ')]"), "the export")
    rows = int(rig.driver.find_element(By.XPATH, "//*[starts-with(text(), 'exported ')]").text.split()[1])
    assert rows > 0
    rig.shot("archive")


def test_hazardous_command_cancel_sends_nothing(rig: Rig) -> None:
    rig.open("/commands?name=drive.twist")
    rig.type_into("v_m_s", "0.05")
    rig.type_into("omega_rad_s", "0")
    rig.button("Send").click()
    hazard = rig.core.dictionary.hazard("drive.twist")
    rig.wait_text(hazard)
    rig.shot("confirm-dialog")
    rig.button("Cancel").click()
    rig.wait_text("nothing sent")
    time.sleep(0.5)
    assert rig.records("drive.twist") == []
    rig.on_flight(lambda: rig.world.device("drive").assert_not_received("twist"))


def test_hazardous_command_confirmed_completes_in_history(rig: Rig) -> None:
    rig.open("/commands?name=drive.twist")
    rig.type_into("v_m_s", "0.05")
    rig.type_into("omega_rad_s", "0")
    rig.button("Send").click()
    rig.button("Confirm").click()
    rig.wait(lambda: rig.records("drive.twist") and rig.records("drive.twist")[-1].terminal, "the command to end")
    record = rig.records("drive.twist")[-1]
    assert record.terminal == "completed", record.statuses()
    rig.open("/history")
    rig.wait(lambda: rig.driver.find_elements(By.CSS_SELECTOR, "td[data-stage='completed']"), "completed row")
    rig.wait_text(record.id)
    rig.wait_text("accepted")
    rig.shot("history-completed")


def test_estop_stops_every_actuator(rig: Rig) -> None:
    if not rig.on_flight(lambda: rig.world.device("drive").is_actuating()):  # on its own, not after the twist test
        rig.core.send("drive.twist", {"v_m_s": 0.05, "omega_rad_s": 0.0}, confirmed=True)
    rig.wait(lambda: rig.on_flight(lambda: rig.world.device("drive").is_actuating()), "the rover driving")
    rig.open("/telemetry")
    rig.button("E-STOP").click()
    rig.wait(lambda: rig.records("estop") and rig.records("estop")[-1].terminal == "completed", "e-stop done")

    def stopped() -> bool:
        return not any(rig.world.device(n).is_actuating() for n in ("drill", "scoop", "extractor", "anchor", "drive"))

    rig.wait(lambda: rig.on_flight(stopped), "every actuator stopped")
    rig.wait(lambda: rig.core.value("mission.state") == "safe", "the mission in safe")


def test_battery_in_its_red_band_raises_an_alarm_that_acknowledging_changes(rig: Rig) -> None:
    rig.on_flight(lambda: rig.world.device("power").inject_low_battery(0.1))
    rig.open("/alarms")
    rig.wait_text(BATTERY_CHANNEL)
    rig.wait_text("violated: alarm_low 0.2")
    # The value falls through the yellow band first: wait for the red level to latch.
    alarm = rig.wait(
        lambda: (a := rig.core.alarms.get(BATTERY_CHANNEL)) is not None and a.latched == "alarm" and a,
        "the red alarm on the board",
    )
    assert not alarm.acked
    rig.shot("alarm-latched")
    card = f"//div[contains(@class, 'q-card')][.//*[normalize-space(text())='{BATTERY_CHANNEL}']]"
    rig.wait(
        lambda: rig.driver.find_element(By.XPATH, card + "//button[.//span[text()='Acknowledge']]"),
        "the acknowledge button",
    ).click()
    rig.type_into("comment", "battery swap scheduled")
    dialog = "//div[contains(@class,'q-dialog')]"
    rig.click(dialog + "//button[.//span[text()='Acknowledge']]", "the dialog's acknowledge button")
    rig.wait(
        lambda: rig.core.alarms.get(BATTERY_CHANNEL) is None or rig.core.alarms.get(BATTERY_CHANNEL).acked,
        "the alarm acknowledged",
    )
    board = rig.core.alarms.get(BATTERY_CHANNEL)
    assert board is not None and board.ack_comment == "battery swap scheduled" and board.ack_by == "operator"
    rig.wait_text("battery swap scheduled")
    rig.shot("alarm-acknowledged")
