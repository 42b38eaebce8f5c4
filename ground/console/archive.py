"""Archive history: pick channels and a time range (UTC), plot what the archive holds, export it as CSV."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nicegui import ui

from ground.console.context import ConsoleContext
from ground.console.layout import frame
from ground.console.plots import NUMERIC_TYPES
from ground.errors import GroundError

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: Default range: the last ten minutes.
DEFAULT_SPAN_S = 600.0


def parse_time(text: str, what: str) -> float:
    """Epoch seconds of ``text`` written ``YYYY-MM-DD HH:MM:SS`` (UTC); ValueError names ``what``."""
    try:
        return datetime.strptime(text.strip(), TIME_FORMAT).replace(tzinfo=UTC).timestamp()
    except (ValueError, AttributeError):
        raise ValueError(f"{what}: expected a UTC time like 2030-01-01 12:00:00, found {text!r}") from None


def format_time(t: float) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (UTC) of epoch seconds ``t``."""
    return datetime.fromtimestamp(t, UTC).strftime(TIME_FORMAT)


def history_options(series: dict[str, list[tuple[float, Any]]]) -> dict[str, Any]:
    """ECharts options of a static plot of archived ``series`` (channel -> [(t, value)])."""
    return {
        "animation": False,
        "legend": {"top": 0},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "time"},
        "yAxis": {"type": "value", "scale": True},
        "dataZoom": [{"type": "inside"}, {"type": "slider", "height": 20, "bottom": 5}],
        "series": [
            {
                "name": name,
                "type": "line",
                "showSymbol": False,
                "data": [[t * 1000.0, float(v)] for t, v in points if isinstance(v, int | float)],
            }
            for name, points in series.items()
        ],
    }


def view(ctx: ConsoleContext, channels: list[str] | None = None) -> None:
    """Draw the archive page with ``channels`` picked (those the dictionary has)."""
    frame(ctx, "Archive")
    dictionary = ctx.dictionary
    names = [c["name"] for c in dictionary.channels() if c.get("type", "float") in NUMERIC_TYPES] if dictionary else []
    now = ctx.clock.now()
    with ui.row().classes("items-center"):
        chosen = [name for name in channels or [] if name in names]
        picker = ui.select(names, multiple=True, with_input=True, label="channels", value=chosen).classes("w-96")
        picker.props("use-chips").mark("archive-channels")
        start = ui.input("from (UTC)", value=format_time(now - DEFAULT_SPAN_S)).mark("archive-from")
        end = ui.input("to (UTC)", value=format_time(now + 60.0)).mark("archive-to")
        ui.button("Plot", on_click=lambda: plot()).mark("archive-plot")
        ui.button("Export CSV", on_click=lambda: export()).mark("archive-export")
    summary = ui.label("").classes("text-sm").mark("archive-summary")
    chart = ui.echart(history_options({})).classes("w-full h-96").mark("archive-chart")

    def selection() -> tuple[list[str], float, float] | None:
        channels = list(picker.value or [])
        if not channels:
            ui.notify("pick at least one channel", type="warning")
            return None
        try:
            t0, t1 = parse_time(start.value, "from"), parse_time(end.value, "to")
        except ValueError as exc:
            ui.notify(str(exc), type="negative")
            return None
        if t1 <= t0:
            ui.notify("the range is empty: 'to' must be after 'from'", type="negative")
            return None
        return channels, t0, t1

    def plot() -> None:
        chosen = selection()
        if chosen is None:
            return
        channels, t0, t1 = chosen
        try:
            series = {name: ctx.core.history(name, t0, t1) for name in channels}
        except GroundError as exc:
            ui.notify(f"archive: {exc}", type="negative")
            return
        chart.options.clear()
        chart.options.update(history_options(series))
        chart.update()
        summary.set_text(", ".join(f"{name}: {len(points)} samples" for name, points in series.items()))

    def export() -> None:
        chosen = selection()
        if chosen is None:
            return
        channels, t0, t1 = chosen
        path = ctx.export_dir() / f"isru_{int(t0)}_{int(t1)}.csv"
        try:
            count = ctx.core.export_csv(channels, t0, t1, path)
        except GroundError as exc:
            ui.notify(f"export failed: {exc}", type="negative")
            return
        summary.set_text(f"exported {count} rows to {path.name}")
        ui.download.file(path)
