"""EXTRACT: fill the hopper with drill cuttings, bite by bite, and top it up with the scoop where it pays."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Generator, Mapping

from flight.mission.anchoring import anchor_out
from flight.mission.context import Activity, MissionContext, MissionFailure
from flight.mission.drilling import MIN_FEED_M_S, bite, drill_out, stall_passes
from flight.mission.motion import motion, require, wait
from flight.mission.navigation import position_estimate
from flight.mission.recovery import anchor_summary
from hal.icd import Completion

#: A hole that ends (stalls, refusal) with the hopper under this share of ``hopper_target_kg`` is a short
#: batch: heating it would cost a whole heat for a few grams, so another hole fills it first (once a cycle).
SHORT_BATCH_SHARE = 0.5

#: A fresh hole whose volatiles sensor reads under this share of the probe's water fraction at its
#: bottom (see ``DRY_WINDOW_SHARE``) is dry: it missed the icy ground the probe found (the pose estimate drifts over a
#: campaign), and its cuttings would cost a whole heat for no water.
DRY_SHARE = 0.25
#: The dry-hole check needs a probed water fraction of at least this much, and this many readings in its
#: window: the hole's deepest ``DRY_WINDOW_SHARE`` of ``probe_depth_m`` once it is past the probed depths'
#: top (half of ``probe_depth_m``). It judges the hole's bottom, not everything above it: a layer of dry
#: soil over the icy ground the probe found (a boulder site's loose cover) reads dry only until the bit
#: is in the ice, so a verdict over all the probed depths calls such a hole dry after its first bite.
DRY_CHECK_MIN_ICE = 0.005
DRY_CHECK_SAMPLES = 5
DRY_WINDOW_SHARE = 0.25
#: Dry holes in a row after which the mission holds for the ground: the search has covered the 5 x 5 grid
#: of search points around the last icy hole (24 points), the rover has lost the icy ground (or the
#: volatiles sensor reads nothing). A dry hole costs about 200 s (a drive of metres, anchoring, a bite).
DRY_SEARCH_MAX = 25

#: Completed bites in a row whose depth reading did not advance before the drill's depth sensor is
#: declared stale or failed and the mission holds for the ground.
STALE_BITES = 2
#: Pause before the n-th re-bite of a stall, s: STALL_PAUSE_S * 2**(n-1) (10, 20, 40 s), so what seized the
#: auger (a clast, heat) has time to pass; re-bitten at once it only stalled again (three re-bites in 3 s).
STALL_PAUSE_S = 10.0
#: How long a stall still latched after the pause is given to clear, and how often it is asked to, s.
STALL_CLEAR_S = 30.0
STALL_CLEAR_EVERY_S = 2.0


class Extract:
    """The extraction phase's activities (leaves ``extract_drill``, ``extract_scoop``)."""

    def __init__(self, ctx: MissionContext) -> None:
        self._ctx = ctx

    def activities(self) -> Mapping[str, Callable[[], Activity]]:
        """Leaf name → activity."""
        return {"extract_drill": self.drill, "extract_scoop": self.scoop}

    def drill(self) -> Activity:
        """Drill in bites, each retract carrying its cuttings up the auger into the hopper, until the hopper
        holds ``hopper_target_kg``, the hole is ``drill_depth_m`` deeper than at the cycle's start, or it is
        as deep as the drill reaches. Feed is torque-limited (halved above ``torque_limit_Nm``); each bite
        starts at ``feed_rate_m_s``. A stall climbs the stall ladder (:meth:`_stalled`)."""
        ctx = self._ctx
        cfg = ctx.config
        progress = ctx.progress
        deepest = float(ctx.io.rig.device("drill").limits.get("max_depth_m", 3.0))
        if progress.away:  # processed the last batch where it recharged: back to the hole first
            return "return_to_site", f"back to site {progress.site} from recharging"
        if progress.hole_site != progress.site:
            progress.hole_site, progress.hole_m, progress.hole_offset = progress.site, 0.0, 0
            progress.hole_stalls = progress.dry_holes = 0
            progress.wet_hole = []
        if progress.hole_m >= deepest - 0.01:
            return (yield from self._next_hole(deepest))
        if not ctx.io.anchored:  # the anchors came up (a resume after a restart): anchor again, here
            return "reanchor", f"{anchor_summary(ctx)}: anchors not holding, anchoring again before drilling"
        if ctx.get("extractor.lid", 0) != 0:
            yield from require(ctx, "extractor", "lid", sealed=0)
        yield from self._cooled_chamber()
        hammer = bool(progress.site_probe().get("cemented", 0.0))
        rate = cfg.feed_rate_m_s / 2**progress.hole_stalls  # a stall retried (before a park) stays slower
        bites = stale = 0
        outcome = ""
        ended_at: float | None = None  # where a hole ended by a refusal or the stall ladder stopped, m
        # a hole started here on ground the probe found water in: its first bites say whether it found the ice
        fresh = progress.hole_m <= 0.0 and progress.site_probe().get("ice", 0.0) >= DRY_CHECK_MIN_ICE
        loaded_at_start = ctx.get("extractor.loaded_mass_kg")
        samples: list[tuple[float, float]] = []  # (depth m, sensed water fraction) over this hole's feeds
        floor = min(progress.hole_m + cfg.drill_depth_m, deepest)  # this cycle drills at most drill_depth_m
        if progress.hole_m <= 0.0:  # where this hole's bore is: the next fresh hole keeps clear of it
            progress.bore = position_estimate(ctx)
        while ctx.get("extractor.loaded_mass_kg") < cfg.hopper_target_kg:
            if progress.hole_m >= deepest - 0.01:
                outcome = f"hole at its deepest ({progress.hole_m:.2f} m)"
                break
            if progress.hole_m >= floor - 0.001:
                outcome = f"drilled the cycle's {cfg.drill_depth_m:g} m"
                break
            goal = min(progress.hole_m + cfg.bite_m, floor)
            if fresh:  # a fresh hole's first bite reaches the probed depth: its verdict sees what the probe saw
                goal = min(max(goal, cfg.probe_depth_m), floor)
            before = progress.hole_m
            completion, _ = yield from bite(ctx, goal, max(rate, MIN_FEED_M_S), hammer=hammer, samples=samples)
            depth = ctx.get("drill.depth_m")
            if completion == Completion.OK and (not math.isfinite(depth) or progress.hole_m < before + 0.005):
                stale += 1  # the feed completed but the depth reading did not follow: stale, stuck or failed
                if stale >= STALE_BITES:
                    return "hold", (
                        f"drill depth reading {depth} m did not advance over {stale} completed bites from "
                        f"{before:.2f} m (sensor stale or failed): hold for the ground"
                    )
                continue
            if completion == Completion.OK:
                stale = 0
                bites += 1
                progress.hole_stalls = progress.stalled_holes = 0
                rate = cfg.feed_rate_m_s
                dry = self._dry_hole(samples) if fresh else None
                if dry:
                    return (yield from self._left_dry(dry, deepest, loaded_at_start, hammer))
                if dry == "":  # the hole found the probe's water: the next holes are drilled beside it
                    progress.dry_holes = 0
                    progress.wet_hole = position_estimate(ctx)
                fresh = fresh and dry is None and not self._checked(samples)
                continue
            if completion == Completion.BLOCKED and not ctx.get("drill.faults", 0):
                outcome = f"refusal at {progress.hole_m:.2f} m"  # the bit cannot advance: the hole ends here
                ended_at, progress.hole_m = progress.hole_m, deepest
                break
            reached = progress.hole_m
            ladder = self._stalled(completion, deepest)
            if ladder:
                outcome, ended_at = ladder, reached
                break
            yield from wait(ctx, STALL_PAUSE_S * 2 ** (progress.hole_stalls - 1))
            if not (yield from stall_passes(ctx, STALL_CLEAR_S, STALL_CLEAR_EVERY_S)):
                ctx.events.warning("mission", "stall_latched", f"drill stall still latched after {STALL_CLEAR_S:g} s")
            rate = max(rate / 2, MIN_FEED_M_S)
        if hammer:
            ctx.io.command("drill", "percussion", on=0)
        loaded = ctx.get("extractor.loaded_mass_kg")
        # a hole ended early is marked worked out (``hole_m`` at the drill's reach): the summary says where it ended
        ended = progress.hole_m if ended_at is None else ended_at
        summary = f"{bites} bite(s), hole {ended:.2f} m, hopper {loaded:.2f} kg"
        if loaded <= 0.0 and progress.hole_m >= deepest - 0.01:
            return (yield from self._no_cuttings(deepest, summary, outcome))
        if self._short_batch(loaded, deepest):
            progress.topped_up_cycle = progress.cycle
            ctx.events.warning(
                "mission",
                "batch_short",
                f"{summary}; {outcome}: under {SHORT_BATCH_SHARE:.0%} of the {cfg.hopper_target_kg:g} kg batch, "
                "another hole fills it before heating",
            )
            return (yield from self._next_hole(deepest))
        return "drilled", f"{summary}; {outcome}" if outcome else summary

    def _checked(self, samples: list[tuple[float, float]]) -> bool:
        """The hole's readings cover the probed depths (the dry-hole check has had its say)."""
        return any(depth >= self._ctx.config.probe_depth_m for depth, _ in samples)

    def _dry_hole(self, samples: list[tuple[float, float]]) -> str | None:
        """Why this fresh hole is dry, '' if it is not, or None for no verdict yet.

        The verdict is on the hole's bottom: the volatiles readings within ``DRY_WINDOW_SHARE`` of
        ``probe_depth_m`` of the deepest reading, once that is at least half of ``probe_depth_m`` deep (the
        probed depths, where the probe's figure comes from). Their median under ``DRY_SHARE`` of the probe's
        water fraction means dry. No verdict while the readings are too few or too shallow, or when the
        site was probed nearly dry."""
        ctx = self._ctx
        cfg = ctx.config
        probed = ctx.progress.site_probe().get("ice", 0.0)
        if probed < DRY_CHECK_MIN_ICE:
            return None
        read = [(depth, ice) for depth, ice in samples if math.isfinite(ice)]
        top = 0.5 * cfg.probe_depth_m
        bottom = max((depth for depth, _ in read), default=0.0)
        if bottom < top:
            return None
        upper = max(top, bottom - DRY_WINDOW_SHARE * cfg.probe_depth_m)
        seen = [ice for depth, ice in read if depth >= upper]
        if len(seen) < DRY_CHECK_SAMPLES:
            return None
        sensed = statistics.median(seen)
        if sensed >= DRY_SHARE * probed:
            return ""
        return (
            f"volatiles sensor read {sensed:.4f} between {upper:.2f} and {bottom:.2f} m, "
            f"under {DRY_SHARE:.0%} of the probe's {probed:.4f}"
        )

    def _left_dry(
        self, why: str, deepest: float, loaded_at_start: float, hammer: bool
    ) -> Generator[None, None, tuple[str, str]]:
        """A dry hole: withdraw, tip out its cuttings when the hopper held nothing else (dry fill only
        costs heater energy), and search on: the next hole is the next point of the hole grid around the
        last icy hole (or the probed position), :func:`~flight.mission.prospect.hole_target`. After
        ``DRY_SEARCH_MAX`` dry holes in a row the rover has lost the icy ground or the volatiles sensor is
        suspect: hold for the ground with the reason."""
        ctx = self._ctx
        progress = ctx.progress
        if hammer:
            ctx.io.command("drill", "percussion", on=0)
        progress.dry_holes += 1
        progress.hole_m = 0.0  # the next hole starts from the surface
        yield from drill_out(ctx)
        dumped = ""
        loaded = ctx.get("extractor.loaded_mass_kg")
        if loaded_at_start <= 0.0 < loaded:
            yield from require(ctx, "extractor", "dump")
            dumped = f"; its {loaded:.2f} kg of cuttings tipped out"
        ctx.events.warning(
            "mission", "dry_hole", f"dry hole {progress.dry_holes} at site {progress.site}: {why}{dumped}"
        )
        if progress.dry_holes >= DRY_SEARCH_MAX:
            return "hold", (
                f"{progress.dry_holes} dry holes in a row around the ice of site {progress.site}: the rover has "
                "lost the icy ground or the volatiles sensor is suspect; hold for the ground"
            )
        yield from anchor_out(ctx)
        return "exhausted", f"dry hole: searching the hole grid for the ice ({progress.dry_holes} dry so far)"

    def _cooled_chamber(self) -> Generator[None, None, None]:
        """Before the first cuttings of a batch: wait (at most ``load_cool_max_s``) until the chamber is below
        ``load_max_K``. Just after a heat it is near its set point, and icy cuttings falling into it through
        the open lid sublime and leave before it is sealed (in the chamber model a 600 K start keeps about two
        thirds of the water that a 250 K start keeps). A chamber temperature that is unknown does not hold
        the work up."""
        ctx = self._ctx
        cfg = ctx.config
        temp = ctx.get("extractor.chamber_temp_K", math.nan)
        if ctx.get("extractor.loaded_mass_kg") > 0.0 or not (isinstance(temp, float | int) and temp > cfg.load_max_K):
            return
        ctx.events.info(
            "mission",
            "chamber_cooling",
            f"chamber at {temp:.0f} K: waiting for it to cool below {cfg.load_max_K:g} K before loading cuttings",
        )
        deadline = ctx.now() + cfg.load_cool_max_s
        while ctx.now() < deadline:
            temp = ctx.get("extractor.chamber_temp_K", math.nan)
            if not (isinstance(temp, float | int) and temp > cfg.load_max_K):
                return
            yield
        ctx.events.warning(
            "mission",
            "chamber_still_hot",
            f"chamber still at {temp:.0f} K after {cfg.load_cool_max_s:g} s: loading anyway (some ice will be lost)",
        )

    def _short_batch(self, loaded_kg: float, deepest: float) -> bool:
        """The hole ended with ``loaded_kg`` in the hopper, well short of the batch, where the scoop cannot
        top it up, another hole or site is left, and this cycle has not topped up yet."""
        ctx = self._ctx
        progress = ctx.progress
        if progress.hole_m < deepest - 0.01 or loaded_kg >= SHORT_BATCH_SHARE * ctx.config.hopper_target_kg:
            return False
        if progress.topped_up_cycle == progress.cycle or self._scoopable():
            return False
        return progress.hole_offset + 1 < ctx.config.holes_per_site or bool(self._later_sites())

    def _scoopable(self) -> bool:
        """The scoop can fill the hopper here: loose ground, icy near the surface."""
        probe = self._ctx.progress.site_probe()
        return not probe.get("cemented", 0.0) and probe.get("ice_top", 0.0) >= self._ctx.config.scoop_min_ice_fraction

    def _later_sites(self) -> list[int]:
        """Sites holding water ranked below the present one, best first."""
        progress = self._ctx.progress
        ranked = [i for i in sorted(progress.scores, key=lambda i: -progress.scores[i]) if progress.scores[i] > 0]
        return ranked[ranked.index(progress.site) + 1 :] if progress.site in ranked else []

    def _stalled(self, completion: Completion, deepest: float) -> str:
        """The stall ladder's first rungs, after a stalled bite (the bite has withdrawn the drill): clear the
        stall and re-bite at half the rate ('' returned); after ``stall_retries`` re-bites the hole ends
        where it is — the ground or the auger's wall friction is more than the drill holds — and the reason
        is returned (the next rungs, another hole, the scoop or the ground, are :meth:`_no_cuttings`')."""
        ctx = self._ctx
        progress = ctx.progress
        progress.hole_stalls += 1
        stalls = progress.hole_stalls
        ctx.events.warning("mission", "drill_stall", f"drill stopped ({completion.name}), stall {stalls}")
        ctx.io.rig.device("drill").clear_fault()
        if stalls <= ctx.config.stall_retries:
            return ""
        ended_at = progress.hole_m
        progress.hole_m, progress.hole_stalls = deepest, 0
        progress.stalled_holes += 1
        ctx.events.warning("mission", "hole_ended", f"hole ended at {ended_at:.2f} m after {stalls} stalls")
        return f"hole ended at {ended_at:.2f} m after {stalls} stalls"

    def _no_cuttings(self, deepest: float, summary: str, outcome: str) -> Generator[None, None, tuple[str, str]]:
        """The hole ended with the hopper empty: the scoop where the ground suits it, else another hole (and
        site); after two holes in a row ended by stalls without a good bite the drill itself is suspect:
        hold for the ground with the reason."""
        ctx = self._ctx
        progress = ctx.progress
        probe = progress.site_probe()
        if progress.stalled_holes and (self._scoopable() or not probe):
            ctx.events.error("mission", "drilling_abandoned", f"gave up drilling ({outcome}): scooping instead")
            return "drilled", f"{summary}; {outcome}; scooping instead"
        if progress.stalled_holes >= 2:
            return "hold", (
                f"drill stalled in {progress.stalled_holes} holes in a row without a bite ({outcome}): "
                "drill suspect, hold for the ground"
            )
        return (yield from self._next_hole(deepest))

    def _next_hole(self, deepest: float) -> Generator[None, None, tuple[str, str]]:
        """The hole is as deep as the drill reaches (``deepest`` m): withdraw, and move to a fresh hole at
        this site, or to the next best site once ``holes_per_site`` holes are worked out."""
        ctx = self._ctx
        progress = ctx.progress
        yield from drill_out(ctx)
        yield from anchor_out(ctx)
        progress.hole_offset += 1
        progress.hole_m = 0.0
        if progress.hole_offset < ctx.config.holes_per_site:
            return "exhausted", f"hole worked out at {deepest:.2f} m; moving to hole {progress.hole_offset + 1}"
        later = self._later_sites()
        if not later:
            raise MissionFailure(f"site {progress.site} is worked out and no other site holds water")
        self._move_to(later[0])
        return "exhausted", f"site worked out ({ctx.config.holes_per_site} holes); moving to site {later[0]}"

    def _move_to(self, site: int) -> None:
        """Work ``site`` next, from its first hole (the travel drives there)."""
        progress = self._ctx.progress
        progress.site, progress.hole_site, progress.hole_offset, progress.hole_m = site, site, 0, 0.0
        progress.hole_stalls = progress.dry_holes = 0
        progress.wet_hole = []

    def _trench_out(self, passes: int) -> Generator[None, None, tuple[str, str]]:
        """The trench is worked out (a dig ended BLOCKED on pass ``passes``) and the hopper is empty: the
        scoop has nothing more to give here, so the mission moves to the next site that holds water (its
        trench starts from the surface), withdrawing the drill and anchors first; with no such site left
        the step fails (the ladder's retry, then a hold for the ground)."""
        ctx = self._ctx
        progress = ctx.progress
        later = self._later_sites()
        if not later:
            raise MissionFailure(
                f"hopper empty and the trench at site {progress.site} worked out after {passes} scoop passes; "
                "no other site holds water"
            )
        yield from drill_out(ctx)
        yield from anchor_out(ctx)
        worked_out = progress.site
        self._move_to(later[0])
        return "exhausted", f"trench at site {worked_out} worked out with the hopper empty; moving to site {later[0]}"

    def scoop(self) -> Activity:
        """Top the hopper up with the scoop where the ground is loose and icy near the surface (dry or
        ice-cemented ground is not scooped: dry fill only costs heater energy, cemented ground overloads
        the scoop)."""
        ctx = self._ctx
        cfg = ctx.config
        probe = ctx.progress.site_probe()
        loaded = ctx.get("extractor.loaded_mass_kg")
        if loaded >= cfg.hopper_target_kg:
            return "hopper_full", f"{loaded:.2f} kg loaded by the drill"
        loose = not probe.get("cemented", 0.0)
        icy_top = probe.get("ice_top", 0.0) >= cfg.scoop_min_ice_fraction
        if probe and not (loose and icy_top):
            if loaded <= 0.0:
                raise MissionFailure(f"nothing excavated at site {ctx.progress.site} (drill gave nothing)")
            why = "cemented" if not loose else "dry near the surface"
            return "hopper_full", f"{loaded:.2f} kg loaded by the drill; not scooping ({why} ground)"
        if ctx.get("extractor.lid", 0) != 0:
            yield from require(ctx, "extractor", "lid", sealed=0)
        passes = 0
        while ctx.get("extractor.loaded_mass_kg") < cfg.hopper_target_kg:
            if passes >= cfg.scoop_passes_max:
                if ctx.get("extractor.loaded_mass_kg") > 0:
                    break
                raise MissionFailure(f"hopper still empty after {passes} scoop passes")
            passes += 1
            dug = yield from motion(ctx, "scoop", "dig", depth_m=cfg.scoop_depth_m)
            if dug != Completion.OK:
                # The trench is as deep as the arm reaches, or the ground overloads the bucket: this trench
                # is worked out. Lift the bucket clear and heat what the hopper holds.
                ctx.io.rig.device("scoop").clear_fault()
                yield from require(ctx, "scoop", "lift")
                ctx.events.warning(
                    "mission", "trench_ended", f"scoop.dig ended {dug.name} on pass {passes}: the trench is worked out"
                )
                if ctx.get("extractor.loaded_mass_kg") > 0:
                    break
                return (yield from self._trench_out(passes))
            yield from require(ctx, "scoop", "lift")
            yield from require(ctx, "scoop", "dump")
            yield from wait(ctx, 1.0)
        loaded = ctx.get("extractor.loaded_mass_kg")
        return "hopper_full", f"{loaded:.2f} kg loaded ({passes} scoop passes)"
