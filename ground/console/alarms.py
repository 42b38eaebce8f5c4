"""Alarms: latched until acknowledged with a comment, shelvable for a time; each shows the violated limit,
the value that latched it and the value now. The board (:class:`ground.alarms.AlarmBoard`) holds the
rules; this view presents them and passes the operator's actions to it."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ground.console.command_history import clock_text
from ground.console.context import ConsoleContext
from ground.console.layout import RoleGate, frame
from ground.console.overview import format_value
from ground.errors import GroundError

#: Shelving choices offered: label -> seconds.
SHELVE_CHOICES = {"5 min": 300.0, "15 min": 900.0, "1 h": 3600.0, "8 h": 28800.0}
_LEVEL_CLASSES = {"alarm": "bg-red-600 text-white", "warning": "bg-amber-300 text-black", "ok": "bg-green-200"}


def state_text(alarm: Any) -> str:
    """``LATCHED``/``ACKNOWLEDGED`` and ``SHELVED``, as one word or two."""
    text = "acknowledged" if alarm.acked else "unacknowledged"
    if alarm.shelved:
        text += ", shelved"
    return text


class AckDialog:
    """Asks for the comment an acknowledgement needs."""

    def __init__(self, ctx: ConsoleContext, on_done: Any) -> None:
        self.ctx = ctx
        self.on_done = on_done
        self.name = ""
        with ui.dialog() as self.dialog, ui.card().mark("ack-dialog"):
            self.title = ui.label("").classes("text-lg")
            self.comment = ui.input("comment (what was done)").classes("w-96").mark("ack-comment")
            with ui.row():
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                ui.button("Acknowledge", on_click=self.submit).mark("ack-submit")

    def ask(self, name: str) -> None:
        """Open for alarm ``name``."""
        self.name = name
        self.title.set_text(f"Acknowledge {name}")
        self.comment.set_value("")
        self.dialog.open()

    def submit(self) -> None:
        """Acknowledge through the board; stays open with the reason if refused."""
        try:
            self.ctx.core.alarms.ack(self.name, self.comment.value or "")
        except GroundError as exc:
            ui.notify(f"not acknowledged: {exc}", type="negative")
            return
        self.dialog.close()
        ui.notify(f"{self.name} acknowledged", type="positive")
        self.on_done()


def view(ctx: ConsoleContext) -> None:
    """Draw the alarms page."""
    gate = frame(ctx, "Alarms")
    board = ctx.core.alarms
    limited = ui.label("").classes("text-sm text-gray-600")

    @ui.refreshable
    def board_view() -> None:
        alarms = board.alarms()
        limited.set_text(f"{len(board.limited_channels())} channels with limits")
        if not alarms:
            ui.label("no alarms").mark("no-alarms")
            return
        for alarm in alarms:
            _alarm_row(ctx, alarm, dialog, gate, board_view.refresh)

    dialog = AckDialog(ctx, lambda: board_view.refresh())
    board_view()
    seen = {"revision": ctx.feed.revision("alarm")}

    def refresh() -> None:
        revision = ctx.feed.revision("alarm")
        if revision != seen["revision"]:
            seen["revision"] = revision
            board_view.refresh()

    ui.timer(ctx.settings.refresh_period_s, refresh)


def _alarm_row(ctx: ConsoleContext, alarm: Any, dialog: AckDialog, gate: RoleGate, redraw: Any) -> None:
    with ui.card().classes("w-full").mark(f"alarm-{alarm.name}"):
        with ui.row().classes("items-center w-full gap-3"):
            ui.label(alarm.latched.upper()).classes(f"px-2 rounded font-bold {_LEVEL_CLASSES[alarm.latched]}")
            ui.label(alarm.name).classes("font-mono font-bold")
            ui.label(state_text(alarm)).classes("text-sm").mark("alarm-state")
            ui.space()
            if not alarm.acked:
                gate.add(ui.button("Acknowledge", on_click=lambda name=alarm.name: dialog.ask(name)).mark("alarm-ack"))
            shelve = gate.add(ui.select(list(SHELVE_CHOICES), label="shelve for").classes("w-32").mark("alarm-shelve"))
            shelve.on_value_change(lambda e, name=alarm.name: _shelve(ctx, name, e.value, redraw))
        with ui.row().classes("gap-6 text-sm"):
            ui.label(f"violated: {alarm.limit or '-'}").mark("alarm-limit")
            ui.label(f"latched at {format_value(alarm.latched_value, alarm.unit)} ({clock_text(alarm.latched_t)})")
            ui.label(f"now {format_value(alarm.value, alarm.unit)} [{alarm.level}]").mark("alarm-value")
            ui.label(f"raised {alarm.count}x")
            if alarm.acked:
                ui.label(f"ack by {alarm.ack_by} at {clock_text(alarm.ack_t)}: {alarm.ack_comment}")


def _shelve(ctx: ConsoleContext, name: str, choice: str | None, redraw: Any) -> None:
    if choice not in SHELVE_CHOICES:
        return
    try:
        ctx.core.alarms.shelve(name, SHELVE_CHOICES[choice])
    except GroundError as exc:
        ui.notify(f"not shelved: {exc}", type="negative")
        return
    ui.notify(f"{name} shelved for {choice}", type="info")
    redraw()
