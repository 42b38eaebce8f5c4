"""The ledger's evidence line: byte-identical to the canonical JSON encoder, call after call, whatever changes."""

from __future__ import annotations

import enum
import math

from hypothesis import given
from hypothesis import strategies as st

from flight.evidence_line import EvidenceLine, canonical_json


class _Mode(enum.IntEnum):
    IDLE = 0
    RUN = 1


def _reference(t: float, snapshot: dict) -> str:
    return canonical_json({"t": t, "telemetry": snapshot})


def test_every_value_kind_encodes_as_the_json_encoder_does() -> None:
    snapshot = {
        "b.flag": True,
        "a.count": 12345678901234567890,
        "c.ratio": 0.1 + 0.2,
        "d.nan": math.nan,
        "e.inf": math.inf,
        "f.neginf": -math.inf,
        "g.none": None,
        "h.text": 'quote " backslash \\ tab \t non-ascii é 水',
        "i.list": [1, 2.5, "x"],
        "j.dict": {"z": 1, "a": [None]},
        "k.enum": _Mode.RUN,
        "l.neg": -0.0,
        "m.tiny": 5e-324,
        "n.false": False,
        "o.zero": 0,
    }
    line = EvidenceLine()
    assert line.encode(1.9e9 + 0.125, snapshot) == _reference(1.9e9 + 0.125, snapshot)


def test_changed_values_new_and_removed_channels_and_mutated_containers_are_seen() -> None:
    line = EvidenceLine()
    held = [1, 2]
    snapshot: dict = {"x.v": 1.5, "y.state": "idle", "z.list": held}
    assert line.encode(1.0, snapshot) == _reference(1.0, snapshot)
    held.append(3)  # the same list object, changed in place
    snapshot["x.v"] = 2.5
    assert line.encode(2.0, snapshot) == _reference(2.0, snapshot)
    snapshot["a.new"] = 7
    assert line.encode(3.0, snapshot) == _reference(3.0, snapshot)
    del snapshot["y.state"]
    snapshot["w.other"] = "run"  # same size as before the deletion, another key set
    assert line.encode(4.0, snapshot) == _reference(4.0, snapshot)
    snapshot["x.v"] = 2.5  # equal value, another object
    assert line.encode(5.0, snapshot) == _reference(5.0, snapshot)


def test_a_snapshot_with_non_string_keys_falls_back_to_the_encoder() -> None:
    snapshot: dict = {2: "two", 10: "ten"}
    assert EvidenceLine().encode(1.0, snapshot) == _reference(1.0, snapshot)


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=3),
)


@given(st.lists(st.dictionaries(st.text(min_size=1, max_size=6), _values, max_size=12), min_size=1, max_size=5))
def test_a_sequence_of_snapshots_matches_the_encoder_at_every_step(snapshots: list[dict]) -> None:
    line = EvidenceLine()
    for k, snapshot in enumerate(snapshots):
        assert line.encode(float(k), snapshot) == _reference(float(k), snapshot)
