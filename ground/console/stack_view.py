"""The command stack page: the commands prepared on the Commands view ("Add to stack"), in release order,
with their state; move, remove, release in order (each once the one before completed) and stop.
:func:`register` starts the console-wide timer that carries a release on when no page is open."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import app, ui

from ground.console.context import ConsoleContext
from ground.console.layout import frame
from ground.errors import GroundError

#: Seconds between two looks at the command in flight while releasing.
ADVANCE_PERIOD_S = 0.25

COLUMNS = [
    {"name": k, "label": label, "field": k, "align": "left"}
    for k, label in (
        ("index", "#"),
        ("name", "Command"),
        ("args", "Arguments"),
        ("hazard", "Hazard"),
        ("by", "Prepared by"),
        ("state", "State"),
        ("id", "Id"),
        ("note", "Flight's message"),
    )
]


#: Each row's index cell with its move-up, move-down and remove buttons (emitting the table's move / remove).
ROW_CONTROLS = (
    '<q-td :props="props">{{ props.value }}'
    '<q-btn flat dense size="sm" icon="arrow_upward" @click="$parent.$emit(\'move\', [props.row.index, -1])" />'
    '<q-btn flat dense size="sm" icon="arrow_downward" @click="$parent.$emit(\'move\', [props.row.index, 1])" />'
    '<q-btn flat dense size="sm" icon="delete" @click="$parent.$emit(\'remove\', props.row.index)" />'
    "</q-td>"
)


def _checked(action: Callable[..., None]) -> Callable[..., None]:
    """``action`` for a button or table event: a refusal (an observer, a link down) is shown, not raised."""

    def run(*args: Any) -> None:
        try:
            action(*args)
        except GroundError as exc:
            ui.notify(f"command stack: {exc}", type="negative")

    return run


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
        gate.add(
            ui.button("Release in order", on_click=_checked(stack.release)).props("color=primary").mark("stack-release")
        )
        gate.add(ui.button("Stop", on_click=_checked(stack.stop)).props("outline").mark("stack-stop"))
        gate.add(ui.button("Clear completed", on_click=_checked(stack.clear_done)).props("flat").mark("stack-clear"))
        status = ui.label("").classes("text-sm").mark("stack-status")
    table = ui.table(columns=COLUMNS, rows=[], row_key="key").classes("w-full").props("dense wrap-cells")
    table.mark("stack-table")
    if ctx.can_command:  # an observer sees the stack but gets no controls (and the stack refuses them anyway)
        table.add_slot("body-cell-index", ROW_CONTROLS)
    table.on("move", _checked(lambda e: stack.move(int(e.args[0]) - 1, int(e.args[1]))))
    table.on("remove", _checked(lambda e: stack.remove(int(e.args) - 1)))

    def refresh() -> None:
        table.rows = stack.rows()
        state = "releasing" if stack.releasing else "stopped"
        status.set_text(f"{len(stack.entries)} in the stack, {stack.pending} prepared · {state}")

    refresh()
    ui.timer(ctx.settings.refresh_period_s, refresh)
