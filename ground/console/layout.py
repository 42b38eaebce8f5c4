"""The frame around every view: navigation, role, link status, the E-STOP button, and the banner of
conditions never to miss (:mod:`ground.console.banner`: SAFE, E-STOP latched, loss of signal)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from nicegui import ui

from ground.console import banner
from ground.console.context import ConsoleContext
from ground.errors import GroundError

#: Values on screen (elements with class ``isru-value``) are greyed while the link is down: they are stale.
STALE_CSS = "body.link-down .isru-value { opacity: 0.45; filter: grayscale(1); font-style: italic; }"

#: The views, in menu order: (path, title).
VIEWS = (
    ("/", "Overview"),
    ("/plots", "Plots"),
    ("/telemetry", "Telemetry"),
    ("/commands", "Commands"),
    ("/history", "Command history"),
    ("/events", "Events"),
    ("/alarms", "Alarms"),
    ("/sequences", "Sequences"),
    ("/archive", "Archive"),
    ("/ledger", "Ledger"),
    ("/audit", "Audit"),
)


#: Views added by other modules (:func:`add_views`): (path, title, test of the dictionary or None).
EXTRA_VIEWS: list[tuple[str, str, Callable[[Any], bool] | None]] = []


def add_views(views: Iterable[tuple[str, str, Callable[[Any], bool] | None]]) -> None:
    """Add menu entries after the core views; an entry with a test shows only when the test of the flight
    dictionary is true (rehearsal: a simulated rover). Adding the same path again is ignored."""
    known = {path for path, _name, _test in EXTRA_VIEWS}
    EXTRA_VIEWS.extend(view for view in views if view[0] not in known)


def menu(ctx: ConsoleContext) -> list[tuple[str, str]]:
    """The menu: the core views, then the added views the flight dictionary offers."""
    extra = [(path, name) for path, name, test in EXTRA_VIEWS if test is None or test(ctx.dictionary)]
    return list(VIEWS) + extra


def link_text(link: Any) -> str:
    """One-line link status: state, round-trip time (ms), spool depth at flight, sequence gaps."""
    if link is None:
        return "link: none (archive only)"
    state = getattr(link, "state", "?")
    rtt = getattr(link, "rtt_s", None)
    rtt_text = "unknown" if rtt is None or banner.link_down(link) else f"{rtt * 1000.0:.0f} ms"
    spool = getattr(link, "spool_depth", 0)
    gaps = getattr(link, "gaps", 0)
    gap_count = len(gaps) if isinstance(gaps, list | tuple) else gaps
    return f"link {state} · RTT {rtt_text} · spool {spool} · gaps {gap_count}"


def estop(ctx: ConsoleContext) -> None:
    """Send the emergency stop through the core and tell the operator what happened."""
    try:
        record = ctx.core.estop()
    except GroundError as exc:
        ui.notify(f"E-STOP not sent: {exc}", type="negative")
        return
    ui.notify(f"E-STOP sent ({getattr(record, 'id', '')})", type="warning")


class RoleGate:
    """Controls that only an operator may use: enabled while the link role allows commanding (the role is
    unknown until flight welcomes the client, and the core refuses whatever the page shows)."""

    def __init__(self, ctx: ConsoleContext) -> None:
        self.ctx = ctx
        self.elements: list[Any] = []

    def add(self, element: Any) -> Any:
        """Gate ``element`` (returned, for chaining)."""
        element.set_enabled(self.ctx.can_command)
        self.elements.append(element)
        return element

    def refresh(self) -> None:
        """Enable or disable every gated control for the current role."""
        allowed = self.ctx.can_command
        self.elements = [e for e in self.elements if not e.is_deleted]
        for element in self.elements:
            if element.enabled != allowed:
                element.set_enabled(allowed)


def frame(ctx: ConsoleContext, title: str) -> RoleGate:
    """Draw the header of a view titled ``title``: menu, role, link, alarm count and E-STOP. Returns the
    page's :class:`RoleGate` (the E-STOP button is in it)."""
    gate = RoleGate(ctx)
    ui.page_title(f"isru · {title}")
    with ui.header().classes("items-center gap-4 bg-slate-800 py-1"):
        ui.label("isru").classes("text-lg font-bold")
        with ui.row().classes("gap-1"):
            for path, name in menu(ctx):
                link = ui.link(name, path).classes("text-white no-underline px-2 rounded")
                if name == title:
                    link.classes("bg-slate-600")
        ui.space()
        role = ui.badge("").classes("text-sm").mark("role")
        if ctx.auth is not None:
            from ground.console.auth import logout

            ui.button("Log out", on_click=lambda: logout(ctx.auth)).props("flat dense color=white").mark("logout")
        link_label = ui.label("").classes("text-sm").mark("link")
        alarm_badge = ui.badge("").props("color=red").mark("alarm-count")
        gate.add(
            ui.button("E-STOP", on_click=lambda: estop(ctx)).props("color=red push").classes("font-bold").mark("estop")
        )

    ui.add_css(STALE_CSS)
    banner_box = ui.column().classes("w-full gap-1").mark("banner")
    shown: dict[str, Any] = {"lines": None}

    def show_banner() -> None:
        lines = banner.conditions(ctx.core.latest, getattr(ctx.core, "link", None))
        if lines == shown["lines"]:
            return
        shown["lines"] = lines
        banner_box.clear()
        with banner_box:
            for line in lines:
                ui.label(line.text).classes(
                    f"w-full text-center text-xl font-bold py-2 {banner.KIND_CLASSES[line.kind]}"
                )
                ui.element().mark(f"banner-{line.kind}")
        if banner.link_down(getattr(ctx.core, "link", None)):
            ui.query("body").classes(add="link-down")
        else:
            ui.query("body").classes(remove="link-down")

    def refresh() -> None:
        show_banner()
        role.set_text(ctx.role_text())
        link_label.set_text(link_text(getattr(ctx.core, "link", None)))
        count = _unacknowledged(ctx)
        alarm_badge.set_text(f"{count} alarm{'s' if count != 1 else ''}")
        alarm_badge.set_visibility(count > 0)
        gate.refresh()

    refresh()
    ui.timer(ctx.settings.refresh_period_s, refresh)
    return gate


def _unacknowledged(ctx: ConsoleContext) -> int:
    alarms = getattr(ctx.core, "alarms", None)
    return 0 if alarms is None else len(alarms.unacknowledged())
