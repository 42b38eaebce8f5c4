"""The logic behind the operator views, without a browser: form defaults inside ranges, repeated events
grouped, the banner's conditions, the breadcrumb, state bands, per-unit plot axes with limit lines, the
command texts of the history and the sender, and the mission map. Inputs are flight's real dictionary
entries and diagram where the views use them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from ground.console import banner
from ground.console.campaign import state_bands, state_colour
from ground.console.command_text import args_text, message_text
from ground.console.commands import form_default
from ground.console.events import grouped, rows
from ground.console.layout import link_text
from ground.console.mission_map import map_svg, records_from, sites_from
from ground.console.overview import breadcrumb
from ground.console.plots import chart_options, limit_lines, window_seconds
from ground.dictionary import GroundDictionary
from sim_hw.registry import uninstall_world
from tests.support.flight_stack import build


@pytest.fixture(scope="module")
def dictionary() -> GroundDictionary:
    app, _world, _clock = build()
    try:
        return GroundDictionary(app.dictionary())
    finally:
        app.close()
        uninstall_world()


def arg(dictionary: GroundDictionary, command: str, name: str) -> dict[str, Any]:
    return next(a for a in dictionary.command(command)["args"] if a["name"] == name)


def test_form_defaults_stay_inside_the_arguments_ranges(dictionary: GroundDictionary) -> None:
    assert form_default(arg(dictionary, "mission.start", "cycles")) == 1  # flight's default 0 is outside 1..10000
    assert form_default(arg(dictionary, "drive.twist", "v_m_s")) == 0  # no default: 0, inside -0.3..0.3
    assert form_default({"name": "x", "type": "float", "min": 2.0, "max": 5.0}) == 2.0
    assert form_default({"name": "x", "type": "float", "min": 0.0, "max": 5.0, "default": 9.0}) == 5.0
    assert form_default({"name": "x", "type": "str"}) is None
    for command in dictionary.commands():
        for spec in command["args"]:
            value = form_default(spec)
            if isinstance(value, int | float) and not isinstance(value, bool):
                assert spec.get("min", value) <= value <= spec.get("max", value), (command["name"], spec)


def test_repeated_events_are_one_row_with_a_count_and_the_first_time() -> None:
    slips = [
        {"seq": i, "t": 100.0 + i, "severity": "warning", "source": "executive", "name": "slip", "message": f"{i}"}
        for i in range(233)
    ]
    other = {"seq": 500, "t": 150.0, "severity": "info", "source": "mission", "name": "transition", "message": "x"}
    newest_first = list(reversed([*slips[:100], other, *slips[100:]]))
    folded = grouped(newest_first)
    assert [(e["name"], e["count"]) for e in folded] == [("slip", 233), ("transition", 1)]
    assert folded[0]["message"] == "232" and folded[0]["first_t"] == 100.0
    row = rows(folded)[0]
    assert row["count"] == 233 and row["first"].startswith("00:01:40") and row["time"].startswith("1970-01-01")


def test_banner_shows_safe_estop_and_loss_of_signal() -> None:
    up = SimpleNamespace(state="acquired", rtt_s=0.012, spool_depth=0, gaps=0)
    los = SimpleNamespace(state="los", rtt_s=0.012, spool_depth=3, gaps=0)
    assert banner.conditions({"mission.state": ("drilling", 1.0)}, up) == []
    kinds = [c.kind for c in banner.conditions({"mission.state": ("safe", 1.0), "interlocks.estop": (True, 1.0)}, los)]
    assert kinds == ["estop", "safe", "los"]
    assert banner.conditions({}, None) == []  # archive-only: no link banner
    assert "RTT 12 ms" in link_text(up) and "RTT unknown" in link_text(los)


def test_breadcrumb_reads_as_words() -> None:
    latest = {
        "mission.top_state": ("operational", 1.0),
        "mission.state": ("extract_drill", 1.0),
        "mission.cycle": (2, 1.0),
        "mission.cycles_target": (5, 1.0),
        "mission.site": (-1, 1.0),
        "mission.held": ("", 1.0),
    }
    assert breadcrumb(latest) == "operational > extract_drill · cycle 2 of 5 · no site yet"
    latest["mission.site"] = (3, 1.0)
    latest["mission.held"] = ("extract_drill", 1.0)
    assert "held in extract_drill" in breadcrumb(latest) and "site 3" in breadcrumb(latest)
    assert breadcrumb({}) == "state unknown"


def test_state_bands_merge_runs_and_reach_the_end() -> None:
    samples = [(0.0, "idle"), (1.0, "idle"), (5.0, "operational"), (9.0, "safe")]
    assert state_bands(samples, 12.0) == [("idle", 0.0, 5.0), ("operational", 5.0, 9.0), ("safe", 9.0, 12.0)]
    assert state_bands([], 3.0) == []
    assert state_colour("safe") == state_colour("SAFE") != state_colour("idle")


def test_plot_has_an_axis_per_unit_with_titles_and_limit_lines(dictionary: GroundDictionary) -> None:
    names = ["power.battery_V", "power.battery_A", "power.soc"]
    options = chart_options(names, {n: dictionary.channel(n) for n in names})
    assert [axis["name"] for axis in options["yAxis"]] == ["V", "A", "1"]
    assert [s["yAxisIndex"] for s in options["series"]] == [0, 1, 2]
    assert options["useUTC"] is True and "UTC" in options["xAxis"]["name"]
    assert "{yyyy}" in options["xAxis"]["axisLabel"]["formatter"]
    soc_lines = {line["name"]: line["yAxis"] for line in options["series"][2]["markLine"]["data"]}
    assert soc_lines == {"warn_low": 0.4, "alarm_low": 0.2, "alarm_high": 1.0}
    assert limit_lines({"name": "x"}) == []
    assert window_seconds("10 min") == 600.0 and window_seconds("all") is None
    with pytest.raises(ValueError, match="expected one of"):
        window_seconds("2 min")


def test_history_shows_flights_message_and_arguments_from_any_source() -> None:
    refused = {
        "args": {"rpm": 100.0},
        "stages": [{"stage": "failed", "reason": "interlock:drill_unanchored", "message": "anchors not set"}],
    }
    assert message_text(refused) == "anchors not set" and args_text(refused) == "rpm=100.0"
    from_sequence = {
        "args": {},
        "stages": [
            {"stage": "accepted", "reason": "", "message": "args: rpm=120.0"},
            {"stage": "completed", "reason": "", "message": ""},
        ],
    }
    assert args_text(from_sequence) == "rpm=120.0" and message_text(from_sequence) == ""


def test_dispatcher_states_the_arguments_in_its_acceptance() -> None:
    from flight.dispatcher import args_text as flight_args_text

    assert flight_args_text({"rpm": 120.0, "mode": "x"}) == "args: rpm=120.0, mode='x'"
    assert flight_args_text({}) == "args: none"


def test_mission_map_ranks_sites_and_draws_holes_track_and_rover(dictionary: GroundDictionary) -> None:
    assert isinstance(dictionary.raw["sites"], list)  # this test configuration lists none: the world's come in sim
    candidates = [{"index": 0, "x_m": 0.0, "y_m": 0.0}, {"index": 1, "x_m": 5.0, "y_m": 2.0}]
    probes = [
        {"name": "probe", "data": {"site": 0, "ice": 0.02, "kg_per_kWh": 0.5}},
        {"name": "probe", "data": {"site": 1, "ice": 0.05, "kg_per_kWh": 1.5}},
    ]
    leaf = '{"cycle": 1, "site": 1, "pose": [3.0, 4.0, 0.1], "water_kg": 0.25, "sig": "x"}'
    records = records_from([{"data": {"leaf": leaf}}, {"data": {"leaf": "not json"}}])
    sites = sites_from(candidates, probes, records)
    assert [(s.index, s.rank) for s in sites[:2]] == [(0, 2), (1, 1)]
    assert sites[1].water_kg == 0.25 and sites[1].holes == [(3.0, 4.0)]
    svg = map_svg(sites, [(0.0, 0.0), (1.0, 1.0), (3.0, 4.0)], (3.0, 4.0, 0.5))
    assert svg.startswith("<svg") and svg.count('class="site"') == len(sites)
    assert 'class="hole"' in svg and 'class="track"' in svg and 'class="rover"' in svg and "rank 1" in svg


def test_stored_sequences_reach_ground_with_their_steps(dictionary: GroundDictionary) -> None:
    drill_safe = dictionary.sequence("drill_safe")
    assert drill_safe is not None and drill_safe["steps"][0]["command"] == "drill.percussion"
    assert dictionary.sequence("no_such") is None
