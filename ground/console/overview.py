"""Overview: where the mission is as a breadcrumb (top state > state, held or parked, cycle, site), a strip
of the states of the last hour, cycle progress, the water and regolith extracted, power and battery, the
link (RTT, loss of signal, spool depth), and — secondary — the state diagram with the current state
highlighted (``/diagram`` shows it full size with zoom). Values grey while the link is down.

Which channels fill the tiles is configuration (:data:`DEFAULT_TILES`); a channel the dictionary does not
have is left out, so the overview follows whatever flight describes.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ground.console import limits
from ground.console.campaign import state_bands, state_colour
from ground.console.context import ConsoleContext
from ground.console.diagram import highlight
from ground.console.layout import frame, link_text
from link.schema import DIMENSIONLESS_UNITS

#: Channels that name the current (leaf) and top-level state of the mission machine.
STATE_CHANNEL, TOP_STATE_CHANNEL = "mission.state", "mission.top_state"
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
    if unit in DIMENSIONLESS_UNITS:  # a marker of the dictionary, not a unit to print
        return text
    return f"{text} {unit}".rstrip()


def breadcrumb(latest: dict[str, tuple[Any, float]]) -> str:
    """Where the mission is, in words: ``operational > drilling · cycle 2 of 5 · site 3`` (``held in …``,
    ``parked …`` when so; ``no site yet`` before the first)."""

    def value(name: str) -> Any:
        return latest.get(name, (None, 0.0))[0]

    top, state = value(TOP_STATE_CHANNEL), value(STATE_CHANNEL)
    parts = [" > ".join(str(s) for s in dict.fromkeys((top, state)) if s) or "state unknown"]
    if value("mission.held"):
        parts.append(f"held in {value('mission.held')}")
    if value("mission.parked"):
        parts.append(f"parked from {value('mission.parked')}")
    cycle, target = value(CYCLE_CHANNELS[0]), value(CYCLE_CHANNELS[1])
    if isinstance(cycle, int | float):
        parts.append(f"cycle {cycle:g} of {target:g}" if isinstance(target, int | float) else f"cycle {cycle:g}")
    site = value("mission.site")
    if isinstance(site, int | float):
        parts.append("no site yet" if site < 0 else f"site {site:g}")
    return " · ".join(parts)


#: The overview's state strip: how far back it reaches (flight seconds).
STRIP_S = 3600.0


def view(ctx: ConsoleContext) -> None:
    """Draw the overview page."""
    frame(ctx, "Overview")
    dictionary = ctx.dictionary
    latest = ctx.core.latest
    with ui.card().classes("w-full"):
        crumb = ui.label("").classes("text-2xl font-bold isru-value").mark("breadcrumb")
        state_label = ui.label("").classes("text-sm text-gray-600").mark("mission-state")
        strip = ui.row().classes("w-full no-wrap gap-0 h-8 rounded overflow-hidden").mark("state-strip")
        strip_note = ui.label("").classes("text-xs text-gray-600")
    with ui.row().classes("w-full no-wrap items-start gap-4"):
        with ui.card().classes("w-3/5"):
            with ui.row().classes("items-center w-full"):
                ui.label("State diagram").classes("text-lg")
                ui.space()
                ui.link("full size, zoomable", "/diagram").mark("diagram-link")
            shown = {"state": latest.get(STATE_CHANNEL, (None, 0.0))[0]}
            source = dictionary.diagram if dictionary is not None else ""
            diagram = ui.mermaid(highlight(source, shown["state"]) if source else "stateDiagram-v2\n  [*] --> waiting")
            diagram.classes("w-full max-h-96 overflow-auto").mark("diagram")
            cycle_label = ui.label("").mark("cycle")
            cycle_bar = ui.linear_progress(value=0.0, show_value=False).mark("cycle-progress")
        with ui.column().classes("w-2/5 gap-2"):
            with ui.card().classes("w-full"):
                ui.label("Link").classes("text-lg")
                link_label = ui.label("").mark("overview-link")
            tiles = _tiles(ctx)

    def draw_strip() -> None:
        end = max((t for _v, t in ctx.core.latest.values()), default=ctx.clock.now())
        bands = state_bands(ctx.core.history(TOP_STATE_CHANNEL, end - STRIP_S, end + 1.0), end)
        strip.clear()
        span = max(1e-9, sum(t1 - t0 for _s, t0, t1 in bands))
        with strip:
            for state, t0, t1 in bands:
                width = max(0.5, 100.0 * (t1 - t0) / span)
                ui.label(state).classes("text-xs px-1 truncate h-8 leading-8").style(
                    f"width:{width:.2f}%;background:{state_colour(state)}"
                ).tooltip(f"{state}: {t1 - t0:.0f} s")
        strip_note.set_text(f"top-level states over the last {STRIP_S / 60:.0f} min of flight time (from the archive)")

    def refresh() -> None:
        latest = ctx.core.latest  # one copy per refresh: every tile shows the same moment
        state = latest.get(STATE_CHANNEL, (None, 0.0))[0]
        state_label.set_text(f"state: {state or 'unknown'}")
        crumb.set_text(breadcrumb(latest))
        current = ctx.dictionary
        if current is not None and state != shown["state"]:
            shown["state"] = state
            diagram.set_content(highlight(current.diagram, state))
        cycle = latest.get(CYCLE_CHANNELS[0], (None, 0.0))[0]
        target = latest.get(CYCLE_CHANNELS[1], (None, 0.0))[0]
        if isinstance(cycle, int | float) and isinstance(target, int | float) and target > 0:
            cycle_label.set_text(f"cycle {cycle:g} of {target:g}")
            cycle_bar.set_value(min(1.0, float(cycle) / float(target)))
        else:
            cycle_label.set_text(f"cycle {format_value(cycle)}")
        link_label.set_text(link_text(getattr(ctx.core, "link", None)))
        for name, (label, spec) in tiles.items():
            value = latest.get(name, (None, 0.0))[0]
            label.set_text(format_value(value, spec.get("unit", "")))
            label.classes(replace=f"isru-value font-mono px-1 {limits.LEVEL_CLASSES[limits.level(spec, value)]}")

    refresh()
    draw_strip()
    ui.timer(ctx.settings.refresh_period_s, refresh)
    ui.timer(5.0, draw_strip)


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
                    labels[name] = (ui.label("").classes("isru-value").mark(f"tile-{name}"), known[name])
    return labels
