"""Plots: any numeric channel of the dictionary, several plots per view, each with pause and zoom and an
updates-per-second readout.

Plots update incrementally: every ``plot_period_s`` (0.1 s: about 10 Hz) the page sends one batch with
only the samples that arrived since the last one, for all its plots, to ``plots.js``, which appends them
to each chart's window and redraws. Nothing resends whole chart options. A paused plot receives nothing;
on resume it catches up from the feed (whatever the feed still holds).

``/plots?c=a,b&c=d`` opens two plots: channels ``a`` and ``b`` together, and ``d``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nicegui import ui

from ground.console.context import ConsoleContext
from ground.console.layout import frame

PLOTS_JS = (Path(__file__).parent / "plots.js").read_text(encoding="utf-8")
#: Dictionary types that can be drawn as a line.
NUMERIC_TYPES = ("float", "int", "bool")


def numeric_channels(dictionary: Any) -> list[str]:
    """Names of the channels that can be plotted, sorted."""
    if dictionary is None:
        return []
    return [c["name"] for c in dictionary.channels() if c.get("type", "float") in NUMERIC_TYPES]


def chart_options(channels: list[str], units: dict[str, str]) -> dict[str, Any]:
    """ECharts options of a live plot of ``channels``: time axis, no animation, zoom by wheel and slider."""
    return {
        "animation": False,
        "legend": {"top": 0},
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 60, "right": 20, "top": 30, "bottom": 60},
        "xAxis": {"type": "time"},
        "yAxis": {"type": "value", "scale": True},
        # The slider's data shadow would draw every series a second time on each update.
        "dataZoom": [{"type": "inside"}, {"type": "slider", "height": 20, "bottom": 5, "showDataShadow": False}],
        "series": [
            {
                "name": f"{name} [{units[name]}]" if units.get(name) else name,
                "type": "line",
                "showSymbol": False,
                # Draw at most about one point per pixel column; every sample is kept for zooming.
                "sampling": "lttb",
                "data": [],
            }
            for name in channels
        ],
    }


class LivePlot:
    """One chart of one or more channels, fed from the console's feed."""

    def __init__(self, ctx: ConsoleContext, channels: list[str], on_remove: Any) -> None:
        self.ctx = ctx
        self.channels = list(channels)
        self.paused = False
        self.cursors: dict[str, int] = {}
        self.backlog: dict[int, list[list[float]]] = {}
        self.sent = 0
        self._rate_mark = (ctx.clock.monotonic(), 0)
        dictionary = ctx.dictionary
        units = {}
        for name in self.channels:
            spec = dictionary.channel(name) if dictionary is not None else {}
            units[name] = spec.get("unit", "")
        for index, name in enumerate(self.channels):
            points, self.cursors[name] = ctx.feed.recent(name, ctx.settings.plot_window_s)
            self.backlog[index] = _points(points)
        with ui.card().classes("w-full") as self.card:
            with ui.row().classes("items-center w-full"):
                ui.label(", ".join(self.channels)).classes("font-bold")
                ui.space()
                self.rate_label = ui.label("0 updates/s").classes("text-sm font-mono").mark("plot-rate")
                self.pause_button = ui.button("Pause", on_click=self.toggle).props("flat dense").mark("plot-pause")
                ui.button(icon="close", on_click=lambda: on_remove(self)).props("flat dense round")
            self.chart = ui.echart(chart_options(self.channels, units)).classes("w-full h-64").mark("plot")

    def toggle(self) -> None:
        """Pause or resume the plot."""
        self.paused = not self.paused
        self.pause_button.set_text("Resume" if self.paused else "Pause")

    def take(self) -> dict[str, Any] | None:
        """The new samples for ``plots.js`` (None if none, or paused)."""
        if self.paused:
            return None
        series = []
        for index, name in enumerate(self.channels):
            points, self.cursors[name] = self.ctx.feed.since(name, self.cursors[name])
            fresh = self.backlog.pop(index, []) + _points(points)
            if fresh:
                series.append([index, fresh])
                self.sent += len(fresh)
        if not series:
            return None
        settings = self.ctx.settings
        return {"s": series, "w": settings.plot_window_s * 1000.0, "n": settings.max_plot_points}

    def update_rate(self) -> None:
        """Refresh the updates-per-second readout (samples drawn per second since the last readout)."""
        now = self.ctx.clock.monotonic()
        then, sent = self._rate_mark
        if now - then >= 1.0:
            self.rate_label.set_text(f"{(self.sent - sent) / (now - then):.0f} updates/s")
            self._rate_mark = (now, self.sent)


def _points(samples: list[tuple[float, Any]]) -> list[list[float]]:
    """``[t ms, value]`` pairs of the numeric samples (bools as 0/1); others are skipped."""
    out = []
    for t, value in samples:
        if isinstance(value, bool):
            out.append([t * 1000.0, int(value)])
        elif isinstance(value, int | float):
            out.append([t * 1000.0, value])
    return out


def view(ctx: ConsoleContext, requested: list[list[str]]) -> None:
    """Draw the plots page with the plots ``requested`` (each a list of channel names) open."""
    frame(ctx, "Plots")
    ui.add_head_html(f"<script>{PLOTS_JS}</script>")
    plots: list[LivePlot] = []
    available = numeric_channels(ctx.dictionary)

    def remove(plot: LivePlot) -> None:
        plots.remove(plot)
        plot.card.delete()

    def add(channels: list[str]) -> None:
        wanted = [name for name in channels if name in available]
        if not wanted:
            ui.notify("pick at least one numeric channel from the dictionary", type="warning")
            return
        with area:
            plots.append(LivePlot(ctx, wanted, remove))

    with ui.row().classes("items-center w-full"):
        picker = ui.select(available, multiple=True, with_input=True, label="channels").classes("w-96")
        picker.props("use-chips").mark("plot-channels")
        ui.button("Add plot", on_click=lambda: add(list(picker.value or []))).mark("plot-add")
    area = ui.column().classes("w-full")
    for channels in requested:
        add(channels)

    def tick() -> None:
        batch = {}
        for plot in plots:
            data = plot.take()
            if data is not None:
                batch[plot.chart.id] = data
        if batch:
            ui.run_javascript(f"isruPlots.append({json.dumps(batch, separators=(',', ':'))})")

    def rates() -> None:
        for plot in plots:
            plot.update_rate()

    ui.timer(ctx.settings.plot_period_s, tick)
    ui.timer(1.0, rates)


def parse_request(values: list[str]) -> list[list[str]]:
    """Plots from ``c`` query values: each value a comma-separated list of channel names."""
    return [[name.strip() for name in value.split(",") if name.strip()] for value in values if value.strip()]
