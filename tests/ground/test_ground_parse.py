"""The command-line argument parser under hypothesis: whatever an operator types, parse_args returns
arguments flight would accept or raises ValidationError naming what was wrong, and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ground.dictionary import GroundDictionary
from ground.errors import ValidationError

ARGS = [
    {"name": "rpm", "type": "float", "unit": "rpm", "description": "", "min": 0.0, "max": 600.0},
    {"name": "mask", "type": "int", "unit": "", "description": "", "min": 1, "max": 15},
    {"name": "on", "type": "bool", "unit": "", "description": "", "default": False},
    {
        "name": "mode",
        "type": "str",
        "unit": "",
        "description": "",
        "choices": ["active", "passive"],
        "default": "active",
    },
    {"name": "note", "type": "str", "unit": "", "description": "", "default": ""},
    {"name": "value", "type": "scalar", "unit": "", "description": "", "default": "0"},
]
DICTIONARY = GroundDictionary(
    {
        "commands": [
            {"name": "all.types", "description": "", "hazardous": False, "hazard": "", "args": ARGS},
            {"name": "none", "description": "", "hazardous": False, "hazard": "", "args": []},
        ],
    }
)
NAMES = [a["name"] for a in ARGS]
#: What a byte of the drawn case stands for: argument names, separators, number and word fragments.
PIECES = [
    *NAMES,
    "bogus",
    "=",
    "=",
    "=",
    " ",
    " ",
    " ",
    *"0123456789",
    ".",
    "e",
    "E",
    "-",
    "+",
    "_",
    "x",
    "0x",
    "0b",
    "0o",
    "nan",
    "inf",
    "true",
    "False",
    "off",
    "yes",
    "active",
    "passive",
    "\u0661",
    "\u00e9",
    "\t",
    "\x00",
    "'",
    '"',
    ",",
    "1e308",
    "9" * 30,
]
COMMANDS = ["all.types", "none"]


def _case(data: bytes) -> tuple[str, list[str]]:
    """The command (first byte) and the key=value tokens (the rest, one piece per byte, split on spaces)."""
    if not data:
        return COMMANDS[0], []
    text = "".join(PIECES[b % len(PIECES)] for b in data[1:])
    return COMMANDS[data[0] % 2], [token for token in text.split(" ") if token]


# The whole case is one bytes draw (cheap to generate), mapped onto meaningful pieces.
@pytest.mark.timeout(300)  # 20,000 cases: about 15 s alone, several times that when the machine is shared
@settings(max_examples=20000, deadline=None)
@given(st.binary(max_size=40))
def test_parse_args_gives_valid_arguments_or_a_validation_error(data: bytes) -> None:
    command, tokens = _case(data)
    try:
        args = DICTIONARY.parse_args(command, tokens)
    except ValidationError as exc:
        assert exc.command == command and exc.expected and exc.found
        assert str(exc).startswith(f"{command}: argument ")
        return
    assert DICTIONARY.validate(command, args) == args
    assert set(args) == ({a["name"] for a in ARGS} if command == "all.types" else set())


def test_the_cases_reach_both_outcomes() -> None:
    digit = PIECES.index("0")
    accepted = _case(bytes([0, 0, 7, digit + 5, 10, 1, 7, digit + 3]))  # all.types: "rpm=5 mask=3"
    assert accepted == ("all.types", ["rpm=5", "mask=3"])
    assert DICTIONARY.parse_args(*accepted)["rpm"] == 5.0
