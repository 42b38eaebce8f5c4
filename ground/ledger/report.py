"""The period's extraction report: what, where, when and how much, each record with the checkpoint it is
anchored in (the first checkpoint whose size covers it), as CSV and as a readable HTML page."""

from __future__ import annotations

import csv
import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ground.errors import LedgerError
from ground.ledger.bundle import BundleReport

__all__ = ["COLUMNS", "report_rows", "write_csv", "write_html"]

COLUMNS = (
    "index",
    "rover",
    "licence",
    "cycle",
    "site",
    "x_m",
    "y_m",
    "start_utc",
    "end_utc",
    "regolith_kg",
    "water_kg",
    "energy_Wh",
    "evidence_sha256",
    "checkpoint_size",
    "checkpoint_root",
)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def report_rows(verified: BundleReport, anchors: dict[int, str], t0: float, t1: float) -> list[dict[str, Any]]:
    """The verified records that ended in ``[t0, t1]`` (epoch s) as report rows; ``anchors``: size → root (base64)."""
    sizes = sorted(anchors)
    rows = []
    for index, record in enumerate(verified.entries):
        if not record or not t0 <= float(record["end_t"]) <= t1:
            continue
        anchor = next((s for s in sizes if s > index), None)
        if anchor is None:
            raise LedgerError(f"record {index + 1}: no checkpoint covers it")
        pose = [*record["pose"], None, None]
        rows.append(
            {
                "index": index,
                "rover": record["rover"],
                "licence": record["licence"],
                "cycle": record["cycle"],
                "site": record["site"],
                "x_m": pose[0],
                "y_m": pose[1],
                "start_utc": _iso(record["start_t"]),
                "end_utc": _iso(record["end_t"]),
                "regolith_kg": record["regolith_kg"],
                "water_kg": record["water_kg"],
                "energy_Wh": record["energy_Wh"],
                "evidence_sha256": record["evidence_sha256"],
                "checkpoint_size": anchor,
                "checkpoint_root": anchors[anchor],
            }
        )
    return rows


def write_csv(rows: list[dict[str, Any]], path: str | Path) -> None:
    """The rows as CSV with a header line."""
    try:
        with Path(path).open("w", newline="") as out:
            writer = csv.DictWriter(out, COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    except OSError as exc:
        raise LedgerError(f"{path}: cannot write the report: {exc}") from exc


def write_html(rows: list[dict[str, Any]], path: str | Path, title: str) -> None:
    """The rows as a self-contained HTML page with totals."""
    water = sum(float(r["water_kg"]) for r in rows)
    regolith = sum(float(r["regolith_kg"]) for r in rows)
    energy = sum(float(r["energy_Wh"]) for r in rows)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(r[c]))}</td>" for c in COLUMNS) + "</tr>\n" for r in rows)
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #999;padding:2px 6px}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>{len(rows)} extraction(s): {water:.3f} kg water from {regolith:.2f} kg regolith, {energy:.0f} Wh. "
        "Every record was verified against the rover's key and is anchored in the signed checkpoint named in "
        "its row.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table></body></html>\n"
    )
    try:
        Path(path).write_text(page)
    except OSError as exc:
        raise LedgerError(f"{path}: cannot write the report: {exc}") from exc


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)
