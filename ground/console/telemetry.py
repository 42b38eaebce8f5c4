"""Telemetry table: the latest value of every channel in the dictionary, with its unit, age and limits;
values out of their normal band are yellow, out of their tolerable band red."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ground.console import limits
from ground.console.context import ConsoleContext
from ground.console.layout import frame
from ground.console.overview import format_value

COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "Channel", "field": "name", "align": "left", "sortable": True},
    {"name": "value", "label": "Value", "field": "value", "align": "right"},
    {"name": "unit", "label": "Unit", "field": "unit", "align": "left"},
    {"name": "age", "label": "Age [s]", "field": "age", "align": "right"},
    {"name": "limits", "label": "Limits", "field": "limits", "align": "left"},
    {"name": "description", "label": "Description", "field": "description", "align": "left"},
]

_VALUE_SLOT = (
    '<q-td :props="props" :class="props.row.css" :data-level="props.row.level">'
    '<span class="font-mono">{{ props.value }}</span></q-td>'
)


def rows(ctx: ConsoleContext) -> list[dict[str, Any]]:
    """One row per dictionary channel: name, formatted value, unit, age (s), limits, level and its CSS."""
    dictionary = ctx.dictionary
    if dictionary is None:
        return []
    latest = ctx.core.latest
    now = ctx.clock.now()
    out = []
    for spec in dictionary.channels():
        name = spec["name"]
        value, t = latest.get(name, (None, None))
        level = limits.level(spec, value)
        out.append(
            {
                "name": name,
                "value": format_value(value),
                "unit": spec.get("unit", ""),
                "age": "" if t is None else f"{max(0.0, now - t):.1f}",
                "limits": limits.describe(spec),
                "description": spec.get("description", ""),
                "level": level,
                "css": limits.LEVEL_CLASSES[level],
            }
        )
    return out


def view(ctx: ConsoleContext) -> None:
    """Draw the telemetry table page."""
    frame(ctx, "Telemetry")
    search = ui.input("filter channels").props("clearable").classes("w-96").mark("telemetry-filter")
    table = ui.table(columns=COLUMNS, rows=rows(ctx), row_key="name", pagination=50).classes("w-full")
    table.props("dense").mark("telemetry-table")
    table.add_slot("body-cell-value", _VALUE_SLOT)
    table.bind_filter_from(search, "value")

    def refresh() -> None:
        table.rows = rows(ctx)

    ui.timer(ctx.settings.refresh_period_s * 2, refresh)
