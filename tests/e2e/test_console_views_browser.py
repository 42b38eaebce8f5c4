"""The operator views end to end in a real headless Chromium (Debian's chromium and chromedriver, Selenium
offline): a real flight segment over the simulated rover on wall time, with the rehearsal command, behind
its real link server; the console's ground core over a real link client, served in this process.

The scenarios run in file order on one rover: every view renders without a browser error; a refused
command shows flight's message on the form and in the history's Message column; a sequence with hazardous
steps asks for confirmation listing them (Cancel sends nothing); a training fault from the rehearsal panel
puts the mission in SAFE and the banner says so; E-STOP latches and the banner says so; loss of signal
greys the values and the banner says so. Screenshots are kept in a temporary folder (its path is printed,
``ISRU_SCREENSHOTS`` chooses another).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from nicegui import ui
from nicegui.server import Server
from nicegui.testing.general import nicegui_reset_globals
from selenium.webdriver.common.by import By

from base.clock import RealClock
from flight.link_server import LinkServer
from ground.archive import Archive
from ground.console.app import register_pages
from ground.console.context import ConsoleContext
from ground.core import GroundCore
from isru.rehearsal import enable_rehearsal
from link.keys import init_keys
from sim_hw.registry import uninstall_world
from tests.e2e.test_console_browser import CHROMEDRIVER, CHROMIUM, WAIT_S, Rig, _chrome, _free_port, _wait_http
from tests.support.console_support import BATTERY_CHANNEL, FlightThread, build_flight

pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromedriver (make test installs them)",
    ),
    pytest.mark.timeout(120),
]


@dataclass
class ViewsRig(Rig):
    shots: Path = Path()

    def shot(self, name: str) -> None:
        self.driver.save_screenshot(str(self.shots / f"{name}.png"))

    def body(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def severe_logs(self) -> list[dict[str, Any]]:
        return [e for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ViewsRig]:
    tmp = tmp_path_factory.mktemp("console-views")
    shots = Path(os.environ.get("ISRU_SCREENSHOTS") or tempfile.mkdtemp(prefix="isru-console-shots-"))
    shots.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {shots}")
    keys = init_keys(tmp / "keys")
    app, world, _clock = build_flight(clock=RealClock())
    enable_rehearsal(app, world)  # before the link: flight's dictionary offers sim.inject
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
            url = f"http://127.0.0.1:{port}"
            yield ViewsRig(app, world, flight, server, core, url, driver, shots)
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
    ("/plots?c=power.battery_V,power.battery_A,power.soc&w=10 min", "plots-units", "One y axis per unit"),
    ("/telemetry", "telemetry", "Limits"),
    ("/commands?name=mission.start", "commands", "hazardous:"),
    ("/history", "history", "Message"),
    ("/events", "events", "group repeats"),
    ("/alarms", "alarms", "channels with limits"),
    ("/sequences", "sequences", "Run a stored sequence"),
    ("/archive?c=power.soc", "archive", "Export CSV"),
    ("/ledger", "ledger", "isru"),
    ("/map", "map", "Odometry frame"),
    ("/campaign", "campaign", "The whole campaign"),
    ("/parameters", "parameters", "mission.cycles"),
    ("/stack", "stack", "Release in order"),
    ("/diagram", "diagram", "zoom 100 %"),
    ("/rehearsal", "rehearsal", "SIMULATION ONLY"),
]


@pytest.mark.parametrize(("path", "name", "text"), VIEWS, ids=[v[1] for v in VIEWS])
def test_every_view_renders_without_a_browser_error(rig: ViewsRig, path: str, name: str, text: str) -> None:
    rig.open(path)
    rig.wait_text(text)
    rig.wait_text("link acquired")
    time.sleep(0.5)  # let charts, the map and the diagram draw before the picture
    rig.shot(name)
    assert rig.severe_logs() == []


def test_plots_have_an_axis_per_unit(rig: ViewsRig) -> None:
    rig.open("/plots?c=power.battery_V,power.battery_A,power.soc")
    rig.wait(lambda: rig.js("return window.isruPlots && window.isruPlots.drawn"), "first samples drawn")
    chart = "Object.keys(window.isruPlots.state)[0]"
    names = rig.js(f"return getElement({chart}).chart.getOption().yAxis.map(a => a.name)")
    assert names == ["V", "A", "1"]


def test_a_refused_command_shows_flights_message_on_the_form_and_in_the_history(rig: ViewsRig) -> None:
    rig.open("/commands?name=drill.spin")
    rig.type_into("rpm", "100")
    rig.button("Send").click()
    rig.button("Confirm").click()
    rig.wait(lambda: rig.records("drill.spin") and rig.records("drill.spin")[-1].terminal, "drill.spin to end")
    record = rig.records("drill.spin")[-1]
    assert record.terminal == "failed" and record.message
    rig.wait_text(f"failed — {record.reason}: {record.message}")
    rig.shot("command-refused")
    rig.open("/history")
    rig.wait_text(record.id)
    rig.wait_text(record.message)
    rig.shot("history-message")


def test_a_sequence_with_hazardous_steps_asks_first_and_cancel_sends_nothing(rig: ViewsRig) -> None:
    rig.open("/sequences")
    rig.wait_text("Run a stored sequence")
    before = len(rig.records("seq.run"))
    rig.button("Run").click()
    rig.wait_text("Hazardous steps")
    rig.wait_text("steps are hazardous")
    rig.shot("sequence-confirm")
    rig.button("Cancel").click()
    rig.wait_text("nothing sent")
    time.sleep(0.5)
    assert len(rig.records("seq.run")) == before


def test_a_training_fault_puts_the_mission_in_safe_and_the_banner_says_so(rig: ViewsRig) -> None:
    rig.open("/rehearsal")
    rig.button("battery_low").click()
    rig.button("Inject").click()
    rig.wait(lambda: rig.records("sim.inject") and rig.records("sim.inject")[-1].terminal, "sim.inject to end")
    assert rig.records("sim.inject")[-1].terminal == "completed"
    rig.wait(lambda: rig.core.value("mission.state") == "safe", "the mission in safe", 30.0)
    rig.open("/")
    rig.wait_text("SAFE: the mission stopped itself")
    rig.shot("banner-safe")
    rig.open("/events")
    rig.wait_text("REHEARSAL: injected battery_low")


def test_estop_latches_and_the_banner_says_so(rig: ViewsRig) -> None:
    rig.open("/telemetry")
    rig.button("E-STOP").click()
    rig.wait(lambda: rig.records("estop") and rig.records("estop")[-1].terminal == "completed", "e-stop done")
    rig.wait_text("E-STOP LATCHED")
    rig.shot("banner-estop")


def test_loss_of_signal_greys_the_values_and_rtt_is_unknown(rig: ViewsRig) -> None:
    rig.open("/")
    rig.wait_text("link acquired")
    rig.flight.stop()  # flight's loop stops: no heartbeats, no telemetry
    rig.wait_text("LOSS OF SIGNAL", timeout_s=30.0)
    rig.wait(lambda: "link-down" in (rig.driver.find_element(By.TAG_NAME, "body").get_attribute("class") or ""), "grey")
    rig.wait_text("RTT unknown")
    greyed = rig.driver.find_elements(By.CSS_SELECTOR, "body.link-down .isru-value")
    assert greyed and float(greyed[0].value_of_css_property("opacity")) < 0.6
    rig.shot("banner-los")
