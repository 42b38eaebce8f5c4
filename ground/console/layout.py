"""The frame around every view: navigation, role, link status and the E-STOP button."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ground.console.context import ConsoleContext
from ground.errors import GroundError

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


def link_text(link: Any) -> str:
    """One-line link status: state, round-trip time (ms), spool depth at flight, sequence gaps."""
    if link is None:
        return "link: none (archive only)"
    state = getattr(link, "state", "?")
    rtt = getattr(link, "rtt_s", None)
    rtt_text = "-" if rtt is None else f"{rtt * 1000.0:.0f} ms"
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
            for path, name in VIEWS:
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

    def refresh() -> None:
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
