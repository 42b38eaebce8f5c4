"""Plots: any numeric channel of the dictionary, several plots per view, each with pause and zoom and an
updates-per-second readout.

Plots update incrementally: every ``plot_period_s`` (0.1 s: about 10 Hz) the page sends one batch with
only the samples that arrived since the last one, for all its plots, to ``plots.js``, which appends them
to each chart's window and redraws. Nothing resends whole chart options. A paused plot receives nothing;
on resume it catches up from the feed (whatever the feed still holds).

``/plots?c=a,b&c=d&w=10 min`` opens two plots: channels ``a`` and ``b`` together, and ``d``, showing the last
10 minutes (:data:`WINDOWS`). Each unit has its own y axis titled with it; limits are dashed lines; the time
axis is flight time in UTC with the date. "Same range in archive" opens the archive on the same channels and
time range.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

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


#: Windows a plot can show: (label, seconds; None = everything the feed holds).
WINDOWS: tuple[tuple[str, float | None], ...] = (("1 min", 60.0), ("10 min", 600.0), ("1 h", 3600.0), ("all", None))
#: Seconds standing for "all" (longer than any feed ring).
ALL_S = 10 * 365 * 86_400.0
#: Colours of limit lines: yellow band edges, red band edges.
LIMIT_COLOURS = {"warn": "#d97706", "alarm": "#dc2626"}
#: The x axis's title: whose clock, which zone, and the date shown under the time.
TIME_AXIS_TITLE = "flight time (UTC), date below"


def window_seconds(label: str | None) -> float | None:
    """Seconds of the window called ``label`` (``1 min``...), None for ``all``; ValueError names the choices."""
    for name, seconds in WINDOWS:
        if label == name:
            return seconds
    raise ValueError(f"unknown plot window {label!r}; expected one of {[w[0] for w in WINDOWS]}")


def limit_lines(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """ECharts ``markLine`` data of a channel's limit bounds (dashed yellow and red horizontal lines)."""
    lines = []
    for key in ("warn_low", "warn_high", "alarm_low", "alarm_high"):
        value = spec.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            colour = LIMIT_COLOURS[key.split("_")[0]]
            lines.append({"yAxis": value, "name": key, "lineStyle": {"color": colour, "type": "dashed"}})
    return lines


def chart_options(channels: list[str], specs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """ECharts options of a plot of ``channels`` (``specs``: their dictionary entries): a UTC time axis with
    the date, one y axis per unit (titled with it; a third and more are offset to the right), each channel's
    limits as dashed lines, no animation, zoom by wheel and slider."""
    units: list[str] = []
    for name in channels:
        unit = specs.get(name, {}).get("unit", "") or "1"
        if unit not in units:
            units.append(unit)
    y_axes = [
        {
            "type": "value",
            "scale": True,
            "name": unit,
            "nameLocation": "end",
            "position": "left" if i == 0 else "right",
            "offset": 0 if i < 2 else 80 * (i - 1),
            "axisLine": {"show": True},
        }
        for i, unit in enumerate(units)
    ] or [{"type": "value", "scale": True}]  # nothing picked yet: one plain axis (ECharts needs one)
    return {
        "animation": False,
        "useUTC": True,
        "legend": {"top": 0},
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 70, "right": 30 + 80 * max(0, len(units) - 1), "top": 40, "bottom": 90},
        "xAxis": {
            "type": "time",
            "name": TIME_AXIS_TITLE,
            "nameLocation": "middle",
            "nameGap": 50,
            "axisLabel": {"formatter": "{HH}:{mm}:{ss}\n{yyyy}-{MM}-{dd}", "lineHeight": 16, "margin": 10},
        },
        "yAxis": y_axes,
        # The slider's data shadow would draw every series a second time on each update.
        "dataZoom": [{"type": "inside"}, {"type": "slider", "height": 20, "bottom": 5, "showDataShadow": False}],
        "series": [
            {
                "name": f"{name} [{specs.get(name, {}).get('unit')}]" if specs.get(name, {}).get("unit") else name,
                "type": "line",
                "yAxisIndex": units.index(specs.get(name, {}).get("unit", "") or "1"),
                "showSymbol": False,
                # Draw at most about one point per pixel column; every sample is kept for zooming.
                "sampling": "lttb",
                "data": [],
                "markLine": {"silent": True, "symbol": "none", "data": limit_lines(specs.get(name, {}))},
            }
            for name in channels
        ],
    }


class LivePlot:
    """One chart of one or more channels, fed from the console's feed."""

    def __init__(self, ctx: ConsoleContext, channels: list[str], on_remove: Any, window_s: float | None = None) -> None:
        self.ctx = ctx
        self.channels = list(channels)
        self.window_s = ctx.settings.plot_window_s if window_s is None else window_s
        self.paused = False
        self.cursors: dict[str, int] = {}
        self.backlog: dict[int, list[list[float]]] = {}
        self.sent = 0
        self._rate_mark = (ctx.clock.monotonic(), 0)
        dictionary = ctx.dictionary
        specs = {name: dictionary.channel(name) if dictionary is not None else {} for name in self.channels}
        for index, name in enumerate(self.channels):
            points, self.cursors[name] = ctx.feed.recent(name, self.window_s)
            self.backlog[index] = _points(points)
        with ui.card().classes("w-full") as self.card:
            with ui.row().classes("items-center w-full"):
                ui.label(", ".join(self.channels)).classes("font-bold")
                ui.space()
                self.rate_label = ui.label("0 updates/s").classes("text-sm font-mono").mark("plot-rate")
                self.pause_button = ui.button("Pause", on_click=self.toggle).props("flat dense").mark("plot-pause")
                ui.button(icon="close", on_click=lambda: on_remove(self)).props("flat dense round")
            self.chart = ui.echart(chart_options(self.channels, specs)).classes("w-full h-72").mark("plot")

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
        return {"s": series, "w": self.window_s * 1000.0, "n": settings.max_plot_points}

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


def view(ctx: ConsoleContext, requested: list[list[str]], window: str | None = None) -> None:
    """Draw the plots page with the plots ``requested`` (each a list of channel names) open, showing the
    last ``window`` (a label of :data:`WINDOWS`; default the console's plot window)."""
    frame(ctx, "Plots")
    try:
        chosen = window_seconds(window) if window else ctx.settings.plot_window_s
    except ValueError as exc:
        ui.notify(str(exc), type="warning")
        chosen = ctx.settings.plot_window_s
    window_s = ALL_S if chosen is None else chosen
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
            plots.append(LivePlot(ctx, wanted, remove, window_s))

    with ui.row().classes("items-center w-full"):
        picker = ui.select(available, multiple=True, with_input=True, label="channels").classes("w-96")
        picker.props("use-chips").mark("plot-channels")
        ui.button("Add plot", on_click=lambda: add(list(picker.value or []))).mark("plot-add")
        ui.space()
        current = next((name for name, seconds in WINDOWS if (seconds or ALL_S) == window_s), None)
        with ui.button_group().mark("plot-windows"):
            for name, _seconds in WINDOWS:
                target = plots_url(requested, name)
                button = ui.button(name, on_click=lambda t=target: ui.navigate.to(t)).props("dense")
                button.props("unelevated color=primary" if name == current else "outline").mark(f"window-{name}")
        ui.button("Same range in archive", on_click=lambda: ui.navigate.to(archive_url(ctx, requested, window_s)))
    ui.label(
        "Times are flight time (the rover's clock) in UTC, the date under each time. Under warp they run ahead of "
        "the ground's wall clock; under light time the newest sample is that much old. One y axis per unit."
    ).classes("text-xs text-gray-600").mark("time-note")
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


def plots_url(requested: list[list[str]], window: str) -> str:
    """The plots page with the same plots and window ``window``."""
    query = [("c", ",".join(channels)) for channels in requested] + [("w", window)]
    return "/plots?" + urlencode(query)


def archive_url(ctx: ConsoleContext, requested: list[list[str]], window_s: float) -> str:
    """The archive page with the plotted channels and the range the plots show: the window before the
    newest sample the feed holds (flight time, not the wall clock: under warp they differ)."""
    channels = [name for group in requested for name in group]
    newest = max(
        (ctx.feed.recent(name, 0.0)[0][-1][0] for name in channels if ctx.feed.recent(name, 0.0)[0]), default=None
    )
    end = ctx.clock.now() if newest is None else newest
    start = end - window_s if window_s < ALL_S else ctx.feed.oldest(channels, end)
    query = [("c", ",".join(channels)), ("from", f"{start:.3f}"), ("to", f"{end + 1.0:.3f}")]
    return "/archive?" + urlencode(query)
