"""The full mission state diagram, secondary to the overview's breadcrumb: every state and transition
flight's machine has, the current state highlighted, with zoom (25 %..300 %) in a scrolling frame."""

from __future__ import annotations

from nicegui import ui

from ground.console.context import ConsoleContext
from ground.console.diagram import highlight
from ground.console.layout import frame
from ground.console.overview import STATE_CHANNEL


def view(ctx: ConsoleContext) -> None:
    """Draw the diagram page."""
    frame(ctx, "Diagram")
    dictionary = ctx.dictionary
    if dictionary is None or not dictionary.diagram:
        ui.label("waiting for the flight dictionary")
        return
    shown = {"state": ctx.core.value(STATE_CHANNEL)}
    with ui.row().classes("items-center gap-4"):
        state = ui.label(f"state: {shown['state'] or 'unknown'}").mark("diagram-state")
        zoom = ui.slider(min=25, max=300, step=25, value=100).classes("w-64").mark("diagram-zoom")
        ui.label().bind_text_from(zoom, "value", lambda v: f"zoom {v} %")
    with ui.element("div").classes("w-full border overflow-auto").style("height: 75vh"):
        inner = ui.element("div").style("transform-origin: 0 0")
        with inner:
            diagram = ui.mermaid(highlight(dictionary.diagram, shown["state"])).mark("diagram-full")
    zoom.on_value_change(lambda e: inner.style(f"transform: scale({e.value / 100}); transform-origin: 0 0"))

    def refresh() -> None:
        current = ctx.core.value(STATE_CHANNEL)
        if current != shown["state"]:
            shown["state"] = current
            state.set_text(f"state: {current or 'unknown'}")
            diagram.set_content(highlight(dictionary.diagram, current))

    ui.timer(ctx.settings.refresh_period_s, refresh)
