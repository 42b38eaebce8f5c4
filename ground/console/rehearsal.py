"""Rehearsal: the fault-injection panel for training operators — SIMULATION ONLY.

It exists only when flight's dictionary has the ``sim.inject`` command, which flight gets only over a
simulated rover (``isru.rehearsal``); over real hardware the view says so and offers nothing, and it is
left out of the menu. Each fault asks for confirmation (the command is hazardous) and every injection is a
``sim.fault_injected`` event that the events view and the archive keep."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ground.console.command_text import outcome_text
from ground.console.context import ConsoleContext
from ground.console.layout import frame
from ground.errors import GroundError

#: The rehearsal command and its argument.
INJECT_COMMAND, FAULT_ARG = "sim.inject", "fault"
#: Striped marking of everything on this view.
SIM_STYLE = "background: repeating-linear-gradient(45deg, #fef3c7, #fef3c7 12px, #fde68a 12px, #fde68a 24px);"


def available(dictionary: Any) -> bool:
    """True when flight offers fault injection (a simulated rover)."""
    return dictionary is not None and dictionary.has_command(INJECT_COMMAND)


def faults(dictionary: Any) -> list[str]:
    """The training faults flight offers (the choices of ``sim.inject``'s argument)."""
    if not available(dictionary):
        return []
    args: list[dict[str, Any]] = dictionary.command(INJECT_COMMAND).get("args", [])
    spec: dict[str, Any] = next((a for a in args if a["name"] == FAULT_ARG), {})
    return [str(c) for c in spec.get("choices", [])]


def view(ctx: ConsoleContext) -> None:
    """Draw the rehearsal page."""
    gate = frame(ctx, "Rehearsal")
    dictionary = ctx.dictionary
    if not available(dictionary):
        ui.label("Not available: this rover is not simulated (fault injection exists only in simulation).").mark(
            "rehearsal-unavailable"
        )
        return
    with ui.card().classes("w-full").style(SIM_STYLE).mark("rehearsal"):
        ui.label("SIMULATION ONLY — REHEARSAL").classes("text-2xl font-bold text-amber-900")
        ui.label(
            "Inject a fault into the simulated rover and work it as a real one. Each injection is recorded as a "
            "sim.fault_injected event."
        )
        with ui.row().classes("gap-2 flex-wrap"):
            for fault in faults(dictionary):
                gate.add(
                    ui.button(fault, on_click=lambda f=fault: ask(f)).props("color=amber-9").mark(f"fault-{fault}")
                )
        result = ui.label("").classes("text-sm font-mono").mark("rehearsal-result")
    log = ui.column().classes("gap-0").mark("rehearsal-log")
    with ui.dialog().props("persistent") as dialog, ui.card().mark("rehearsal-confirm"):
        ui.label("Inject a training fault?").classes("text-lg font-bold")
        what = ui.label("").mark("rehearsal-fault")
        ui.label(dictionary.hazard(INJECT_COMMAND) or "").classes("text-sm")
        with ui.row():
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Inject", on_click=lambda: inject()).props("color=red").mark("rehearsal-inject")
    chosen: dict[str, Any] = {"fault": None, "record": None}

    def ask(fault: str) -> None:
        chosen["fault"] = fault
        what.set_text(fault)
        dialog.open()

    def inject() -> None:
        dialog.close()
        try:
            chosen["record"] = ctx.core.send(INJECT_COMMAND, {FAULT_ARG: chosen["fault"]}, confirmed=True)
        except GroundError as exc:
            result.set_text(f"not sent: {exc}")
            return
        result.set_text(outcome_text(chosen["record"]))

    def refresh() -> None:
        if chosen["record"] is not None:
            result.set_text(outcome_text(chosen["record"]))
        injected = [e for e in list(ctx.core.events) if e.get("source") == "sim"][-10:]
        log.clear()
        with log:
            for event in reversed(injected):
                ui.label(str(event.get("message", ""))).classes("text-sm")

    refresh()
    ui.timer(1.0, refresh)
