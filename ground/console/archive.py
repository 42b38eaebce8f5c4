"""Archive history: pick channels and a time range (UTC, flight time), plot what the archive holds (an axis
per unit, limit lines, dated UTC time axis, as the live plots), export it as CSV.

The range comes from the page's ``from``/``to`` (epoch seconds, as the plots' "Same range in archive" link
gives them); by default it is the ten minutes up to the newest sample of the picked channels, in flight time,
so a simulation under warp (whose flight time runs ahead of the wall clock) still shows its newest data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nicegui import ui

from ground.console.context import ConsoleContext
from ground.console.layout import frame
from ground.console.plots import NUMERIC_TYPES, chart_options
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


def history_options(series: dict[str, list[tuple[float, Any]]], specs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """ECharts options of a static plot of archived ``series`` (channel -> [(t, value)]; ``specs``: their
    dictionary entries): the live plots' axes and limit lines, with the data filled in."""
    options = chart_options(list(series), specs)
    for index, points in enumerate(series.values()):
        options["series"][index]["data"] = [
            [t * 1000.0, float(v)] for t, v in points if isinstance(v, int | float) and not isinstance(v, str)
        ]
    return options


def default_range(ctx: ConsoleContext, channels: list[str]) -> tuple[float, float]:
    """The :data:`DEFAULT_SPAN_S` up to the newest sample of ``channels`` the console holds (flight time),
    or up to the clock's now when it holds none."""
    newest = [points[-1][0] for name in channels if (points := ctx.feed.recent(name, 0.0)[0])]
    end = max(newest) if newest else max((t for _v, t in ctx.core.latest.values()), default=ctx.clock.now())
    return end - DEFAULT_SPAN_S, end + 1.0


def view(
    ctx: ConsoleContext, channels: list[str] | None = None, span: tuple[str | None, str | None] = (None, None)
) -> None:
    """Draw the archive page with ``channels`` picked (those the dictionary has) and the range ``span``
    (epoch seconds as text, from the query; the default range where missing or unreadable)."""
    frame(ctx, "Archive")
    dictionary = ctx.dictionary
    names = [c["name"] for c in dictionary.channels() if c.get("type", "float") in NUMERIC_TYPES] if dictionary else []
    chosen = [name for name in channels or [] if name in names]
    t_from, t_to = default_range(ctx, chosen)
    try:
        t_from = float(span[0]) if span[0] else t_from
        t_to = float(span[1]) if span[1] else t_to
    except ValueError:
        ui.notify(f"archive: from/to must be epoch seconds, found {span!r}; showing the default range", type="warning")
    with ui.row().classes("items-center"):
        picker = ui.select(names, multiple=True, with_input=True, label="channels", value=chosen).classes("w-96")
        picker.props("use-chips").mark("archive-channels")
        start = ui.input("from (UTC, flight time)", value=format_time(t_from)).mark("archive-from")
        end = ui.input("to (UTC, flight time)", value=format_time(t_to)).mark("archive-to")
        ui.button("Plot", on_click=lambda: plot()).mark("archive-plot")
        ui.button("Export CSV", on_click=lambda: export()).mark("archive-export")
    summary = ui.label("").classes("text-sm").mark("archive-summary")
    chart = ui.echart(history_options({}, {})).classes("w-full h-96").mark("archive-chart")

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
        specs = {name: ctx.dictionary.channel(name) for name in channels} if ctx.dictionary is not None else {}
        chart.options.clear()
        chart.options.update(history_options(series, specs))
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
