"""The command stack page: the commands prepared on the Commands view ("Add to stack"), in release order,
with their state; move, remove, release in order (each once the one before completed) and stop.
:func:`register` starts the console-wide timer that carries a release on when no page is open."""

from __future__ import annotations

from nicegui import app, ui

from ground.console.context import ConsoleContext
from ground.console.layout import frame

#: Seconds between two looks at the command in flight while releasing.
ADVANCE_PERIOD_S = 0.25

COLUMNS = [
    {"name": k, "label": label, "field": k, "align": "left"}
    for k, label in (
        ("index", "#"),
        ("name", "Command"),
        ("args", "Arguments"),
        ("hazard", "Hazard"),
        ("state", "State"),
        ("id", "Id"),
        ("note", "Flight's message"),
    )
]


def register(ctx: ConsoleContext) -> None:
    """Advance the console's stack on a console-wide timer (releases go on with every page closed)."""
    app.timer(ADVANCE_PERIOD_S, ctx.stack.advance)


def view(ctx: ConsoleContext) -> None:
    """Draw the command stack page."""
    gate = frame(ctx, "Stack")
    stack = ctx.stack
    ui.label(
        "Prepare commands on the Commands view (Add to stack); release sends them in this order, each once the "
        "one before has completed. A failure stops the release; the rest stay prepared."
    ).classes("text-sm")
    with ui.row().classes("items-center gap-2"):
        gate.add(ui.button("Release in order", on_click=stack.release).props("color=primary").mark("stack-release"))
        ui.button("Stop", on_click=stack.stop).props("outline").mark("stack-stop")
        ui.button("Clear completed", on_click=stack.clear_done).props("flat").mark("stack-clear")
        status = ui.label("").classes("text-sm").mark("stack-status")
    table = ui.table(columns=COLUMNS, rows=[], row_key="key").classes("w-full").props("dense wrap-cells")
    table.mark("stack-table")
    table.add_slot(
        "body-cell-index",
        '<q-td :props="props">{{ props.value }}'
        '<q-btn flat dense size="sm" icon="arrow_upward" @click="$parent.$emit(\'move\', [props.row.index, -1])" />'
        '<q-btn flat dense size="sm" icon="arrow_downward" @click="$parent.$emit(\'move\', [props.row.index, 1])" />'
        '<q-btn flat dense size="sm" icon="delete" @click="$parent.$emit(\'remove\', props.row.index)" />'
        "</q-td>",
    )
    table.on("move", lambda e: stack.move(int(e.args[0]) - 1, int(e.args[1])))
    table.on("remove", lambda e: stack.remove(int(e.args) - 1))

    def refresh() -> None:
        table.rows = stack.rows()
        state = "releasing" if stack.releasing else "stopped"
        status.set_text(f"{len(stack.entries)} in the stack, {stack.pending} prepared · {state}")

    refresh()
    ui.timer(ctx.settings.refresh_period_s, refresh)
