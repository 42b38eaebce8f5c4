"""Events: the recent flight events, newest first, filtered by minimum severity and by text (matched
against source, name and message, case-insensitive). Repeats are grouped by default: one row per source,
name and severity, at its newest occurrence, with how many there were and when the first was, so a
stream of executive slip warnings is one line with a count rather than a page of rows."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ground.console.command_history import clock_text
from ground.console.context import ConsoleContext
from ground.console.layout import frame
from ground.dictionary import SEVERITIES

#: What the times of flight's records are, said under every table of them.
TIME_NOTE = (
    "Times are flight time: the rover's clock, in UTC. In a simulation running faster than real time (warp) "
    "they run ahead of the ground's wall clock; under light time the newest is that much behind it."
)
#: Events shown at most (newest).
SHOWN = 500

COLUMNS = [
    {"name": "time", "label": "Flight time (UTC)", "field": "time", "align": "left"},
    {"name": "count", "label": "Count", "field": "count", "align": "right"},
    {"name": "first", "label": "First (UTC)", "field": "first", "align": "left"},
    {"name": "severity", "label": "Severity", "field": "severity", "align": "left"},
    {"name": "source", "label": "Source", "field": "source", "align": "left"},
    {"name": "name", "label": "Name", "field": "name", "align": "left"},
    {"name": "message", "label": "Message", "field": "message", "align": "left"},
]

_SEVERITY_SLOT = (
    '<q-td :props="props" :class="{'
    "'text-amber-700': props.value == 'warning', "
    "'text-red-700 font-bold': props.value == 'error' || props.value == 'critical'}\">"
    "{{ props.value }}</q-td>"
)


def matching(
    events: list[dict[str, Any]], min_severity: str, text: str, limit: int | None = SHOWN
) -> list[dict[str, Any]]:
    """Events at or above ``min_severity`` whose source, name or message contains ``text``, newest first
    (at most ``limit``; None: all)."""
    if min_severity not in SEVERITIES:
        raise ValueError(f"unknown severity {min_severity!r}; expected one of {list(SEVERITIES)}")
    floor = SEVERITIES.index(min_severity)
    needle = (text or "").strip().lower()
    out = []
    for event in reversed(events):
        severity = str(event.get("severity", "info"))
        rank = SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)
        if rank < floor:
            continue
        haystack = f"{event.get('source', '')} {event.get('name', '')} {event.get('message', '')}".lower()
        if needle and needle not in haystack:
            continue
        out.append(event)
        if limit is not None and len(out) >= limit:
            break
    return out


def grouped(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``events`` (newest first) with repeats folded: one event per (source, name, severity) — its newest
    occurrence, in the newest's place — with ``count`` and ``first_t`` (the oldest occurrence's time) added."""
    out: list[dict[str, Any]] = []
    index: dict[tuple[str, str, str], dict[str, Any]] = {}
    for event in events:
        key = (str(event.get("source", "")), str(event.get("name", "")), str(event.get("severity", "")))
        row = index.get(key)
        if row is None:
            row = index[key] = {**event, "count": 1, "first_t": event.get("t")}
            out.append(row)
        else:
            row["count"] += 1
            row["first_t"] = event.get("t")
    return out


def rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table rows of ``events`` (grouped ones show their count and first time)."""
    return [
        {
            "key": f"{e.get('seq', i)}",
            "time": clock_text(e.get("t"), dated=True),
            "count": e.get("count", 1),
            "first": clock_text(e.get("first_t")) if e.get("count", 1) > 1 else "",
            "severity": e.get("severity", ""),
            "source": e.get("source", ""),
            "name": e.get("name", ""),
            "message": e.get("message", ""),
        }
        for i, e in enumerate(events)
    ]


def view(ctx: ConsoleContext) -> None:
    """Draw the events page."""
    frame(ctx, "Events")
    with ui.row().classes("items-center"):
        severity = ui.select(list(SEVERITIES), value="info", label="at least").classes("w-40").mark("event-severity")
        search = ui.input("search").props("clearable").classes("w-96").mark("event-search")
        group = ui.switch("group repeats", value=True).mark("event-group")
    ui.label(TIME_NOTE).classes("text-xs text-gray-600").mark("time-note")
    table = ui.table(columns=COLUMNS, rows=[], row_key="key", pagination=50).classes("w-full")
    table.props("dense wrap-cells").mark("event-table")
    table.add_slot("body-cell-severity", _SEVERITY_SLOT)
    seen: dict[str, tuple[int, str, str, bool] | None] = {"key": None}

    def refresh(force: bool = False) -> None:
        key = (ctx.feed.revision("event"), severity.value, search.value, bool(group.value))
        if key == seen["key"] and not force:
            return
        seen["key"] = key
        shown = matching(list(ctx.core.events), severity.value or "debug", search.value or "", limit=None)
        table.rows = rows(grouped(shown)[:SHOWN] if group.value else shown[:SHOWN])

    severity.on_value_change(lambda: refresh(True))
    search.on_value_change(lambda: refresh(True))
    group.on_value_change(lambda: refresh(True))
    refresh(True)
    ui.timer(ctx.settings.refresh_period_s, refresh)
