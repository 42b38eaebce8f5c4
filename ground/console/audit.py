"""Audit: who sent, acknowledged, shelved or changed what, and when — the hub's audit trail, newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nicegui import ui

from ground.console.context import ConsoleContext
from ground.console.layout import frame

COLUMNS = [
    {"name": "time", "label": "Time (UTC)", "field": "time", "align": "left"},
    {"name": "rover", "label": "Rover", "field": "rover", "align": "left"},
    {"name": "user", "label": "User", "field": "user", "align": "left"},
    {"name": "role", "label": "Role", "field": "role", "align": "left"},
    {"name": "action", "label": "Action", "field": "action", "align": "left"},
    {"name": "target", "label": "Target", "field": "target", "align": "left"},
    {"name": "detail", "label": "Detail", "field": "detail", "align": "left"},
]
#: Rows shown (the archive keeps all of them).
SHOWN = 500


def rows(ctx: ConsoleContext) -> list[dict[str, Any]]:
    """The newest audit rows as table rows (none when the console has no audit trail)."""
    audit = None if ctx.auth is None else ctx.auth.audit
    if audit is None:
        return []
    return [
        {
            "id": index,
            "time": datetime.fromtimestamp(entry.t, UTC).strftime("%Y-%m-%d %H:%M:%S"),
            **{k: v for k, v in entry.as_dict().items() if k != "t"},
        }
        for index, entry in enumerate(audit.entries(limit=SHOWN))
    ]


def view(ctx: ConsoleContext) -> None:
    """The Audit page: a table that redraws when a row is added."""
    frame(ctx, "Audit")
    with ui.column().classes("w-full p-4"):
        if ctx.auth is None or ctx.auth.audit is None:
            ui.label("no audit trail: this console does not log people in")
        table = ui.table(columns=COLUMNS, rows=rows(ctx), row_key="id", pagination=50).classes("w-full").mark("audit")
    seen = [ctx.feed.revision("audit")]

    def refresh() -> None:
        revision = ctx.feed.revision("audit")
        if revision != seen[0]:
            seen[0] = revision
            table.rows = rows(ctx)
            table.update()

    ui.timer(ctx.settings.refresh_period_s, refresh)
