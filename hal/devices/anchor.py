"""Driver of the screw anchors (ICD device ``anchor``, address 0x05)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hal.device import Device
from hal.errors import CommandError
from hal.icd import ANCHOR, ANCHOR_COUNT
from hal.limits import Limit
from hal.motion import Motion
from hal.telemetry import TelemetryBase

#: Mask selecting every anchor.
ALL_ANCHORS = (1 << ANCHOR_COUNT) - 1


@dataclass(frozen=True)
class AnchorTelemetry(TelemetryBase):
    """One anchor telemetry snapshot (SI units, as in the ICD); anchor i is bit i of the masks."""

    depth0_m: float
    depth1_m: float
    depth2_m: float
    depth3_m: float
    preload0_N: float
    preload1_N: float
    preload2_N: float
    preload3_N: float
    holding_N: float  # estimated total holding force, N
    deployed_mask: int  # anchors fully deployed
    slip_mask: int  # anchors slipping now

    @property
    def depths_m(self) -> tuple[float, ...]:
        """Depth of each anchor, m."""
        return (self.depth0_m, self.depth1_m, self.depth2_m, self.depth3_m)

    @property
    def preloads_N(self) -> tuple[float, ...]:
        """Preload of each anchor, N."""
        return (self.preload0_N, self.preload1_N, self.preload2_N, self.preload3_N)

    @property
    def deployed(self) -> tuple[int, ...]:
        """Indices of the fully deployed anchors."""
        return tuple(i for i in range(ANCHOR_COUNT) if self.deployed_mask >> i & 1)

    @property
    def all_deployed(self) -> bool:
        """True when every anchor is fully deployed."""
        return self.deployed_mask & ALL_ANCHORS == ALL_ANCHORS

    @property
    def slipping(self) -> tuple[int, ...]:
        """Indices of the anchors slipping now."""
        return tuple(i for i in range(ANCHOR_COUNT) if self.slip_mask >> i & 1)


def anchor_mask(anchors: int | Iterable[int]) -> int:
    """A mask from either a mask (int, bit i = anchor i) or an iterable of anchor indices."""
    if isinstance(anchors, int):
        return anchors
    mask = 0
    for index in anchors:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < ANCHOR_COUNT:
            raise CommandError(f"anchor index {index!r}; expected an integer in 0..{ANCHOR_COUNT - 1}")
        mask |= 1 << index
    return mask


class Anchor(Device[AnchorTelemetry]):
    """The anchors: deploy into the ground, preload, retract. ``anchors`` arguments take a mask (bit i
    = anchor i) or a list of indices; the default is every anchor."""

    spec = ANCHOR
    telemetry_class = AnchorTelemetry
    LIMITS = (
        Limit("max_preload_N", "N", "highest preload per anchor", args=(("preload", "force_N"),)),
        Limit("max_depth_m", "m", "deepest anchor insertion", args=(("deploy", "depth_m"),)),
    )

    def deploy(self, depth_m: float, anchors: int | Iterable[int] = ALL_ANCHORS) -> Motion:
        """Drive the selected anchors into the ground to ``depth_m`` metres."""
        return self.start("deploy", mask=anchor_mask(anchors), depth_m=depth_m)

    def retract(self, anchors: int | Iterable[int] = ALL_ANCHORS) -> Motion:
        """Withdraw the selected anchors."""
        return self.start("retract", mask=anchor_mask(anchors))

    def preload(self, force_N: float, anchors: int | Iterable[int] = ALL_ANCHORS) -> Motion:
        """Tension the selected deployed anchors to ``force_N`` newtons each."""
        return self.start("preload", mask=anchor_mask(anchors), force_N=force_N)
