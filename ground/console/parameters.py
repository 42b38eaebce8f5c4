"""Parameters: every flight parameter with its current value (the live ``param.<name>`` channel), unit,
range, default and description; Set sends ``param.set`` (flight checks type and range), Save sends
``param.save`` so the values survive a restart. "Unsaved changes" shows while flight reports values changed
since the last save (``params.dirty``); rows whose value differs from the default are marked."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ground.console.command_text import outcome_text
from ground.console.context import ConsoleContext
from ground.console.layout import frame
from ground.errors import GroundError

#: Channel prefix of the parameter values, and the channel saying values changed since the last save.
VALUE_PREFIX, DIRTY_CHANNEL = "param.", "params.dirty"
SET_COMMAND, SAVE_COMMAND = "param.set", "param.save"

COLUMNS: list[dict[str, Any]] = [
    {"name": "name", "label": "Parameter", "field": "name", "align": "left", "sortable": True},
    {"name": "value", "label": "Value", "field": "value", "align": "right"},
    {"name": "unit", "label": "Unit", "field": "unit", "align": "left"},
    {"name": "range", "label": "Range", "field": "range", "align": "left"},
    {"name": "default", "label": "Default", "field": "default", "align": "right"},
    {"name": "changed", "label": "", "field": "changed", "align": "left"},
    {"name": "description", "label": "Description", "field": "description", "align": "left"},
]


def rows(parameters: list[dict[str, Any]], latest: dict[str, tuple[Any, float]]) -> list[dict[str, Any]]:
    """Table rows: each parameter's live value (else the value in the dictionary) and whether it differs
    from its default."""
    out = []
    for entry in parameters:
        name = entry["name"]
        value = latest.get(VALUE_PREFIX + name, (entry.get("value", entry.get("default")), 0.0))[0]
        lo, hi = entry.get("min"), entry.get("max")
        out.append(
            {
                "name": name,
                "value": value,
                "unit": entry.get("unit", ""),
                "range": "" if lo is None and hi is None else f"{'' if lo is None else lo}..{'' if hi is None else hi}",
                "default": entry.get("default"),
                "changed": "changed from default" if value != entry.get("default") else "",
                "description": entry.get("description", ""),
            }
        )
    return out


def view(ctx: ConsoleContext) -> None:
    """Draw the parameters page."""
    gate = frame(ctx, "Parameters")
    dictionary = ctx.dictionary
    if dictionary is None:
        ui.label("waiting for the flight dictionary")
        return
    with ui.row().classes("items-center gap-4"):
        dirty = ui.badge("").props("color=orange").classes("text-base").mark("params-dirty")
        gate.add(ui.button("Save", on_click=lambda: send(SAVE_COMMAND, {})).mark("params-save"))
        result = ui.label("").classes("text-sm font-mono").mark("params-result")
    table = ui.table(columns=COLUMNS, rows=[], row_key="name").classes("w-full").props("dense")
    table.mark("params-table")
    table.add_slot(
        "body-cell-value",
        '<q-td :props="props" class="isru-value font-mono">{{ props.value }}'
        '<q-btn flat dense size="sm" icon="edit" class="q-ml-sm" @click="$parent.$emit(\'edit\', props.row)" />'
        "</q-td>",
    )
    with ui.dialog() as dialog, ui.card().mark("param-dialog"):
        title = ui.label("").classes("text-lg font-bold")
        hint = ui.label("").classes("text-sm")
        field = ui.input("new value").mark("param-value")
        with ui.row():
            ui.button("Cancel", on_click=dialog.close).props("flat")
            gate.add(ui.button("Set", on_click=lambda: set_value()).mark("param-set"))
    editing: dict[str, Any] = {"row": None}

    def edit(event: Any) -> None:
        row = event.args
        editing["row"] = row
        title.set_text(row["name"])
        hint.set_text(f"{row['description']} ({row['unit']}, range {row['range'] or 'any'}, default {row['default']})")
        field.set_value(str(row["value"]))
        dialog.open()

    def set_value() -> None:
        row = editing["row"]
        dialog.close()
        if row is not None:
            send(SET_COMMAND, {"name": row["name"], "value": _typed(field.value)})

    def send(name: str, args: dict[str, Any]) -> None:
        try:
            record = ctx.core.send(name, args, confirmed=True)
        except GroundError as exc:
            result.set_text(f"not sent: {exc}")
            ui.notify(f"not sent: {exc}", type="negative")
            return
        watched["record"] = record
        result.set_text(outcome_text(record))

    watched: dict[str, Any] = {"record": None}
    table.on("edit", edit)

    def refresh() -> None:
        latest = ctx.core.latest
        table.rows = rows(dictionary.parameters(), latest)
        unsaved = bool(latest.get(DIRTY_CHANNEL, (False, 0.0))[0])
        dirty.set_text("unsaved changes: Save keeps them across a restart" if unsaved else "")
        dirty.set_visibility(unsaved)
        if watched["record"] is not None:
            result.set_text(outcome_text(watched["record"]))
            if watched["record"].terminal is not None:
                watched["record"] = None

    refresh()
    ui.timer(ctx.settings.refresh_period_s, refresh)


def _typed(text: Any) -> Any:
    """The value typed, as a number when it reads as one (flight converts by the parameter's type)."""
    raw = str(text).strip()
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            continue
    return raw
