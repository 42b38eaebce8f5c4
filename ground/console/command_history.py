"""Command history: every command the core knows of, newest first: when it was sent (date and time, UTC),
its arguments (for a command another client or a sequence sent, as flight's acceptance states them), its
stage, flight's reason and message, and each verification stage."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nicegui import ui

from ground.console.command_text import args_text, message_text
from ground.console.context import ConsoleContext
from ground.console.layout import frame

#: Commands shown (newest).
SHOWN = 200

COLUMNS: list[dict[str, Any]] = [
    {"name": "time", "label": "Sent (UTC)", "field": "time", "align": "left", "sortable": True},
    {"name": "name", "label": "Command", "field": "name", "align": "left"},
    {"name": "args", "label": "Arguments", "field": "args", "align": "left"},
    {"name": "source", "label": "Source", "field": "source", "align": "left"},
    {"name": "stage", "label": "Stage", "field": "stage", "align": "left"},
    {"name": "reason", "label": "Reason", "field": "reason", "align": "left"},
    {"name": "message", "label": "Message", "field": "message", "align": "left"},
    {"name": "stages", "label": "Stages", "field": "stages", "align": "left"},
    {"name": "id", "label": "Id", "field": "id", "align": "left"},
]

_STAGE_SLOT = (
    '<q-td :props="props" :data-stage="props.value" '
    ":class=\"{'text-green-700': props.value == 'completed', 'text-red-700': props.value == 'failed'}\">"
    "{{ props.value }}</q-td>"
)


def clock_text(t: float | None, dated: bool = False) -> str:
    """``HH:MM:SS.s`` UTC of epoch seconds ``t`` ('' for None); ``dated``: ``YYYY-MM-DD HH:MM:SS.s``."""
    if t is None:
        return ""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f" if dated else "%H:%M:%S.%f")[:-5]


def rows(ctx: ConsoleContext) -> list[dict[str, Any]]:
    """Table rows, newest command first."""
    out = []
    for record in reversed(ctx.core.commands.records(SHOWN)):
        data = record.as_dict()
        stages = data["stages"]
        first_t = data["sent_t"] if data["sent_t"] is not None else (stages[0]["t"] if stages else None)
        out.append(
            {
                "id": data["id"],
                "time": clock_text(first_t, dated=True),
                "name": data["name"],
                "args": args_text(data),
                "source": data["source"],
                "stage": data["stage"],
                "reason": data["reason"],
                "message": message_text(data),
                "stages": " → ".join(_stage_text(s, first_t) for s in stages),
            }
        )
    return out


def _stage_text(status: dict[str, Any], t0: float | None) -> str:
    text = status["stage"]
    if status.get("progress") is not None and status["stage"] == "progress":
        text += f" {status['progress'] * 100:.0f}%"
    if t0 is not None and status.get("t"):
        text += f" +{max(0.0, status['t'] - t0):.2f}s"
    if status.get("reason"):
        text += f" ({status['reason']})"
    return text


def view(ctx: ConsoleContext) -> None:
    """Draw the command history page."""
    frame(ctx, "Command history")
    table = ui.table(columns=COLUMNS, rows=rows(ctx), row_key="id", pagination=50).classes("w-full")
    table.props("dense wrap-cells").mark("command-history")
    table.add_slot("body-cell-stage", _STAGE_SLOT)
    seen = {"revision": ctx.feed.revision("command")}

    def refresh() -> None:
        revision = ctx.feed.revision("command")
        if revision != seen["revision"]:
            seen["revision"] = revision
            table.rows = rows(ctx)

    ui.timer(ctx.settings.refresh_period_s, refresh)
