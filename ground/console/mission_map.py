"""The mission map: the candidate sites (with their rank from prospecting, the water the probe measured and
the water extracted there), the holes drilled (where each extraction record was signed), the rover's track
and its pose with heading, in the odometry frame (x east, y north, metres), drawn as SVG.

Everything comes from what ground already holds: the sites from the dictionary, probe scores from the
``mission.probe`` events, holes and water from the signed extraction records (``ledger.extraction_record``
events), the track from the archived ``drive.x_m``/``drive.y_m``, the pose from the latest values.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from nicegui import ui

from ground.console.context import ConsoleContext
from ground.console.layout import frame

#: Channels of the rover's position (m) and heading (rad) in the odometry frame.
X_CHANNEL, Y_CHANNEL, HEADING_CHANNEL = "drive.x_m", "drive.y_m", "drive.heading_rad"
#: Track points drawn at most (the archived track is thinned evenly).
MAX_TRACK_POINTS = 1500
#: Columns of the site table: (field, title).
SITE_COLUMNS = (("index", "Site"), ("rank", "Rank"), ("ice", "Probe ice"), ("water", "Water (kg)"), ("holes", "Holes"))
#: Drawing size (px) and margin around the data (px).
WIDTH, HEIGHT, MARGIN = 720, 480, 40


@dataclass
class Site:
    """A candidate site and what is known of it."""

    index: int
    x_m: float
    y_m: float
    rank: int | None = None
    ice: float | None = None
    score: float | None = None
    water_kg: float = 0.0
    holes: list[tuple[float, float]] = field(default_factory=list)


def sites_from(
    dictionary_sites: list[dict[str, Any]], probes: list[dict[str, Any]], records: list[dict[str, Any]]
) -> list[Site]:
    """Sites from the dictionary, ranked by the probe events' ``kg_per_kWh`` (1 = best), with the water of
    the extraction records (dicts with ``site``, ``pose``, ``water_kg``) and their holes."""
    sites = {int(s["index"]): Site(int(s["index"]), float(s["x_m"]), float(s["y_m"])) for s in dictionary_sites}
    for event in probes:
        data = event.get("data") or {}
        site = sites.get(int(data.get("site", -1)))
        if site is not None:
            site.ice = _number(data.get("ice"))
            site.score = _number(data.get("kg_per_kWh"))
    scored = sorted((s for s in sites.values() if s.score is not None), key=lambda s: -(s.score or 0.0))
    for rank, site in enumerate(scored, start=1):
        site.rank = rank
    for record in records:
        site = sites.get(int(record.get("site", -1)))
        if site is None:
            continue
        site.water_kg += float(record.get("water_kg") or 0.0)
        pose = record.get("pose") or []
        if len(pose) >= 2:
            site.holes.append((float(pose[0]), float(pose[1])))
    return [sites[i] for i in sorted(sites)]


def records_from(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The signed fields of ``ledger.extraction_record`` events (unreadable ones are skipped)."""
    out = []
    for event in events:
        leaf = (event.get("data") or {}).get("leaf")
        try:
            record = json.loads(leaf) if isinstance(leaf, str) else None
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record.get("fields", record) if isinstance(record.get("fields"), dict) else record)
    return out


def thin(points: list[tuple[float, float]], limit: int = MAX_TRACK_POINTS) -> list[tuple[float, float]]:
    """At most ``limit`` of ``points``, evenly spaced, the last one kept."""
    if len(points) <= limit:
        return points
    step = len(points) / (limit - 1)
    return [points[int(i * step)] for i in range(limit - 1)] + [points[-1]]


def map_svg(sites: list[Site], track: list[tuple[float, float]], pose: tuple[float, float, float] | None) -> str:
    """The map as an SVG document: track (blue line), sites (circles labelled with index, rank, water),
    holes (small black dots), the rover (red triangle pointing along its heading), a scale in metres."""
    xs = [s.x_m for s in sites] + [p[0] for p in track] + ([pose[0]] if pose else [])
    ys = [s.y_m for s in sites] + [p[1] for p in track] + ([pose[1]] if pose else [])
    if not xs:
        xs, ys = [0.0], [0.0]
    x0, x1, y0, y1 = min(xs) - 1.0, max(xs) + 1.0, min(ys) - 1.0, max(ys) + 1.0
    scale = min((WIDTH - 2 * MARGIN) / (x1 - x0), (HEIGHT - 2 * MARGIN) / (y1 - y0))

    def px(x: float, y: float) -> tuple[float, float]:
        return MARGIN + (x - x0) * scale, HEIGHT - MARGIN - (y - y0) * scale

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" data-testid="mission-map" style="background:#f8fafc">'
    ]
    if len(track) > 1:
        path = " ".join(f"{a:.1f},{b:.1f}" for a, b in (px(x, y) for x, y in track))
        parts.append(f'<polyline points="{path}" fill="none" stroke="#2563eb" stroke-width="2" class="track"/>')
    for site in sites:
        cx, cy = px(site.x_m, site.y_m)
        best = site.rank == 1
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="12" fill="{"#16a34a" if best else "#cbd5e1"}" '
            f'stroke="#334155" class="site" data-site="{site.index}"/>'
        )
        label = f"site {site.index}"
        if site.rank is not None:
            label += f" · rank {site.rank}"
        if site.ice is not None:
            label += f" · ice {site.ice:.3f}"
        if site.water_kg:
            label += f" · {site.water_kg:.3f} kg water"
        parts.append(f'<text x="{cx + 15:.1f}" y="{cy - 12:.1f}" font-size="12" fill="#0f172a">{label}</text>')
        for hx, hy in site.holes:
            a, b = px(hx, hy)
            parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="#0f172a" class="hole"/>')
    if pose is not None:
        cx, cy = px(pose[0], pose[1])
        heading = pose[2]
        tip = (cx + 14 * math.cos(heading), cy - 14 * math.sin(heading))
        left = (cx + 8 * math.cos(heading + 2.5), cy - 8 * math.sin(heading + 2.5))
        right = (cx + 8 * math.cos(heading - 2.5), cy - 8 * math.sin(heading - 2.5))
        corners = " ".join(f"{a:.1f},{b:.1f}" for a, b in (tip, left, right))
        parts.append(f'<polygon points="{corners}" fill="#dc2626" stroke="#7f1d1d" class="rover"/>')
    bar_m = _nice(80 / scale)
    parts.append(
        f'<line x1="{MARGIN}" y1="{HEIGHT - 12}" x2="{MARGIN + bar_m * scale:.1f}" y2="{HEIGHT - 12}" '
        f'stroke="#0f172a" stroke-width="3"/><text x="{MARGIN}" y="{HEIGHT - 18}" font-size="11">{bar_m:g} m</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _nice(length: float) -> float:
    """A round length (1, 2 or 5 times a power of ten) close to ``length``."""
    power = 10 ** math.floor(math.log10(max(length, 1e-6)))
    return min((1, 2, 5, 10), key=lambda m: abs(m * power - length)) * power


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def gather(ctx: ConsoleContext) -> tuple[list[Site], list[tuple[float, float]], tuple[float, float, float] | None]:
    """Sites, track and pose from the console's core (dictionary, archive, latest values)."""
    core = ctx.core
    dictionary = ctx.dictionary
    archive = core.archive
    probes = [e for e in archive.events(text="probe", limit=500) if e.get("name") == "probe"]
    records = records_from([e for e in archive.events(text="extraction", limit=1000) if e.get("source") == "ledger"])
    sites = sites_from(dictionary.sites if dictionary is not None else [], probes, records)
    now = max((t for _v, t in core.latest.values()), default=ctx.clock.now())
    xs, ys = core.history(X_CHANNEL, 0.0, now + 1.0), core.history(Y_CHANNEL, 0.0, now + 1.0)
    track = thin([(float(x), float(y)) for (_t, x), (_u, y) in zip(xs, ys, strict=False)])
    latest = core.latest
    pose = None
    if X_CHANNEL in latest and Y_CHANNEL in latest:
        heading = latest.get(HEADING_CHANNEL, (0.0, 0.0))[0]
        pose = (float(latest[X_CHANNEL][0]), float(latest[Y_CHANNEL][0]), float(heading or 0.0))
    return sites, track, pose


def view(ctx: ConsoleContext) -> None:
    """Draw the mission map page (redrawn every 2 s)."""
    frame(ctx, "Map")
    ui.label("Odometry frame: x east, y north, metres. Green: the best-ranked site; dots: holes; red: the rover.")
    drawing = ui.html("").mark("map")
    table = (
        ui.table(
            columns=[{"name": k, "label": label, "field": k, "align": "left"} for k, label in SITE_COLUMNS],
            rows=[],
            row_key="index",
        )
        .props("dense")
        .mark("map-sites")
    )

    def refresh() -> None:
        sites, track, pose = gather(ctx)
        drawing.set_content(map_svg(sites, track, pose))
        table.rows = [
            {
                "index": s.index,
                "rank": s.rank if s.rank is not None else "—",
                "ice": f"{s.ice:.4f}" if s.ice is not None else "—",
                "water": f"{s.water_kg:.3f}",
                "holes": len(s.holes),
            }
            for s in sites
        ]

    refresh()
    ui.timer(2.0, refresh)
