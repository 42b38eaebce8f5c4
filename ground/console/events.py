"""Events: the recent flight events, newest first, filtered by minimum severity and by text (matched
against source, name and message, case-insensitive)."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ground.console.command_history import clock_text
from ground.console.context import ConsoleContext
from ground.console.layout import frame
from ground.dictionary import SEVERITIES

#: Events shown at most (newest).
SHOWN = 500

COLUMNS = [
    {"name": "time", "label": "Time (UTC)", "field": "time", "align": "left"},
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


def matching(events: list[dict[str, Any]], min_severity: str, text: str) -> list[dict[str, Any]]:
    """Events at or above ``min_severity`` whose source, name or message contains ``text``, newest first."""
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
        if len(out) >= SHOWN:
            break
    return out


def rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table rows of ``events``."""
    return [
        {
            "key": f"{e.get('seq', i)}",
            "time": clock_text(e.get("t")),
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
    table = ui.table(columns=COLUMNS, rows=[], row_key="key", pagination=50).classes("w-full")
    table.props("dense wrap-cells").mark("event-table")
    table.add_slot("body-cell-severity", _SEVERITY_SLOT)
    seen: dict[str, tuple[int, str, str] | None] = {"key": None}

    def refresh(force: bool = False) -> None:
        key = (ctx.feed.revision("event"), severity.value, search.value)
        if key == seen["key"] and not force:
            return
        seen["key"] = key
        table.rows = rows(matching(list(ctx.core.events), severity.value or "debug", search.value or ""))

    severity.on_value_change(lambda: refresh(True))
    search.on_value_change(lambda: refresh(True))
    refresh(True)
    ui.timer(ctx.settings.refresh_period_s, refresh)
