"""PROSPECT: drive to each candidate site, probe it with a shallow drill hole, rank the sites, travel to one."""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Mapping

from flight.errors import CommandRejected
from flight.mission.anchoring import anchor_out, try_anchor
from flight.mission.context import Activity, MissionContext, MissionFailure
from flight.mission.drilling import drill_out
from flight.mission.drilling import stalled as drill_stalled
from flight.mission.energy import ESTIMATES
from flight.mission.hole_pattern import hole_offset_m
from flight.mission.ladder import settle
from flight.mission.motion import require, wait
from flight.mission.navigation import Navigator
from flight.mission.siting import kg_per_kWh
from flight.mission.stow import stow_for_travel
from hal.icd import Completion
from hal.motion import Motion

#: Working time of a cycle at a site before any has been measured, s: the energy planner's estimates of the
#: extraction and processing steps.
CYCLE_WORK_S = sum(s for leaf, (_, s) in ESTIMATES.items() if leaf.startswith(("extract", "process")))
#: Probes of one site: a probe that stalls is drilled once more before the site is scored from what it reached.
PROBE_ATTEMPTS = 2
#: Clock seconds between a stalled probe and the next attempt.
PROBE_PAUSE_S = 60.0


class Prospect:
    """The prospecting phase's activities (leaves ``prospect_drive``, ``_probe``, ``_rank``, ``_travel``)."""

    def __init__(self, ctx: MissionContext, navigator: Navigator) -> None:
        self._ctx = ctx
        self._navigator = navigator

    def activities(self) -> Mapping[str, Callable[[], Activity]]:
        """Leaf name → activity."""
        return {
            "prospect_drive": self.drive,
            "prospect_probe": self.probe,
            "prospect_rank": self.rank,
            "prospect_travel": self.travel,
        }

    def drive(self) -> Activity:
        """Drive to the next candidate site."""
        progress = self._ctx.progress
        site = self._ctx.config.sites[progress.probe_index]
        yield from stow_for_travel(self._ctx)
        yield from self._navigator.drive_to(site.x_m, site.y_m)
        return "reached", f"at candidate site {progress.probe_index}"

    def probe(self) -> Activity:
        """Anchor, drill a shallow probe hole measuring the cutting work and the water the volatiles sensor
        sees, withdraw, and score the site (:func:`assess`). A site that cannot be anchored ranks last; a probe
        that stalls is drilled again once the drill has settled (``probe_stalled``), so that a stall near the
        top does not score the site by a few centimetres of its column."""
        ctx = self._ctx
        index = ctx.progress.probe_index  # counted as probed only once scored: an interrupted probe is redone
        anchored = yield from try_anchor(ctx)
        if not anchored:
            # A site the rover cannot anchor on cannot be drilled either: rank it last.
            yield from anchor_out(ctx)
            ctx.progress.scores[index] = -math.inf
            ctx.progress.probe_index = index + 1
            ctx.events.warning("mission", "probe", f"site {index}: cannot anchor; not workable")
            return "probed", f"site {index} not workable"
        if ctx.get("extractor.lid", 0) != 1:
            # probe cuttings are not a batch: with the lid shut they fall beside the collar
            yield from require(ctx, "extractor", "lid", sealed=1)
        standby_W = ctx.get("power.load_W", 0.0)  # the rover's own load with the drill idle
        for attempt in range(1, PROBE_ATTEMPTS + 1):
            measured = yield from self._probe_hole()
            samples, solar, energy_J, torque_max, stalled = measured
            seized = stalled and drill_stalled(ctx)  # the drill reports a stall, not a feed stopped otherwise
            mass_kg = ctx.get("drill.cuttings_kg")
            yield from drill_out(ctx)
            if stalled:
                ctx.io.rig.device("drill").clear_fault()
            if not seized or not ctx.io.anchored:  # an interlock's stop, a lost anchor: no second probe
                break
            reached = max((depth for depth, _ in samples), default=0.0)
            if attempt < PROBE_ATTEMPTS:
                # a stall near the top would score the site by a few centimetres of its column: probe again
                ctx.events.warning(
                    "mission",
                    "probe_stalled",
                    f"site {index}: the probe stalled at {reached:.2f} m; probing again in {PROBE_PAUSE_S:g} s",
                )
                yield from wait(ctx, PROBE_PAUSE_S)  # what seized the auger (a jammed clast, heat) may pass
                problems, _ = yield from settle(ctx, "prospect_probe")
                if problems:
                    raise MissionFailure(f"probe at site {index} stalled and {'; '.join(problems)}")
            else:
                ctx.events.warning(
                    "mission",
                    "probe_stalled",
                    f"site {index}: the probe stalled again at {reached:.2f} m; scored from what it reached",
                )
        yield from anchor_out(ctx)
        site_power = (median(solar), float(standby_W))
        ctx.progress.probes[index] = probe = assess(ctx, samples, energy_J, mass_kg, torque_max, site_power)
        score = ctx.progress.scores[index] = probe["kg_per_kWh"]
        ctx.progress.probe_index = index + 1
        ctx.events.info(
            "mission",
            "probe",
            f"site {index}: water {probe['ice']:.4f} (surface {probe['ice_top']:.4f}), "
            f"drilling {probe['drill_J_kg']:.0f} J/kg ({'cemented' if probe['cemented'] else 'loose'}), "
            f"peak torque {torque_max:.1f} N*m, {'stalled, ' if stalled else ''}"
            f"array {probe['solar_W']:.0f} W: expected {score:.4f} kg water per battery kWh",
            site=index,
            ice=probe["ice"],
            torque=torque_max,
            kg_per_kWh=score,
        )
        return "probed", f"site {index} probed"

    def _probe_hole(
        self,
    ) -> Generator[None, None, tuple[list[tuple[float, float]], list[float], float, float, bool]]:
        """Spin up and feed the probe to ``probe_depth_m``, measuring as it goes; returns the (depth m, sensed
        water fraction) samples, the array's input (W) samples, the cutting work at the bit (J), the peak
        torque (N m) and whether the feed stalled. The drill is left in the hole."""
        ctx = self._ctx
        cfg = ctx.config
        samples: list[tuple[float, float]] = []
        solar: list[float] = []
        energy_J = torque_max = 0.0
        ctx.io.command("drill", "spin", rpm=cfg.drill_rpm)
        yield from wait(ctx, 2.0)
        idle_torque = ctx.get("drill.torque_Nm")
        if drill_stalled(ctx):  # the auger seized spinning up: a stalled probe, not a feed the interlocks refuse
            return samples, solar, energy_J, torque_max, True
        try:
            feed = ctx.io.command("drill", "feed", depth_m=cfg.probe_depth_m, rate_m_s=cfg.feed_rate_m_s)
        except CommandRejected as exc:  # it seized between that look and the feed
            if exc.reason != "interlock:drill_stalled":
                raise
            return samples, solar, energy_J, torque_max, True
        last = ctx.now()
        while isinstance(feed, Motion) and not feed.done:
            yield
            now = ctx.now()
            torque = ctx.get("drill.torque_Nm")
            omega = ctx.get("drill.rpm") * math.tau / 60.0
            energy_J += max(0.0, torque - idle_torque) * omega * (now - last)  # cutting work at the bit
            last = now
            torque_max = max(torque_max, torque)
            samples.append((ctx.get("drill.depth_m"), ctx.get("drill.volatiles_ice_fraction")))
            solar.append(ctx.get("power.solar_W", 0.0))
        stalled = isinstance(feed, Motion) and feed.completion != Completion.OK
        return samples, solar, energy_J, torque_max, stalled

    def rank(self) -> Activity:
        """Choose the site with the best expected water per energy."""
        progress = self._ctx.progress
        ranked = sorted(progress.scores, key=lambda i: progress.scores[i], reverse=True)
        if not ranked or progress.scores[ranked[0]] == -math.inf:
            raise MissionFailure("no candidate site is workable (none could be anchored and drilled)")
        progress.site = ranked[0]
        progress.tried_sites = []
        yield
        return "ranked", f"best site {ranked[0]} (ranking {ranked})"

    def travel(self) -> Activity:
        """Drive to a fresh hole at the chosen site."""
        ctx = self._ctx
        if ctx.progress.site < 0:
            ctx.progress.site = 0
        progress = ctx.progress
        if progress.away and progress.hole_site == progress.site:
            # The bore is a few centimetres wide and a drive back lands within arrive_tolerance_m: the hole
            # left to recharge cannot be re-entered. A fresh hole beside it starts from the surface (before,
            # the mission fed from the old depth and the drill cut the whole column in one hot feed).
            left = progress.hole_m
            progress.hole_offset = (progress.hole_offset + 1) % ctx.config.holes_per_site
            progress.hole_m, progress.hole_stalls = 0.0, 0
            ctx.events.info(
                "mission",
                "hole_left",
                f"the {left:.2f} m hole was left to recharge: a fresh hole beside it ({progress.hole_offset + 1})",
            )
        if ctx.config.sites:
            site = ctx.config.sites[progress.site]
            x, y = hole_target(ctx, site.x_m, site.y_m)
            yield from stow_for_travel(ctx)
            yield from self._navigator.drive_to(x, y)
        if progress.hole_m <= 0.0:  # a fresh hole, never in the last one's bore (a hole beside it lies further)
            clearance = min(ctx.config.hole_spacing_m / 2, ctx.config.arrive_tolerance_m)
            yield from stow_for_travel(ctx)
            yield from self._navigator.clear_of(progress.bore, clearance, progress.hole_offset)
        progress.away = False
        return "arrived", f"at site {progress.site}"


#: The search for lost ice steps SEARCH_SPACING hole spacings (2.4 m by default) between its points: a
#: site's icy ground is metres across, so no point of a coarser grid misses it, and 24 points reach 6.8 m.
SEARCH_SPACING = 2.0


def hole_target(ctx: MissionContext, site_x_m: float, site_y_m: float) -> tuple[float, float]:
    """Where the next hole of the chosen site is aimed (pose-estimate frame, m):

    * beside the last hole found icy at this site (``MissionProgress.wet_hole``), half of
      ``hole_spacing_m`` away (at least twice ``arrive_tolerance_m``): the pose estimate drifts a little
      with every drive (dead reckoning has no fix), and the last icy hole is where the estimate last
      stood on the ice — a campaign's holes follow the ice instead of the drifting site position (a
      20-cycle Moon run drifted 2-3 m off the icy ground by cycle 15 with holes on the site's grid);
    * else the compact grid around the probed position (:func:`hole_offset_m`), nearest first;
    * where an arrival scatters by more than the grid's spacing (a hop lands within
      ``arrive_tolerance_m``), the last icy hole or the probed position itself: the scatter spreads the
      holes (and the hopper's estimate drifts with every hop, as a drive's does);
    * after dry holes (``MissionProgress.dry_holes``: the check found no water), the search: grid point
      ``dry_holes`` around the last icy hole (or the probed position), ``SEARCH_SPACING`` times
      ``hole_spacing_m`` apart (or the arrival scatter if that is larger), nearest first — the pose
      estimate, not the ice, has moved (a 60 m drive back from the charging ridge ended 4.9 m off).
    """
    progress = ctx.progress
    spacing = ctx.config.hole_spacing_m
    here = progress.hole_site == progress.site
    wet = len(progress.wet_hole) == 2 and here
    centre = (progress.wet_hole[0], progress.wet_hole[1]) if wet else (site_x_m, site_y_m)
    if progress.dry_holes and here:  # searching for the ice: the next grid point around the centre
        east, north = hole_offset_m(progress.dry_holes, max(SEARCH_SPACING * spacing, ctx.config.arrive_tolerance_m))
        return centre[0] + east, centre[1] + north
    if ctx.config.arrive_tolerance_m >= spacing:
        return centre
    offset = progress.hole_offset if here else 0
    if wet:
        # half a spacing, and at least twice the arrival tolerance: a target within the tolerance is
        # "arrived" without a drive, and the drill would re-enter the worked-out bore
        east, north = hole_offset_m(1 + offset % 4, max(spacing / 2, 2.0 * ctx.config.arrive_tolerance_m))
        return progress.wet_hole[0] + east, progress.wet_hole[1] + north
    east, north = hole_offset_m(offset, spacing)
    return site_x_m + east, site_y_m + north


def assess(
    ctx: MissionContext,
    samples: list[tuple[float, float]],
    energy_J: float,
    mass_kg: float,
    torque_max: float,
    site_power: tuple[float, float] = (0.0, 0.0),
) -> dict[str, float]:
    """What a probe says about a site: water fraction of the deeper half and of the top (the volatiles
    sensor's median, robust to its noise), drilling energy per kg, whether the ground is cemented, the
    array's input there and the expected water per kWh a cycle takes from the battery, counting the solar
    energy collected while it works (:func:`flight.mission.siting.kg_per_kWh`). ``site_power`` is the
    array's input (W) and the rover's standby load (W) measured at the site."""
    cfg = ctx.config
    deep = [ice for depth, ice in samples if depth >= 0.5 * cfg.probe_depth_m]
    top = [ice for depth, ice in samples if 0.0 < depth <= 2.0 * cfg.scoop_depth_m]
    ice = median(deep)
    drill_J_kg = energy_J / mass_kg if mass_kg > 1e-6 else math.inf
    cemented = drill_J_kg > cfg.cemented_J_kg
    per_kg_J = (drill_J_kg if math.isfinite(drill_J_kg) else 1.0e9) + cfg.process_J_kg
    solar_W, standby_W = site_power
    return {
        "ice": ice,
        "ice_top": median(top),
        "drill_J_kg": drill_J_kg if math.isfinite(drill_J_kg) else -1.0,
        "cemented": 1.0 if cemented else 0.0,
        "torque_max": torque_max,
        "solar_W": solar_W,
        "kg_per_kWh": kg_per_kWh(
            ice, per_kg_J, solar_W, batch_kg=cfg.hopper_target_kg, work_s=CYCLE_WORK_S, standby_W=standby_W
        ),
    }


def median(values: list[float]) -> float:
    """Median of ``values`` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])
