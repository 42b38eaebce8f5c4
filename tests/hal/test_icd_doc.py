"""docs/icd.md against the code: generated tables current, rendering correct, C reference code right."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from hal import icd_doc
from hal.icd import COMMON_COMMANDS, DEVICES
from hal.icd_doc import DOC_PATH, main, read_block, region_text, render_device_tables, stale_regions
from hal.protocol import HEADER

DOCUMENT = DOC_PATH.read_text(encoding="utf-8")


def test_generated_tables_are_current() -> None:
    stale = stale_regions(DOCUMENT)
    assert not stale, (
        f"docs/icd.md is stale in region(s) {stale}: hal/icd.toml or hal/protocol.py changed. "
        "Run: python -m hal.icd_gen --write"
    )


def test_every_command_field_and_fault_is_in_the_document() -> None:
    tables = region_text(DOCUMENT, "DEVICE TABLES")
    for spec in DEVICES.values():
        assert f"### {spec.name} — address 0x{spec.address:02X}" in tables
        for command in spec.commands:
            assert f"| 0x{command.id:02X} | `{command.name}` | {1 + command.args_layout.size} |" in tables
        for fld in spec.telemetry:
            assert f"`{fld.name}`" in tables
        for bit, name in enumerate(spec.faults):
            assert f"| {bit} | 0x{1 << bit:04X} | `{name}` |" in tables
    for command in COMMON_COMMANDS:
        assert f"`{command.name}`" in tables


def _telemetry_rows(device: str) -> list[tuple[int, str, str]]:
    section = render_device_tables().split(f"#### {device}: telemetry block")[1].split("####")[0]
    return [
        (int(m.group(1)), m.group(2), m.group(3))
        for m in re.finditer(r"^\| (\d+) \| `(\w+)` \| (\w+) \|", section, flags=re.MULTILINE)
    ]


_SIZES = {"u8": 1, "i8": 1, "u16": 2, "i16": 2, "u32": 4, "i32": 4, "f32": 4}


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_telemetry_offsets_add_up(device: str) -> None:
    rows = _telemetry_rows(device)
    layout = DEVICES[device].telemetry_layout
    assert [name for _, name, _ in rows] == list(layout.names)
    offset = 0
    for row_offset, name, c_type in rows:
        assert row_offset == offset, f"{device}.{name} at {row_offset}, expected {offset}"
        offset += _SIZES[c_type]
    assert offset == layout.size
    assert f"Size: {layout.size} bytes." in render_device_tables().split(f"#### {device}: telemetry block")[1]


def test_ranges_and_motion_flags_are_rendered() -> None:
    tables = render_device_tables()
    feed = next(line for line in tables.splitlines() if "| `feed` |" in line)
    assert "| yes |" in feed
    assert "`depth_m` f32 [m] 0 … 3" in feed and "`rate_m_s` f32 [m/s] 0.0001 … 0.01" in feed
    deadman = next(line for line in tables.splitlines() if "| `set_deadman` |" in line)
    assert "50 … 60000" in deadman and "| no |" in deadman


def test_check_and_write_on_a_stale_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "icd.md"
    stale = DOCUMENT.replace("| 0x10 | `spin` |", "| 0x10 | `spinning` |", 1)
    assert stale != DOCUMENT
    copy.write_text(stale, encoding="utf-8")
    assert main(["--check", "--path", str(copy)]) == 1
    assert "run: python -m hal.icd_doc --write" in capsys.readouterr().out
    assert main(["--write", "--path", str(copy)]) == 0
    assert copy.read_text(encoding="utf-8") == DOCUMENT
    assert main(["--check", "--path", str(copy)]) == 0


def test_missing_markers_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "icd.md"
    copy.write_text(DOCUMENT.replace("<!-- END GENERATED DEVICE TABLES -->", ""), encoding="utf-8")
    assert main(["--check", "--path", str(copy)]) == 2
    assert "END GENERATED DEVICE TABLES" in capsys.readouterr().err
    assert main(["--write", "--path", str(tmp_path / "missing.md")]) == 2


def test_read_block_names_a_broken_line() -> None:
    with pytest.raises(ValueError, match="line 2: expected one JSON object"):
        read_block("```x\n{}\n{broken\n```\n", "x")
    with pytest.raises(ValueError, match="no ```y block"):
        read_block("text", "y")


def test_an_undocumented_code_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = dict(icd_doc._NACK_RULES)
    rules.pop(next(iter(rules)))
    monkeypatch.setattr(icd_doc, "_NACK_RULES", rules)
    with pytest.raises(ValueError, match="no ICD description for \\['BAD_LENGTH'\\]"):
        icd_doc.render_message_tables()


# ------------------------------------------------------------------------------- the C reference
_HARNESS = r"""
#include <stdio.h>
#include <string.h>
_Static_assert(sizeof(icd_header_t) == 8, "header must be 8 bytes");

static size_t parse(const char *hex, uint8_t *out)
{
    size_t n = 0;
    unsigned value;
    int used;
    while (sscanf(hex, " %2x%n", &value, &used) == 1) {
        out[n++] = (uint8_t)value;
        hex += used;
    }
    return n;
}

static void show(const uint8_t *data, long n)
{
    for (long i = 0; i < n; i++) printf("%02x", data[i]);
    printf("\n");
}

int main(void)
{
    static char line[8192];
    static uint8_t in[2048], out[4096];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = parse(line + 4, in);
        if (!strncmp(line, "crc ", 4)) {
            printf("%08x\n", icd_crc32(in, n));
        } else if (!strncmp(line, "enc ", 4)) {
            show(out, (long)icd_cobs_encode(in, n, out));
        } else if (!strncmp(line, "dec ", 4)) {
            long m = icd_cobs_decode(in, n, out);
            if (m < 0) printf("cobs-error\n"); else show(out, m);
        } else if (!strncmp(line, "chk ", 4)) {
            long m = icd_cobs_decode(in, n, out);
            printf("%d\n", m < 0 ? -9 : icd_check_frame(out, (size_t)m));
        }
    }
    return 0;
}
"""


def _c_blocks(document: str) -> str:
    return "\n".join(re.findall(r"```c\n(.*?)```", document, flags=re.DOTALL))


def test_c_reference_code_reproduces_the_vectors(tmp_path: Path) -> None:
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        pytest.skip("no C compiler on this machine to build the ICD's C reference code")
    source = tmp_path / "icd_reference.c"
    source.write_text("#include <stddef.h>\n#include <stdint.h>\n" + _c_blocks(DOCUMENT) + _HARNESS)
    binary = tmp_path / "icd_reference"
    subprocess.run(
        [compiler, "-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-o", str(binary), str(source)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    frames = read_block(DOCUMENT, "icd-vectors")
    cobs = read_block(DOCUMENT, "cobs-vectors")
    queries: list[tuple[str, str]] = [("crc 313233343536373839", "cbf43926")]  # the CRC-32 check value
    for vector in frames:
        wire = bytes.fromhex(vector["wire"])[:-1]
        if vector["valid"]:
            raw = bytes.fromhex(vector["raw"])
            queries += [
                (f"crc {raw[:-4].hex()}", vector["crc32"][2:]),
                (f"enc {raw.hex()}", wire.hex()),
                (f"dec {wire.hex()}", raw.hex()),
                (f"chk {wire.hex()}", str(len(bytes.fromhex(vector["payload"])))),
            ]
        else:
            expected = {"CobsError": "-9", "FramingError": "-1", "CrcError": "-2", "VersionError": "-3"}
            queries.append((f"chk {wire.hex()}", expected[vector["error"]]))
    for vector in cobs:
        raw, encoded = bytes.fromhex(vector["raw"]), bytes.fromhex(vector["encoded"])
        queries += [(f"enc {raw.hex()}", encoded.hex()), (f"dec {encoded.hex()}", raw.hex())]
    run = subprocess.run(
        [str(binary)], input="\n".join(q for q, _ in queries) + "\n", capture_output=True, text=True, timeout=60
    )
    answers = run.stdout.splitlines()
    assert len(answers) == len(queries)
    wrong = [(q[:40], want, got) for (q, want), got in zip(queries, answers, strict=True) if want != got]
    assert not wrong, json.dumps(wrong[:5], indent=1)
    assert zlib.crc32(b"123456789") == 0xCBF43926


def test_c_reference_layout_matches_the_code() -> None:
    """The packed header struct in the document has the fields of hal.protocol.HEADER, in order."""
    fields = re.findall(r"uint(8|16)_t\s+(\w+);", DOCUMENT.split("typedef struct")[1].split("icd_header_t")[0])
    assert [name for _, name in fields] == ["version", "address", "msg_type", "flags", "seq", "length"]
    assert sum(int(bits) // 8 for bits, _ in fields) == HEADER.size
    assert HEADER.format == "<BBBBHH"
