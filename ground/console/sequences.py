"""Sequences: choose a stored sequence from the list flight sent (its dictionary's ``sequences``), preview
its steps (command, arguments, timing, hazard), and run it — with a confirmation dialog listing the
hazardous steps when any step is hazardous, although ``seq.run`` itself is not. Pause, resume, abort and
reload are the other ``seq.*`` commands, through the same forms and confirmation as any command; progress
is the ``seq.*`` telemetry."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ground.console.command_text import outcome_text
from ground.console.commands import CommandForm, ConfirmDialog
from ground.console.context import ConsoleContext
from ground.console.layout import frame
from ground.console.overview import format_value
from ground.errors import GroundError

#: Prefix of the sequence commands and channels in the dictionary.
PREFIX = "seq."
#: Channel with the fraction of steps done (0..1).
PROGRESS_CHANNEL = "seq.progress"
#: The command that runs a stored sequence (chosen from the list, not typed).
RUN_COMMAND = "seq.run"

STEP_COLUMNS = [
    {"name": k, "label": label, "field": k, "align": "left"}
    for k, label in (
        ("index", "#"),
        ("command", "Command"),
        ("args", "Arguments"),
        ("when", "When"),
        ("hazard", "Hazard"),
    )
]


def step_rows(sequence: dict[str, Any], dictionary: Any) -> list[dict[str, Any]]:
    """Preview rows of ``sequence``'s steps: command, arguments, when it runs, and its hazard ('' if none)."""
    out = []
    for index, step in enumerate(sequence.get("steps", [])):
        name = str(step.get("command", ""))
        hazard = dictionary.hazard(name) if dictionary.has_command(name) else "not in the dictionary"
        when = f"at {step['at']}" if step.get("at") else f"{float(step.get('after_s') or 0.0):g} s after the previous"
        out.append(
            {
                "index": index,
                "command": name,
                "args": ", ".join(f"{k}={v}" for k, v in (step.get("args") or {}).items()),
                "when": when,
                "hazard": hazard or "",
            }
        )
    return out


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
    runner = SequenceRunner(ctx, gate, dictionary)
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
            runner.draw()
            for command in commands:
                if command["name"] != RUN_COMMAND:
                    CommandForm(ctx, command, dialog, gate)

    def refresh() -> None:
        runner.follow()
        latest = ctx.core.latest
        for name, label in labels.items():
            label.set_text(format_value(latest.get(name, (None, 0.0))[0]))
        progress = latest.get(PROGRESS_CHANNEL, (None, 0.0))[0]
        if isinstance(progress, int | float):
            bar.set_value(max(0.0, min(1.0, float(progress))))

    refresh()
    ui.timer(ctx.settings.refresh_period_s, refresh)


class SequenceRunner:
    """The chooser, the step preview, the Run button and the confirmation of hazardous steps."""

    def __init__(self, ctx: ConsoleContext, gate: Any, dictionary: Any) -> None:
        self.ctx, self.gate, self.dictionary = ctx, gate, dictionary
        self.record: Any = None

    def draw(self) -> None:
        """Add the card to the page."""
        names = [s["name"] for s in self.dictionary.sequences]
        with ui.card().classes("w-full").mark("seq-chooser"):
            ui.label("Run a stored sequence").classes("text-lg font-bold")
            self.picker = ui.select(names, label="sequence", value=names[0] if names else None).classes("w-96")
            self.picker.mark("seq-picker")
            self.description = ui.label("").classes("text-sm")
            self.steps = ui.table(columns=STEP_COLUMNS, rows=[], row_key="index").props("dense wrap-cells")
            self.steps.classes("w-full").mark("seq-steps")
            self.gate.add(ui.button("Run", on_click=self.run).props("color=primary").mark("seq-run"))
            self.result = ui.label("").classes("text-sm font-mono").mark("seq-result")
        with ui.dialog().props("persistent") as self.dialog, ui.card().mark("seq-confirm"):
            ui.label("Hazardous steps").classes("text-lg text-red-700 font-bold")
            self.hazards = ui.column().classes("gap-1").mark("seq-hazards")
            with ui.row():
                ui.button("Cancel", on_click=self.cancel).props("flat").mark("seq-cancel")
                ui.button("Run it", on_click=lambda: self.send()).props("color=red").mark("seq-confirm-run")
        self.picker.on_value_change(self.preview)
        self.preview()

    def chosen(self) -> dict[str, Any] | None:
        """The sequence picked, or None."""
        return self.dictionary.sequence(self.picker.value) if self.picker.value else None

    def preview(self) -> None:
        """Show the picked sequence's description and steps."""
        sequence = self.chosen()
        self.description.set_text(sequence.get("description", "") if sequence else "no stored sequence")
        self.steps.rows = step_rows(sequence, self.dictionary) if sequence else []

    def run(self) -> None:
        """Run the picked sequence; ask first when any step is hazardous."""
        rows = self.steps.rows
        hazardous = [row for row in rows if row["hazard"]]
        if not hazardous:
            self.send()
            return
        self.hazards.clear()
        with self.hazards:
            ui.label(f"{self.picker.value}: {len(hazardous)} of {len(rows)} steps are hazardous")
            for row in hazardous:
                ui.label(f"step {row['index']} {row['command']} {row['args']}: {row['hazard']}").classes("text-sm")
        self.dialog.open()

    def cancel(self) -> None:
        """Close the dialog; nothing is sent."""
        self.dialog.close()
        self.result.set_text(f"cancelled {self.picker.value}: nothing sent")

    def send(self) -> None:
        """Send ``seq.run`` for the picked sequence."""
        self.dialog.close()
        try:
            self.record = self.ctx.core.send(RUN_COMMAND, {"name": self.picker.value}, confirmed=True)
        except GroundError as exc:
            self.result.set_text(f"not sent: {exc}")
            ui.notify(f"not sent: {exc}", type="negative")
            return
        self.result.set_text(outcome_text(self.record))

    def follow(self) -> None:
        """Show the run command's stage until it ends."""
        if self.record is not None:
            self.result.set_text(outcome_text(self.record))
            if self.record.terminal is not None:
                self.record = None
