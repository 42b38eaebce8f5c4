"""Ledger: the resource ledger for operators and observers (partners) — every extraction record with its
signature and inclusion-proof status, the checkpoint history with each checkpoint's verified witnesses, and
for a partner's console started with a witness key a button that cosigns the newest checkpoint after checking
it against the records (docs/ledger.md). Everything shown is verified here with public keys."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from ground.console.command_history import clock_text
from ground.console.context import ConsoleContext
from ground.console.layout import frame
from ground.errors import LedgerError

RECORD_COLUMNS = [
    {"name": "index", "label": "#", "field": "index", "align": "right"},
    {"name": "cycle", "label": "Cycle", "field": "cycle", "align": "right"},
    {"name": "site", "label": "Site", "field": "site", "align": "right"},
    {"name": "end", "label": "Ended (UTC)", "field": "end", "align": "left"},
    {"name": "water_kg", "label": "Water kg", "field": "water_kg", "align": "right"},
    {"name": "regolith_kg", "label": "Regolith kg", "field": "regolith_kg", "align": "right"},
    {"name": "energy_Wh", "label": "Energy Wh", "field": "energy_Wh", "align": "right"},
    {"name": "signature", "label": "Signature", "field": "signature", "align": "left"},
    {"name": "proof", "label": "Proof", "field": "proof", "align": "left"},
]
CHECKPOINT_COLUMNS = [
    {"name": "size", "label": "Size", "field": "size", "align": "right"},
    {"name": "root", "label": "Root", "field": "root", "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "align": "left"},
    {"name": "witnesses", "label": "Witnesses", "field": "witnesses", "align": "left"},
]


def record_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table rows of the reader's records (end time as UTC clock text)."""
    return [{**r, "key": str(r["index"]), "end": clock_text(r.get("end_t"))} for r in records]


def view(ctx: ConsoleContext) -> None:
    """Draw the Ledger page."""
    frame(ctx, "Ledger")
    reader = ctx.ledger
    if reader is None:
        ui.label(
            "No ledger log: start the console with --ledger FILE (the hub's log) and the ledger keys in --keys"
        ).mark("ledger-missing")
        return
    status = ui.label("").mark("ledger-status")
    if ctx.witness is not None:
        ui.button(f"Cosign the newest checkpoint as {ctx.witness.signer.name}", on_click=lambda: cosign()).mark(
            "ledger-cosign"
        )
    ui.label("Checkpoints").classes("text-lg")
    heads = ui.table(columns=CHECKPOINT_COLUMNS, rows=[], row_key="size", pagination=10).classes("w-full")
    heads.props("dense").mark("ledger-checkpoints")
    ui.label("Records").classes("text-lg")
    records = ui.table(columns=RECORD_COLUMNS, rows=[], row_key="key", pagination=50).classes("w-full")
    records.props("dense wrap-cells").mark("ledger-records")
    seen: dict[str, Any] = {"key": None}

    def refresh(force: bool = False) -> None:
        key = ctx.feed.revision("event")
        if key == seen["key"] and not force:
            return
        seen["key"] = key
        try:
            state = reader.state()
        except LedgerError as exc:
            status.set_text(str(exc))
            return
        heads.rows = [{k: v for k, v in h.items() if k != "ok"} for h in state.checkpoints]
        records.rows = record_rows(state.records)
        bad = sum(1 for r in state.records if r["signature"].startswith("BAD") or r["proof"].startswith("NOT"))
        bad += sum(1 for h in state.checkpoints if not h["ok"])
        status.set_text(
            f"{len(state.records)} record(s), {len(state.checkpoints)} checkpoint(s); "
            + ("everything verifies" if not bad else f"{bad} problem(s)")
        )

    def cosign() -> None:
        assert ctx.witness is not None
        try:
            size = reader.cosign_latest(ctx.witness, int(ctx.clock.now()))
        except LedgerError as exc:
            ui.notify(f"not cosigned: {exc}", type="negative")
            return
        ui.notify(f"checkpoint {size} cosigned by {ctx.witness.signer.name}", type="positive")
        refresh(True)

    refresh(True)
    ui.timer(ctx.settings.refresh_period_s, refresh)
