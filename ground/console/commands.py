"""Command sender: a form per dictionary command, built from its arguments (type, unit, range, choices,
default — a default outside the argument's range starts at the range's nearest end). The core validates and
decides; a hazardous command comes back as ``NeedsConfirmation`` and opens a dialog that shows its hazard
text; Cancel sends nothing, Confirm sends it confirmed. After sending, the form follows the command to its
end and shows its stage, and for a failure flight's reason and message. "Add to stack" prepares it in the
console's command stack instead (:mod:`ground.console.command_stack`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from nicegui import ui

from ground.console.command_text import outcome_text
from ground.console.context import ConsoleContext
from ground.console.layout import RoleGate, frame
from ground.errors import GroundError, NeedsConfirmation, ValidationError


def arg_label(spec: dict[str, Any]) -> str:
    """Label of an argument field: name, unit and range, e.g. ``rpm [rpm] 0..600``."""
    text = spec["name"]
    if spec.get("unit"):
        text += f" [{spec['unit']}]"
    lo, hi = spec.get("min"), spec.get("max")
    if lo is not None or hi is not None:
        text += f" {'' if lo is None else f'{lo:g}'}..{'' if hi is None else f'{hi:g}'}"
    return text


def form_default(spec: dict[str, Any]) -> Any:
    """The value a form field starts with: the argument's default when it is inside the argument's range,
    else the nearest end of the range (``mission.start cycles``: default 0, range 1..10000 → 1). A number
    without a default starts at 0 when its range holds 0 (a speed of -0.3..0.3 m/s starts still, not at full
    reverse), else at the range's low end; anything else without a default starts empty."""
    default = spec.get("default")
    if spec.get("type", "float") not in ("float", "int") or isinstance(default, bool):
        return default
    lo, hi = spec.get("min"), spec.get("max")
    if default is None:
        inside = (lo is None or lo <= 0) and (hi is None or hi >= 0)
        return 0 if inside and (lo is not None or hi is not None) else lo
    if lo is not None and default < lo:
        return lo
    if hi is not None and default > hi:
        return hi
    return default


def field_value(spec: dict[str, Any], raw: Any) -> Any:
    """The value of a form field as the dictionary type wants it (None stays None: 'not given')."""
    kind = spec.get("type", "float")
    if raw is None or raw == "":
        return None
    if kind == "int" and isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if kind == "float" and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    return raw


class CommandForm:
    """The fields of one command and the send / confirm flow."""

    def __init__(self, ctx: ConsoleContext, command: dict[str, Any], dialog: ConfirmDialog, gate: RoleGate) -> None:
        self.ctx = ctx
        self.command = command
        self.dialog = dialog
        self.fields: dict[str, Any] = {}
        with ui.card().classes("w-full").mark(f"form-{command['name']}"):
            ui.label(command["name"]).classes("text-lg font-bold").mark("command-name")
            if command.get("description"):
                ui.label(command["description"]).classes("text-sm")
            if command.get("hazardous"):
                ui.label(f"hazardous: {command.get('hazard', '')}").classes("text-sm text-red-700")
            for spec in command.get("args", []):
                self.fields[spec["name"]] = _field(spec)
            with ui.row():
                self.send_button = gate.add(ui.button("Send", on_click=self.send).mark("command-send"))
                gate.add(ui.button("Add to stack", on_click=self.stack).props("outline").mark("command-stack-add"))
            self.result = ui.label("").classes("text-sm font-mono").mark("command-result")
        self.record: Any = None
        self.follower = ui.timer(0.25, self._follow, active=False)

    def args(self) -> dict[str, Any]:
        """The arguments entered (fields left empty are not sent, so flight defaults apply)."""
        out = {}
        for spec in self.command.get("args", []):
            value = field_value(spec, self.fields[spec["name"]].value)
            if value is not None:
                out[spec["name"]] = value
        return out

    def send(self, confirmed: bool = False) -> None:
        """Send through the core; a hazardous command opens the confirmation dialog instead."""
        for field in self.fields.values():
            field.props(remove="error error-message")
        args = self.args()
        try:
            record = self.ctx.core.send(self.command["name"], args, confirmed=confirmed)
        except NeedsConfirmation as exc:
            self.dialog.ask(self, exc.hazard, self.send)
            return
        except ValidationError as exc:
            field = self.fields.get(exc.argument)
            if field is not None:
                field.props(f'error error-message="expected {exc.expected}, found {exc.found}"')
            self._show(f"not sent: {exc}", "negative")
            return
        except GroundError as exc:
            self._show(f"not sent: {exc}", "negative")
            return
        self._show(f"sent {record.name} id={record.id}", "positive")
        self.record = record
        self.follower.activate()

    def _follow(self) -> None:
        """Show the sent command's latest stage; at its end, flight's reason and message."""
        if self.record is None:
            self.follower.deactivate()
            return
        self.result.set_text(outcome_text(self.record))
        terminal = self.record.terminal
        if terminal is not None:
            self.follower.deactivate()
            self.result.classes(
                replace="text-sm font-mono " + ("text-green-800" if terminal == "completed" else "text-red-700")
            )
            if terminal != "completed":
                ui.notify(outcome_text(self.record), type="negative")
            self.record = None

    def stack(self, confirmed: bool = False) -> None:
        """Prepare the command in the console's stack (a hazardous one asks for confirmation first)."""
        stack = self.ctx.stack
        try:
            entry = stack.add(self.command["name"], self.args(), confirmed=confirmed)
        except NeedsConfirmation as exc:
            self.dialog.ask(self, exc.hazard, self.stack)
            return
        except ValidationError as exc:
            self._show(f"not prepared: {exc}", "negative")
            return
        except GroundError as exc:
            self._show(f"not prepared: {exc}", "negative")
            return
        self._show(f"prepared {entry.name} as step {len(stack.entries)} of the stack", "info")

    def _show(self, text: str, kind: Literal["positive", "negative", "info"]) -> None:
        self.result.set_text(text)
        ui.notify(text, type=kind)


class ConfirmDialog:
    """One dialog per page: shows the hazard of the command waiting for confirmation; Confirm calls the
    action that asked (send, or add to the stack) with ``confirmed=True``."""

    def __init__(self) -> None:
        self.form: CommandForm | None = None
        self.action: Callable[..., None] | None = None
        with ui.dialog().props("persistent") as self.dialog, ui.card().mark("confirm-dialog"):
            ui.label("Hazardous command").classes("text-lg text-red-700 font-bold")
            self.name = ui.label("").classes("font-mono").mark("confirm-command")
            self.hazard = ui.label("").mark("confirm-hazard")
            with ui.row():
                ui.button("Cancel", on_click=self.cancel).props("flat").mark("confirm-cancel")
                ui.button("Confirm", on_click=self.confirm).props("color=red").mark("confirm-send")

    def ask(self, form: CommandForm, hazard: str, action: Callable[..., None]) -> None:
        """Open the dialog for ``form``'s command showing ``hazard``; Confirm calls ``action(confirmed=True)``."""
        self.form, self.action = form, action
        self.name.set_text(f"{form.command['name']} {form.args()}")
        self.hazard.set_text(hazard)
        self.dialog.open()

    def cancel(self) -> None:
        """Close; nothing is sent."""
        form, self.form = self.form, None
        self.dialog.close()
        if form is not None:
            form._show(f"cancelled {form.command['name']}: nothing sent", "info")

    def confirm(self) -> None:
        """Close and carry out the action confirmed."""
        action, self.form, self.action = self.action, None, None
        self.dialog.close()
        if action is not None:
            action(confirmed=True)


def _field(spec: dict[str, Any]) -> Any:
    kind = spec.get("type", "float")
    label = arg_label(spec)
    default = form_default(spec)
    if spec.get("choices"):
        return ui.select(list(spec["choices"]), label=label, value=default).classes("w-64").mark(f"arg-{spec['name']}")
    if kind in ("float", "int"):
        field = ui.number(label, value=default, min=spec.get("min"), max=spec.get("max"))
        if kind == "int":
            field.props("step=1")
        return field.classes("w-64").mark(f"arg-{spec['name']}")
    if kind == "bool":
        return ui.checkbox(label, value=bool(default)).mark(f"arg-{spec['name']}")
    return ui.input(label, value=default or "").classes("w-64").mark(f"arg-{spec['name']}")


def view(ctx: ConsoleContext, selected: str | None = None) -> None:
    """Draw the command sender; ``selected`` opens that command's form."""
    gate = frame(ctx, "Commands")
    dictionary = ctx.dictionary
    if dictionary is None:
        ui.label("waiting for the flight dictionary")
        return
    names = [c["name"] for c in dictionary.commands()]
    dialog = ConfirmDialog()
    notice = ui.label("").classes("text-red-700").mark("read-only")

    def show_role() -> None:
        notice.set_text("" if ctx.can_command else f"role {ctx.core.role or 'not yet known'}: commanding is disabled")

    show_role()
    ui.timer(ctx.settings.refresh_period_s, show_role)
    picker = ui.select(names, with_input=True, label="command", value=selected if selected in names else None)
    picker.classes("w-96").mark("command-picker")
    area = ui.column().classes("w-full")

    def show() -> None:
        area.clear()
        if not picker.value:
            return
        with area:
            CommandForm(ctx, dictionary.command(picker.value), dialog, gate)

    picker.on_value_change(show)
    show()
