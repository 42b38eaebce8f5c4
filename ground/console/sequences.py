"""Sequences: load (reload from flight's folder), run, pause, resume and abort stored sequences, and
follow their progress. Sequence control is ordinary flight commands (``seq.*`` in the dictionary), sent
through the same forms and confirmation as any command; progress is the ``seq.*`` telemetry."""

from __future__ import annotations

from nicegui import ui

from ground.console.commands import CommandForm, ConfirmDialog
from ground.console.context import ConsoleContext
from ground.console.layout import frame
from ground.console.overview import format_value

#: Prefix of the sequence commands and channels in the dictionary.
PREFIX = "seq."
#: Channel with the fraction of steps done (0..1).
PROGRESS_CHANNEL = "seq.progress"


def view(ctx: ConsoleContext) -> None:
    """Draw the sequences page."""
    gate = frame(ctx, "Sequences")
    dictionary = ctx.dictionary
    if dictionary is None:
        ui.label("waiting for the flight dictionary")
        return
    channels = [c for c in dictionary.channels() if c["name"].startswith(PREFIX)]
    commands = [c for c in dictionary.commands() if c["name"].startswith(PREFIX)]
    dialog = ConfirmDialog()
    with ui.row().classes("w-full no-wrap items-start gap-4"):
        with ui.card().classes("w-1/3"):
            ui.label("Progress").classes("text-lg")
            bar = ui.linear_progress(value=0.0, show_value=False).mark("seq-progress")
            labels = {}
            with ui.grid(columns=2).classes("gap-x-4 gap-y-0"):
                for spec in channels:
                    ui.label(spec["name"]).classes("text-sm text-gray-600")
                    labels[spec["name"]] = ui.label("").classes("font-mono").mark(f"tile-{spec['name']}")
        with ui.column().classes("w-2/3"):
            for command in commands:
                CommandForm(ctx, command, dialog, gate)

    def refresh() -> None:
        latest = ctx.core.latest
        for name, label in labels.items():
            label.set_text(format_value(latest.get(name, (None, 0.0))[0]))
        progress = latest.get(PROGRESS_CHANNEL, (None, 0.0))[0]
        if isinstance(progress, int | float):
            bar.set_value(max(0.0, min(1.0, float(progress))))

    refresh()
    ui.timer(ctx.settings.refresh_period_s, refresh)
