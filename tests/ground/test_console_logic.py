"""The console's logic without a browser: diagram highlighting on flight's real exported diagram, limit
bands, the telemetry feed between threads, event filtering, form values and archive times."""

from __future__ import annotations

import threading

import pytest

from flight.mission import export_diagram
from ground.console import limits
from ground.console.archive import format_time, parse_time
from ground.console.commands import arg_label, field_value
from ground.console.context import ConsoleSettings
from ground.console.diagram import diagram_states, highlight
from ground.console.events import matching
from ground.console.feed import TelemetryFeed
from ground.console.plots import parse_request


def active_lines(diagram: str) -> list[str]:
    return [
        line.strip()
        for line in diagram.splitlines()
        if line.strip().lower().startswith("class ") and line.strip().endswith("s_active")
    ]


def test_highlight_marks_the_leaf_state_and_its_parent_only() -> None:
    source = export_diagram()
    assert "extract_drill" in diagram_states(source)
    out = highlight(source, "extract_drill")
    assert active_lines(out) == ["class extract s_active", "class extract_drill s_active"]
    assert "stateDiagram-v2" in out and out.count("-->") == source.count("-->")


def test_highlight_of_a_top_state_and_of_an_unknown_state() -> None:
    source = export_diagram()
    assert active_lines(highlight(source, "safe")) == ["class safe s_active"]
    assert active_lines(highlight(source, "no_such_state")) == []
    assert active_lines(highlight(source, None)) == []
    assert highlight("", "idle") == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (50.0, "nominal"),
        (80.0, "nominal"),
        (80.5, "warning"),
        (9.0, "warning"),
        (95.1, "alarm"),
        (-1, "alarm"),
        ("text", "nominal"),
        (True, "nominal"),
        (float("nan"), "nominal"),
        (None, "nominal"),
    ],
)
def test_limit_levels_are_inclusive_bands(value: object, expected: str) -> None:
    spec = {"name": "x", "unit": "K", "warn_low": 10.0, "warn_high": 80.0, "alarm_low": 0.0, "alarm_high": 95.0}
    assert limits.level(spec, value) == expected


def test_limit_description() -> None:
    assert limits.describe({"alarm_high": 95.0, "unit": "K"}) == "alarm [-, 95] K"
    assert limits.describe({"name": "x"}) == ""


def test_feed_hands_each_sample_once_per_cursor_across_threads() -> None:
    feed = TelemetryFeed(capacity=100_000)
    per_thread = 5000

    def writer(k: int) -> None:
        for i in range(per_thread):
            feed.add([("a", float(i), k), ("b", float(i), i)])

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(2)]
    cursor, got = 0, []
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        points, cursor = feed.since("a", cursor)
        got.extend(points)
    for thread in threads:
        thread.join(timeout=10)
    points, cursor = feed.since("a", cursor)
    got.extend(points)
    assert len(got) == 2 * per_thread == cursor
    assert feed.since("a", cursor) == ([], cursor)
    assert feed.total == 4 * per_thread


def test_feed_ring_keeps_the_newest_and_recent_window() -> None:
    feed = TelemetryFeed(capacity=3)
    feed.add([("x", float(t), t) for t in range(10)])
    assert feed.since("x", 0) == ([(7.0, 7), (8.0, 8), (9.0, 9)], 10)
    assert feed.since("x", 8) == ([(8.0, 8), (9.0, 9)], 10)
    assert feed.since("x", 9) == ([(9.0, 9)], 10)
    assert feed.recent("x", 1.0) == ([(8.0, 8), (9.0, 9)], 10)
    assert feed.since("missing", 0) == ([], 0)
    feed.bump("alarm")
    assert feed.revision("alarm") == 1 and feed.revision("event") == 0
    with pytest.raises(ValueError, match="capacity"):
        TelemetryFeed(capacity=0)


def test_event_filter_by_severity_and_text() -> None:
    events = [
        {"seq": 1, "severity": "debug", "source": "drill", "name": "tick", "message": "quiet"},
        {"seq": 2, "severity": "warning", "source": "power", "name": "low_battery", "message": "SOC 19 %"},
        {"seq": 3, "severity": "error", "source": "drill", "name": "stall", "message": "auger stalled"},
    ]
    assert [e["seq"] for e in matching(events, "debug", "")] == [3, 2, 1]
    assert [e["seq"] for e in matching(events, "warning", "")] == [3, 2]
    assert [e["seq"] for e in matching(events, "debug", "DRILL")] == [3, 1]
    assert [e["seq"] for e in matching(events, "info", "battery")] == [2]
    with pytest.raises(ValueError, match="severity"):
        matching(events, "loud", "")


def test_form_values_follow_the_dictionary_types() -> None:
    assert field_value({"type": "int"}, 3.0) == 3 and isinstance(field_value({"type": "int"}, 3.0), int)
    assert field_value({"type": "int"}, 3.5) == 3.5  # left for the core to refuse with a clear message
    assert isinstance(field_value({"type": "float"}, 2), float)
    assert field_value({"type": "float"}, None) is None and field_value({"type": "str"}, "") is None
    assert arg_label({"name": "rpm", "unit": "rpm", "min": 0, "max": 600}) == "rpm [rpm] 0..600"


def test_archive_times_are_utc_and_bad_input_is_named() -> None:
    assert parse_time(format_time(1_893_456_123.0), "from") == 1_893_456_123.0
    with pytest.raises(ValueError, match="from: expected a UTC time"):
        parse_time("yesterday", "from")


def test_plot_request_and_settings() -> None:
    assert parse_request(["a, b", "", "c"]) == [["a", "b"], ["c"]]
    with pytest.raises(ValueError, match="plot_period_s"):
        ConsoleSettings(plot_period_s=0)


def test_console_command_refuses_bad_settings_with_a_clear_message(tmp_path, capsys) -> None:
    from isru.cli import main

    config = tmp_path / "c.toml"
    config.write_text('[link]\nendpoint = "tcp://127.0.0.1:1"\n')
    assert main(["console", "--config", str(config), "--port", "70000", "--keys", str(tmp_path)]) == 2
    assert "--port: expected a port 1..65535, found 70000" in capsys.readouterr().err
    assert main(["console", "--config", str(config)]) == 2
    assert "no key directory" in capsys.readouterr().err
    assert main(["console", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("asked", "goes_to"),
    [
        ("/", "/"),
        ("/stack", "/stack"),
        ("/commands?name=drill.spin", "/commands?name=drill.spin"),
        ("//example.invalid/phish", "/"),
        ("/\\example.invalid/phish", "/"),  # a browser reads /\ as //
        ("/\t/example.invalid", "/"),  # and drops tabs and newlines
        ("/\n/example.invalid", "/"),
        ("https://example.invalid", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_the_login_page_only_goes_on_to_a_path_of_this_hub(asked: str, goes_to: str) -> None:
    from ground.console.auth import local_path

    assert local_path(asked) == goes_to
