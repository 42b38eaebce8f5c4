"""Overview: the mission state diagram with the current state highlighted, cycle progress, the water and
regolith extracted, power and battery, and the link (RTT, loss of signal, spool depth).

Which channels fill the tiles is configuration (:data:`DEFAULT_TILES`); a channel the dictionary does not
have is left out, so the overview follows whatever flight describes.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ground.console import limits
from ground.console.context import ConsoleContext
from ground.console.diagram import highlight
from ground.console.layout import frame, link_text

#: Channel that names the current (leaf) state of the mission machine.
STATE_CHANNEL = "mission.state"
#: Cycle progress: (cycle channel, target channel).
CYCLE_CHANNELS = ("mission.cycle", "mission.cycles_target")
#: Tiles of key values: (title, channels).
DEFAULT_TILES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Extraction", ("mission.water_kg", "mission.regolith_kg", "mission.energy_Wh", "mission.site")),
    ("Power", ("power.soc", "power.battery_V", "power.battery_A", "power.solar_W", "power.load_W")),
    ("Drill", ("drill.depth_m", "drill.rpm", "drill.torque_Nm", "drill.bit_temp_K")),
    (
        "Extractor",
        ("extractor.chamber_temp_K", "extractor.pressure_Pa", "extractor.heater_power_W", "extractor.tank_kg"),
    ),
)


def format_value(value: Any, unit: str = "") -> str:
    """A value for display: floats to 4 significant digits, the unit after it."""
    if value is None:
        return "—"
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return f"{text} {unit}".rstrip()


def view(ctx: ConsoleContext) -> None:
    """Draw the overview page."""
    frame(ctx, "Overview")
    dictionary = ctx.dictionary
    latest = ctx.core.latest
    with ui.row().classes("w-full no-wrap items-start gap-4"):
        with ui.card().classes("w-3/5"):
            ui.label("Mission").classes("text-lg")
            state_label = ui.label("").mark("mission-state")
            shown = {"state": latest.get(STATE_CHANNEL, (None, 0.0))[0]}
            source = dictionary.diagram if dictionary is not None else ""
            diagram = ui.mermaid(highlight(source, shown["state"]) if source else "stateDiagram-v2\n  [*] --> waiting")
            diagram.classes("w-full").mark("diagram")
            cycle_label = ui.label("").mark("cycle")
            cycle_bar = ui.linear_progress(value=0.0, show_value=False).mark("cycle-progress")
        with ui.column().classes("w-2/5 gap-2"):
            with ui.card().classes("w-full"):
                ui.label("Link").classes("text-lg")
                link_label = ui.label("").mark("overview-link")
            tiles = _tiles(ctx)

    def refresh() -> None:
        state = ctx.core.latest.get(STATE_CHANNEL, (None, 0.0))[0]
        state_label.set_text(f"state: {state or 'unknown'}")
        current = ctx.dictionary
        if current is not None and state != shown["state"]:
            shown["state"] = state
            diagram.set_content(highlight(current.diagram, state))
        cycle = ctx.core.latest.get(CYCLE_CHANNELS[0], (None, 0.0))[0]
        target = ctx.core.latest.get(CYCLE_CHANNELS[1], (None, 0.0))[0]
        if isinstance(cycle, int | float) and isinstance(target, int | float) and target > 0:
            cycle_label.set_text(f"cycle {cycle:g} of {target:g}")
            cycle_bar.set_value(min(1.0, float(cycle) / float(target)))
        else:
            cycle_label.set_text(f"cycle {format_value(cycle)}")
        link_label.set_text(link_text(getattr(ctx.core, "link", None)))
        for name, (label, spec) in tiles.items():
            value = ctx.core.latest.get(name, (None, 0.0))[0]
            label.set_text(format_value(value, spec.get("unit", "")))
            label.classes(replace=f"font-mono px-1 {limits.LEVEL_CLASSES[limits.level(spec, value)]}")

    refresh()
    ui.timer(ctx.settings.refresh_period_s, refresh)


def _tiles(ctx: ConsoleContext) -> dict[str, tuple[ui.label, dict[str, Any]]]:
    dictionary = ctx.dictionary
    known = {c["name"]: c for c in dictionary.channels()} if dictionary is not None else {}
    labels: dict[str, tuple[ui.label, dict[str, Any]]] = {}
    for title, channels in DEFAULT_TILES:
        present = [name for name in channels if name in known]
        if not present:
            continue
        with ui.card().classes("w-full"):
            ui.label(title).classes("text-lg")
            with ui.grid(columns=2).classes("gap-x-4 gap-y-0"):
                for name in present:
                    ui.label(name).classes("text-sm text-gray-600")
                    labels[name] = (ui.label("").mark(f"tile-{name}"), known[name])
    return labels
