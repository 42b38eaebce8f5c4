"""The ground hub in real headless Chromium: people log in, and every browser sees the same rover.

A real flight segment (the simulated rover on wall time, its real CURVE link server admitting ground-station
keys only) and one hub in this process: the archiving ground core, the audit trail in its archive, accounts
in their own SQLite file, and the console served with login, session cookies and Origin checks. Two
browsers — an operator (``ada``) and a partner's observer (``esa``) — log in to the same hub. Screenshots
are kept under pytest's temporary directory (``.../hub-screenshots``; the path is printed).
"""

from __future__ import annotations

import os
import socket
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
from ground.accounts import Accounts
from ground.archive import Archive
from ground.audit import AuditLog
from ground.console.app import register_pages
from ground.console.auth import HubAuth, allowed_origins
from ground.console.context import ConsoleContext
from ground.core import GroundCore
from link.keys import init_keys
from sim_hw.registry import uninstall_world
from tests.support.console_support import BATTERY_CHANNEL, FlightThread, build_flight

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: Longest wait for a page to show something, wall s: a loaded 2-core machine (both test workers, the hub,
#: flight and two browsers) has taken over 15 s to bring the first alarm to the board.
WAIT_S = 30.0
PASSWORDS = {"ada": "ada's long password", "esa": "esa partner password"}

pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromedriver (make test installs them)",
    ),
    pytest.mark.timeout(120),
]


class Browser:
    """One person's Chromium."""

    def __init__(self, name: str, url: str, shots: Path) -> None:
        os.environ.setdefault("SE_OFFLINE", "true")
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
            options.add_argument(argument)
        self.driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
        self.driver.set_page_load_timeout(30)
        self.name = name
        self.url = url
        self.shots = shots

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
                raise AssertionError(f"{self.name}: timed out after {timeout_s} s waiting for {what}")
            time.sleep(0.1)

    def body(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    def wait_text(self, text: str) -> None:
        self.wait(lambda: text.lower() in self.body().lower(), repr(text))

    def open(self, path: str) -> None:
        self.driver.get(self.url + path)
        self.wait_text("isru")

    def field(self, label: str) -> WebElement:
        return self.wait(
            lambda: self.driver.find_element(By.XPATH, f"//input[@aria-label='{label}']"), f"field {label!r}"
        )

    def type_into(self, label: str, text: str) -> None:
        """Type into a field once it takes input (a page or dialog may still be redrawing it)."""

        def typed() -> bool:
            element = self.field(label)
            element.clear()
            element.send_keys(text)
            return True

        self.wait(typed, f"the field {label!r} to take input")

    def button(self, label: str) -> WebElement:
        xpath = f"//button[.//span[normalize-space(text())='{label}']]"
        return self.wait(
            lambda: next((b for b in self.driver.find_elements(By.XPATH, xpath) if b.is_displayed()), None),
            f"button {label!r}",
        )

    def login(self, user: str, password: str) -> None:
        self.open("/login")
        self.type_into("user", user)
        self.type_into("password", password)
        self.button("Log in").click()

    def signed_in(self, user: str, role: str) -> None:
        """Logged in as ``user`` (``role``): logs in unless an earlier step of this browser already has."""
        self.open("/")
        if "/login" in self.driver.current_url:
            self.login(user, PASSWORDS[user])
        self.wait_text(f"{user} ({role})")

    def shot(self, name: str) -> None:
        self.driver.save_screenshot(str(self.shots / f"{self.name}-{name}.png"))


@dataclass
class Hub:
    app: Any
    world: Any
    flight: FlightThread
    server: LinkServer
    core: GroundCore
    accounts: Accounts
    audit: AuditLog
    operator: Browser
    observer: Browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    tmp = tmp_path_factory.mktemp("hub")
    shots = tmp_path_factory.mktemp("hub-screenshots")
    print(f"screenshots in {shots}")
    keys = init_keys(tmp / "keys")
    app, world, _clock = build_flight(clock=RealClock())
    server = LinkServer.attach(app, endpoint="tcp://127.0.0.1:0", keys_dir=keys)  # admits stations only
    flight = FlightThread(app).start()
    clock = RealClock()
    archive = Archive(tmp / "hub.sqlite")
    audit = AuditLog(archive.path, clock, rover="moon-1")
    core = GroundCore.connect(server.endpoint, archive, clock, keys_dir=keys, identity="archive", audit=audit)
    core.link_client.run_in_thread()
    accounts = Accounts(tmp / "accounts.sqlite", clock)
    accounts.add("ada", "operator", PASSWORDS["ada"])
    accounts.add("esa", "observer", PASSWORDS["esa"])
    port = _free_port()
    ctx = ConsoleContext(core, clock)
    ctx.auth = HubAuth(accounts, audit, allowed_origins("127.0.0.1", port, tls=False))
    browsers: list[Browser] = []
    os.environ["NICEGUI_SCREEN_TEST_PORT"] = str(port)
    with nicegui_reset_globals():
        register_pages(ctx)
        web = threading.Thread(
            target=lambda: ui.run(
                port=port,
                host="127.0.0.1",
                reload=False,
                show=False,
                show_welcome_message=False,
                storage_secret="hub test secret",
                session_middleware_kwargs={"same_site": "strict"},
            ),
            daemon=True,
        )
        web.start()
        try:
            deadline = time.perf_counter() + WAIT_S
            while core.role != "archive" or BATTERY_CHANNEL not in core.latest:
                assert time.perf_counter() < deadline, f"link not acquired: {core.link}"
                time.sleep(0.05)
            url = f"http://127.0.0.1:{port}"
            deadline = time.perf_counter() + WAIT_S
            while True:
                try:
                    urllib.request.urlopen(url + "/login", timeout=2.0).close()
                    break
                except OSError:
                    assert time.perf_counter() < deadline, "the hub's console did not answer"
                    time.sleep(0.2)
            browsers.append(Browser("operator", url, shots))
            browsers.append(Browser("observer", url, shots))
            yield Hub(app, world, flight, server, core, accounts, audit, *browsers)
        finally:
            for browser in browsers:
                browser.driver.quit()
            Server.instance.should_exit = True
            web.join(timeout=10)
            os.environ.pop("NICEGUI_SCREEN_TEST_PORT", None)
            ctx.detach()
            core.link_client.stop()
            core.link_client.close()
            core.close()
            audit.close()
            archive.close()
            accounts.close()
            flight.stop()
            server.close()
            app.close()
            uninstall_world()


def test_a_page_without_a_login_goes_to_the_login_page_and_bad_logins_are_refused(hub: Hub) -> None:
    browser = hub.operator
    browser.open("/commands")
    browser.wait(lambda: "/login" in browser.driver.current_url, "the login page")
    browser.login("ada", "not the password")
    browser.wait_text("login refused: wrong user name or password for 'ada'")
    browser.shot("wrong-password")
    browser.login("mallory", "whatever it is")
    browser.wait_text("login refused: wrong user name or password for 'mallory'")
    assert "/login" in browser.driver.current_url
    refused = [(e.user, e.action) for e in hub.audit.entries(action="login_refused")]
    assert ("ada", "login_refused") in refused and ("mallory", "login_refused") in refused


def test_the_operator_logs_in_and_commands_as_herself(hub: Hub) -> None:
    browser = hub.operator
    browser.login("ada", PASSWORDS["ada"])
    browser.wait(lambda: "/login" not in browser.driver.current_url, "the overview")
    browser.wait_text("ada (operator)")
    browser.open("/commands?name=drive.stop")
    browser.wait(lambda: browser.button("Send").is_enabled(), "Send enabled for an operator")
    browser.button("Send").click()
    record = browser.wait(
        lambda: next((r for r in hub.core.commands.records() if r.name == "drive.stop" and r.terminal), None),
        "drive.stop to end",
    )
    assert record.source == "ada" and record.terminal == "completed"
    assert any(e.user == "ada" and e.target == "drive.stop" for e in hub.audit.entries(action="command"))
    browser.shot("commanded")


def test_the_observer_sees_everything_and_cannot_command(hub: Hub) -> None:
    browser = hub.observer
    browser.login("esa", PASSWORDS["esa"])
    browser.wait_text("esa (observer)")
    before = hub.server.stats["commands"]
    browser.open("/commands?name=drive.stop")
    browser.wait_text("esa (observer)")
    time.sleep(1.0)  # the role gate refreshes twice a second
    assert not browser.button("Send").is_enabled()
    assert not browser.button("E-STOP").is_enabled()
    browser.driver.execute_script(  # every control at once, whatever the page shows (but staying logged in)
        "for (const b of document.querySelectorAll('button'))"
        " if (b.textContent.trim().toLowerCase() !== 'log out') b.click();"
    )
    browser.open("/telemetry")
    browser.type_into("filter channels", "power.")
    browser.wait_text(BATTERY_CHANNEL)
    browser.shot("observer-telemetry")
    time.sleep(0.5)
    assert hub.server.stats["commands"] == before


def test_two_browsers_see_the_same_alarms_through_one_flight_session(hub: Hub) -> None:
    hub.operator.signed_in("ada", "operator")
    hub.observer.signed_in("esa", "observer")
    hub.flight.call(lambda: hub.world.device("power").inject_low_battery(0.1))
    for browser in (hub.operator, hub.observer):
        browser.open("/alarms")
        browser.wait_text(BATTERY_CHANNEL)
        browser.wait_text("unacknowledged")
    hub.operator.wait(
        lambda: (a := hub.core.alarms.get(BATTERY_CHANNEL)) is not None and a.latched == "alarm", "the red alarm"
    )
    card = f"//div[contains(@class, 'q-card')][.//*[normalize-space(text())='{BATTERY_CHANNEL}']]"
    hub.operator.wait(  # found and clicked in one try: the board may redraw the card in between
        lambda: (
            hub.operator.driver.find_element(By.XPATH, card + "//button[.//span[text()='Acknowledge']]").click() or True
        ),
        "the acknowledge button",
    )
    hub.operator.type_into("comment (what was done)", "battery swap scheduled")
    hub.operator.wait(
        lambda: (
            hub.operator.driver.find_element(
                By.XPATH, "//div[contains(@class,'q-dialog')]//button[.//span[text()='Acknowledge']]"
            ).click()
            or True
        ),
        "the dialog's acknowledge button",
    )
    for browser in (hub.operator, hub.observer):  # one board: the observer sees the operator's acknowledgement
        browser.wait_text("battery swap scheduled")
        browser.shot("alarm-acknowledged")
    board = hub.core.alarms.get(BATTERY_CHANNEL)
    assert board is not None and board.ack_by == "ada"
    assert {s.identity.name for s in hub.server.sessions.values()} == {"archive"}  # 2 browsers, 1 flight session
    hub.observer.open("/audit")
    hub.observer.wait_text("alarm_ack")
    hub.observer.shot("audit")


def test_a_revoked_account_is_logged_out_at_its_next_step(hub: Hub) -> None:
    hub.observer.signed_in("esa", "observer")
    hub.accounts.remove("esa")
    hub.observer.open("/telemetry")
    hub.observer.wait(lambda: "/login" in hub.observer.driver.current_url, "the login page")
    hub.observer.login("esa", PASSWORDS["esa"])
    hub.observer.wait_text("login refused: the account 'esa' has been revoked")
