"""The held-seq set the archive keeps in memory, checked against a plain Python set."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ground.seqranges import SeqRanges


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 300), st.integers(0, 12)), max_size=60))
def test_ranges_hold_exactly_the_seqs_added(adds: list[tuple[int, int]]) -> None:
    ranges = SeqRanges()
    held: set[int] = set()
    for lo, width in adds:
        ranges.add_range(lo, lo + width)
        held.update(range(lo, lo + width + 1))
    assert len(ranges) == len(held)
    assert all((seq in ranges) == (seq in held) for seq in range(0, 320))
    spans = ranges.ranges()
    assert all(lo <= hi for lo, hi in spans)
    assert all(spans[k][1] + 1 < spans[k + 1][0] for k in range(len(spans) - 1))  # disjoint, not touching
    if held:
        first = min(held)
        end = first
        while end + 1 in held:
            end += 1
        assert ranges.first_run_end() == end and ranges.highest() == max(held)
        missing = [s for s in range(first, max(held) + 1) if s not in held]
        assert [s for lo, hi in ranges.holes() for s in range(lo, hi + 1)] == missing
    else:
        assert (ranges.first_run_end(), ranges.highest(), ranges.holes()) == (0, 0, [])
    assert SeqRanges(spans).ranges() == spans
