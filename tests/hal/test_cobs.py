"""hal.cobs_codec cross-checked against the reference ``cobs`` package, plus hostile input."""

from __future__ import annotations

import pytest
from cobs import cobs as reference
from hypothesis import given, settings
from hypothesis import strategies as st

from hal.cobs_codec import cobs_decode, cobs_encode
from hal.errors import CobsError

PARSER = settings(max_examples=20000, deadline=None)


def _with_run(blob: bytes) -> bytes:
    """A run of 0..520 non-zero bytes (length from ``blob[0:2]``) between a prefix and a suffix of 0..20
    bytes (length from ``blob[2]``) cut from the rest of ``blob``: runs that straddle the 254-byte block
    boundary, at the end of the data or not, are where block splitting can go wrong."""
    run = int.from_bytes(blob[:2], "little") % 521
    rest = blob[3:]
    cut = len(rest) - min(len(rest), blob[2] % 21)
    return rest[:cut] + bytes([0x5A]) * run + rest[cut:]


def _plain_or_run(blob: bytes) -> bytes:
    """Arbitrary bytes (``blob[1:]``, when ``blob[0]`` is even) or data with a long run: one draw for both,
    because hypothesis spends its time per draw."""
    return blob[1:] if blob[0] % 2 == 0 or len(blob) < 4 else _with_run(blob[1:])


_data = st.binary(min_size=1, max_size=1200).map(_plain_or_run)


@PARSER
@given(_data)
def test_encoding_matches_the_reference(data: bytes) -> None:
    encoded = cobs_encode(data)
    assert encoded == reference.encode(data)
    assert 0 not in encoded
    assert len(encoded) <= len(data) + len(data) // 254 + 1
    assert cobs_decode(encoded) == data


@PARSER
@given(st.binary(max_size=600))
def test_decoder_raises_only_cobs_error(data: bytes) -> None:
    try:
        decoded = cobs_decode(data)
    except CobsError:
        with pytest.raises(reference.DecodeError):
            reference.decode(data)
        return
    assert decoded == reference.decode(data)


def _nonzero(n: int) -> bytes:
    return bytes(i % 255 + 1 for i in range(n))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        bytes(254),
        bytes(1000),
        _nonzero(253),
        _nonzero(254),
        _nonzero(255),
        _nonzero(508),
        _nonzero(254) + b"\x00",
        b"\x00" + _nonzero(254),
        _nonzero(253) + b"\x00" + _nonzero(254),
    ],
    ids=[
        "empty",
        "zero",
        "254_zeros",
        "1000_zeros",
        "253",
        "254",
        "255",
        "508",
        "254_then_zero",
        "zero_then_254",
        "253_zero_254",
    ],
)
def test_edge_cases(data: bytes) -> None:
    encoded = cobs_encode(data)
    assert encoded == reference.encode(data)
    assert cobs_decode(encoded) == data


def test_block_sizes() -> None:
    assert cobs_encode(b"") == b"\x01"
    assert cobs_encode(_nonzero(254)) == b"\xff" + _nonzero(254)  # one full block, no trailing code
    assert cobs_encode(_nonzero(255)) == b"\xff" + _nonzero(254) + b"\x02" + _nonzero(255)[-1:]
    assert len(cobs_encode(_nonzero(508))) == 510
    assert cobs_encode(bytes(3)) == b"\x01\x01\x01\x01"


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        (b"\x00", "code byte 0x00 at offset 0"),
        (b"\x03\x11\x00", "contains a 0x00 byte"),
        (b"\x05\x11\x22", "claims 4 bytes but only 2 remain"),
        (b"\x02\x11\x00\x01", "code byte 0x00 at offset 2"),
    ],
)
def test_invalid_encodings_say_what_is_wrong(encoded: bytes, message: str) -> None:
    with pytest.raises(CobsError, match=message):
        cobs_decode(encoded)
