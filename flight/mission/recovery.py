"""What ``mission.recover`` and ``mission.resume`` check on fresh telemetry before the rover is let loose again.

* :func:`still_deployed` — hardware left out of its stowed state (the drill in the ground, anchors down, the
  scoop in the trench, the heater on), each with the operator command that clears it. ``mission.recover``
  leaves SAFE through STOW while anything is listed (the mission's own stow, through the interlocks), so IDLE
  always means the next cycle's first drive can move; a stow that fails names what is still out.
* :func:`resume_plan` — the step a held mission resumes into: the held leaf if its preconditions hold (an
  extraction needs the rover anchored, a heat the lid sealed), else the step that re-establishes them
  (``anchor_deploy`` at the present position when that is safe, ``process_seal``), else a refusal naming what
  is missing and what to do.
"""

from __future__ import annotations

from flight.errors import CommandRejected
from flight.interlocks import ALL_ANCHORS
from flight.mission.context import MissionContext
from flight.mission.readiness import device_problems

#: Anchor depth (m) above which an anchor counts as in the ground.
ANCHOR_OUT_M = 0.005
#: Leaves that work only with the rover anchored (the drill's spin and feed are interlocked on it).
ANCHORED_LEAVES = ("anchor_verify", "extract_drill")
#: Leaves that work only with every anchor seated.
SEATED_LEAVES = ("anchor_preload",)
#: Where a resume re-establishes the anchoring: deploying at the present position.
REANCHOR_LEAF = "anchor_deploy"
#: Leaves that heat: the heater is interlocked on the lid sealed (a restart or a board reset may find it open).
SEALED_LEAVES = ("process_heat",)
#: Where a resume seals the chamber again (and pumps it down on a rig in air) before heating.
RESEAL_LEAF = "process_seal"


def first_step(target: str) -> str:
    """What a resume into ``target`` (instead of the held step) does first, for the operator."""
    return "seals the lid" if target == RESEAL_LEAF else "re-anchors"


def still_deployed(ctx: MissionContext) -> list[str]:
    """``<what> (<command that clears it>)`` for each piece of hardware out of its stowed state, judged on the
    latest telemetry (a drill whose telemetry is stale counts as in the ground, as the interlocks count it)."""
    io = ctx.io
    out = []
    if "drill" in io.rig:
        if io.stale("drill"):
            out.append("drill position unknown: its telemetry is stale (drill.retract rate_m_s=0.01)")
        elif io.drill_deployed:
            out.append(f"drill {ctx.get('drill.depth_m'):.3f} m deep (drill.retract rate_m_s=0.01)")
        elif ctx.get("drill.rpm") > io.settings.drill_turning_rpm:
            out.append(f"drill turning at {ctx.get('drill.rpm'):.0f} rpm (drill.spin rpm=0)")
    if "anchor" in io.rig:
        mask = int(ctx.get("anchor.deployed_mask", 0))
        depths = [float(ctx.get(f"anchor.depth{i}_m")) for i in range(4)]
        if mask or max(depths) > ANCHOR_OUT_M:
            out.append(
                f"anchors in the ground (deployed mask {mask:04b}, deepest {max(depths):.3f} m) "
                f"(anchor.retract mask={ALL_ANCHORS})"
            )
    if "scoop" in io.rig and ctx.get("scoop.arm_angle_rad", 1.0) < 0.0:
        out.append(
            f"scoop lowered to {ctx.get('scoop.arm_angle_rad'):.2f} rad, below the horizontal "
            "(scoop.move angle_rad=1.5 speed_rad_s=0.3, once the drill is out)"
        )
    if "extractor" in io.rig and io.heater_on:
        out.append("heater on (extractor.heater_power watts=0)")
    return out


def deployed_note(ctx: MissionContext) -> str:
    """``; still deployed: ...`` naming what :func:`still_deployed` lists, '' when everything is stowed."""
    left = still_deployed(ctx)
    return f"; still deployed: {'; '.join(left)}" if left else ""


def resume_gap(ctx: MissionContext, leaf: str) -> str:
    """What ``leaf`` needs of the hardware that it lacks now ('' when nothing): the anchors holding for the
    steps that drill (and, where contact needs an anchor, the scoop's), every anchor seated for the preload,
    the lid sealed for the heat."""
    io = ctx.io
    needs_anchored = leaf in ANCHORED_LEAVES or (leaf == "extract_scoop" and io.settings.contact_needs_anchor)
    if needs_anchored and "anchor" in io.rig and not io.anchored:
        return f"{leaf} needs the rover anchored, and the anchors are not holding ({anchor_summary(ctx)})"
    if leaf in SEATED_LEAVES and int(ctx.get("anchor.deployed_mask", 0)) & ALL_ANCHORS != ALL_ANCHORS:
        return f"{leaf} needs every anchor seated ({anchor_summary(ctx)})"
    if leaf in SEALED_LEAVES and "extractor" in io.rig and ctx.get("extractor.lid", 0) != 1:
        return f"{leaf} needs the lid sealed, and it is not (extractor.lid {ctx.get('extractor.lid', 0):g})"
    return ""


def anchor_summary(ctx: MissionContext) -> str:
    """The anchors as telemetry shows them: deployed mask, smallest preload, staleness."""
    if ctx.io.stale("anchor"):
        return "anchor telemetry stale"
    preload = min(float(ctx.get(f"anchor.preload{i}_N")) for i in range(4))
    return f"deployed mask {int(ctx.get('anchor.deployed_mask', 0)):04b}, least preload {preload:.1f} N"


def reanchor_blockers(ctx: MissionContext) -> list[str]:
    """Why anchoring again at the present position is not safe now ([] when it is): the e-stop latched, the
    anchor unfit (a latched fault, a dead line) or its telemetry stale (where the anchors are is unknown)."""
    io = ctx.io
    blockers = []
    if io.estopped:
        blockers.append("the emergency stop is latched (estop.reset)")
    problems = device_problems(io, ("anchor",))
    blockers.extend(f"{p} (anchor.clear_fault once the cause is fixed)" for p in problems)
    if not problems and io.stale("anchor"):
        blockers.append("anchor telemetry is stale: where the anchors are is unknown")
    return blockers


def resume_plan(ctx: MissionContext, held: str) -> tuple[str, str]:
    """The leaf a resume of ``held`` enters and why: ``held`` itself when its preconditions hold, else
    :data:`RESEAL_LEAF` for a heat with the lid open or :data:`REANCHOR_LEAF`, with the reason. Raises
    :class:`~flight.errors.CommandRejected` (``bad_state``) naming what is missing and what to do when the
    anchoring cannot be re-established safely."""
    gap = resume_gap(ctx, held)
    if not gap:
        return held, f"operator resume into {held}"
    if held in SEALED_LEAVES:
        return RESEAL_LEAF, f"operator resume: {gap}: sealing it again ({RESEAL_LEAF}), then on"
    blockers = reanchor_blockers(ctx)
    if blockers:
        raise CommandRejected(
            "bad_state",
            f"{gap}; cannot re-anchor at the present position: {'; '.join(blockers)} "
            "(clear that, then mission.resume re-anchors; or mission.abort)",
        )
    return REANCHOR_LEAF, f"operator resume: {gap}: re-anchoring at the present position ({REANCHOR_LEAF}), then on"
