"""pytest plugin (entry point ``isru``): a whole simulated stack for your own mission tests.

Installing isru registers it; a test asks for the ``isru_stack`` fixture and gets a started
:class:`isru.stack.SimStack` — flight with simulated devices in its own process, ground core and archive
in the test process, over the CURVE-secured link on 127.0.0.1 — and ``isru`` is its procedures API::

    def test_anchoring(isru):
        isru.send("mission.start", cycles=1).wait_completed(timeout_s=30)
        isru.await_telemetry("mission.state", lambda s: s.startswith("anchor"), timeout_s=120)

Configure with the ``isru_stack`` marker: ``@pytest.mark.isru_stack(warp=5.0, light_time_s=1.3,
overrides={"sim": {"seed": 3}})``, or for every test with ``--isru-warp``. Flight's log is attached to
the report of a failing test. That stack's ground core is its own hub: the only part of the run on the link.

**Against a running ground hub** instead (a rig, a rehearsal, a partner's tests): ``pytest --isru-hub URL
--isru-user NAME`` with the account's password in ``$ISRU_HUB_PASSWORD`` (never on the command line). Then
``isru`` is the procedures API over the hub's HTTP API (:class:`ground.hub_client.HubClient`): commands go
out as that account (an observer's are refused), data comes from the hub's feed, and nothing connects to
flight. ``isru_hub`` is the client itself; ``isru_stack`` is not started.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

#: Where the plugin reads the hub account's password.
PASSWORD_ENV = "ISRU_HUB_PASSWORD"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--isru-warp``: simulated seconds per wall second of the stack's flight clock."""
    group = parser.getgroup("isru", "isru simulated stack")
    group.addoption(
        "--isru-warp", type=float, default=2.0, help="flight clock warp of the isru_stack fixture (default 2)"
    )
    group.addoption("--isru-hub", help="run the isru fixture against the ground hub at this URL")
    group.addoption(
        "--isru-user", help=f"hub account for --isru-hub (default $ISRU_HUB_USER; password from ${PASSWORD_ENV})"
    )


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``isru_stack`` marker."""
    config.addinivalue_line(
        "markers", "isru_stack(warp=None, light_time_s=0.0, overrides=None): configure the isru_stack fixture"
    )


@pytest.fixture
def isru_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A started simulated stack (flight process, ground core, archive); stopped after the test."""
    from isru.stack import SimStack

    marker = request.node.get_closest_marker("isru_stack")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    options.setdefault("warp", request.config.getoption("--isru-warp"))
    stack = SimStack(tmp_path_factory.mktemp("isru-stack"), **options)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            request.node.add_report_section("teardown", "isru flight log", stack.flight_log()[-20_000:])


@pytest.fixture
def isru_hub(request: pytest.FixtureRequest) -> Any:
    """A :class:`ground.hub_client.HubClient` to ``--isru-hub`` as ``--isru-user`` (the test is skipped
    without ``--isru-hub``; an error names what is missing)."""
    from ground.hub_client import HubClient

    url = request.config.getoption("--isru-hub")
    if not url:
        pytest.skip("no ground hub: pass --isru-hub URL --isru-user NAME")
    user = request.config.getoption("--isru-user") or os.environ.get("ISRU_HUB_USER", "")
    password = os.environ.get(PASSWORD_ENV, "")
    if not user or not password:
        raise pytest.UsageError(f"--isru-hub needs --isru-user NAME (or $ISRU_HUB_USER) and ${PASSWORD_ENV}")
    return HubClient(url, user, password)


@pytest.fixture
def isru(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The procedures API (:class:`ground.procedures.Procedures`): over the ground hub with ``--isru-hub``,
    else over the ``isru_stack`` fixture's own ground core."""
    if not request.config.getoption("--isru-hub"):
        yield request.getfixturevalue("isru_stack").procedures
        return
    from ground.procedures import Procedures

    procedures = Procedures(request.getfixturevalue("isru_hub"))
    try:
        yield procedures
    finally:
        procedures.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """Keep each phase's report on the item so the fixture can attach flight's log to failures."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
