"""The campaign timeline: the mission's states as coloured bands over the whole campaign, with the water
extracted, the energy used, the battery's state of charge and the sunlight (solar input) beneath them, from
the archive. :func:`state_bands` also draws the overview's recent-state strip.
"""

from __future__ import annotations

import zlib
from typing import Any

from nicegui import ui

from ground.console.context import ConsoleContext
from ground.console.layout import frame
from ground.console.plots import chart_options

#: The state channel the bands show, and the value channels drawn beneath.
BAND_CHANNEL = "mission.top_state"
VALUE_CHANNELS = ("mission.water_kg", "mission.energy_Wh", "power.soc", "power.solar_W")
#: Points per value channel at most (the archive's samples are thinned evenly).
MAX_POINTS = 2000
#: Band colours, picked by a stable hash of the state's name (SAFE is always red).
PALETTE = ("#bfdbfe", "#bbf7d0", "#fde68a", "#ddd6fe", "#fbcfe8", "#a5f3fc", "#fed7aa", "#e5e7eb")
SAFE_COLOUR = "#fca5a5"


def state_colour(state: str) -> str:
    """The colour of ``state``'s band (the same on every console and every run)."""
    if "safe" in state.lower():
        return SAFE_COLOUR
    return PALETTE[zlib.crc32(state.encode()) % len(PALETTE)]


def state_bands(samples: list[tuple[float, Any]], end: float) -> list[tuple[str, float, float]]:
    """``(state, t_start, t_end)`` runs of ``samples`` ((t, state) in time order), the last running to
    ``end``; consecutive equal states merge."""
    bands: list[tuple[str, float, float]] = []
    for t, value in samples:
        state = str(value)
        if bands and bands[-1][0] == state:
            continue
        if bands:
            bands[-1] = (bands[-1][0], bands[-1][1], t)
        bands.append((state, t, t))
    if bands:
        bands[-1] = (bands[-1][0], bands[-1][1], max(end, bands[-1][1]))
    return bands


def thin(samples: list[tuple[float, Any]], limit: int = MAX_POINTS) -> list[tuple[float, Any]]:
    """At most ``limit`` of ``samples``, evenly spaced, the last kept."""
    if len(samples) <= limit:
        return samples
    step = len(samples) / (limit - 1)
    return [samples[int(i * step)] for i in range(limit - 1)] + [samples[-1]]


def campaign_options(
    bands: list[tuple[str, float, float]],
    series: dict[str, list[tuple[float, Any]]],
    specs: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """ECharts options: the value ``series`` on an axis per unit, the state ``bands`` as shaded areas."""
    options = chart_options(list(series), specs)
    for index, points in enumerate(series.values()):
        options["series"][index]["data"] = [
            [t * 1000.0, float(v)] for t, v in points if isinstance(v, int | float) and not isinstance(v, str)
        ]
    if options["series"]:
        options["series"][0]["markArea"] = {
            "silent": True,
            "label": {"position": "insideTop", "fontSize": 10},
            "data": [
                [
                    {"name": state, "xAxis": t0 * 1000.0, "itemStyle": {"color": state_colour(state), "opacity": 0.5}},
                    {"xAxis": t1 * 1000.0},
                ]
                for state, t0, t1 in bands
            ],
        }
    return options


def gather(ctx: ConsoleContext) -> tuple[list[tuple[str, float, float]], dict[str, list[tuple[float, Any]]]]:
    """The state bands and value series of the whole campaign in the archive."""
    core = ctx.core
    end = max((t for _v, t in core.latest.values()), default=ctx.clock.now())
    known = set(ctx.dictionary.channel_names()) if ctx.dictionary is not None else set()
    bands = state_bands(core.history(BAND_CHANNEL, 0.0, end + 1.0), end)
    series = {name: thin(core.history(name, 0.0, end + 1.0)) for name in VALUE_CHANNELS if name in known}
    return bands, series


def view(ctx: ConsoleContext) -> None:
    """Draw the campaign timeline page (redrawn every 5 s)."""
    frame(ctx, "Campaign")
    ui.label(
        "The whole campaign from the archive: state bands, water, energy, state of charge and solar input "
        "(sunlight). Flight time, UTC."
    ).classes("text-sm")
    known = set(ctx.dictionary.channel_names()) if ctx.dictionary is not None else set()
    specs = {name: ctx.dictionary.channel(name) for name in VALUE_CHANNELS if name in known}
    chart = ui.echart(campaign_options([], {}, {})).classes("w-full h-[32rem]").mark("campaign-chart")
    legend = ui.row().classes("gap-2").mark("campaign-states")

    def refresh() -> None:
        bands, series = gather(ctx)
        chart.options.clear()
        chart.options.update(campaign_options(bands, series, {k: v for k, v in specs.items() if k in series}))
        chart.update()
        legend.clear()
        with legend:
            for state in dict.fromkeys(state for state, _a, _b in bands):
                ui.label(state).classes("px-2 rounded text-sm").style(f"background:{state_colour(state)}")

    refresh()
    ui.timer(5.0, refresh)
