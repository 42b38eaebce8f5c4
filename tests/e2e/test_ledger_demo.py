"""``isru demo --headless --ledger-export DIR`` then ``isru ledger verify / report``: the whole path a partner
takes — records signed by flight's record book as each cycle's extraction is booked, the same log the hub
runs, a bundle checked offline, a tampered copy refused naming the line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_demo import SHORT_CYCLE

ISRU = [sys.executable, "-m", "isru.cli"]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_headless_demo_exports_a_bundle_that_verifies_and_tampering_is_named(tmp_path: Path) -> None:
    from isru.config import derived_config_text

    config = tmp_path / "short.toml"
    config.write_text(derived_config_text({**SHORT_CYCLE, "flight": {"licence": "LIC-TEST-9"}}))
    bundle = tmp_path / "bundle"
    run = subprocess.run(
        [
            *ISRU,
            "demo",
            "--headless",
            "--cycles",
            "2",
            "--json",
            "--config",
            str(config),
            "--ledger-export",
            str(bundle),
        ],
        capture_output=True,
        text=True,
        timeout=500,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)
    assert summary["ledger_export"]["records"] == summary["cycles_completed"] == 2
    records = [json.loads(line) for line in (bundle / "records.jsonl").read_text().splitlines()]
    for record, booked in zip(records, summary["ledger"], strict=True):
        assert record["cycle"] == booked["cycle"] and record["licence"] == "LIC-TEST-9"
        assert record["water_kg"] == pytest.approx(booked["water_kg"], abs=1e-6)
        assert record["regolith_kg"] == pytest.approx(booked["regolith_kg"], abs=1e-6)

    verify = subprocess.run([*ISRU, "ledger", "verify", str(bundle)], capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0 and "OK 2 record(s)" in verify.stdout, verify.stdout + verify.stderr

    report = subprocess.run(
        [*ISRU, "ledger", "report", str(bundle), "--from", "2000-01-01", "--to", "2100-01-01",
         "--csv", str(tmp_path / "r.csv"), "--html", str(tmp_path / "r.html")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert len((tmp_path / "r.csv").read_text().splitlines()) == 3

    tampered = tmp_path / "tampered"
    shutil.copytree(bundle, tampered)
    lines = (tampered / "records.jsonl").read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"water_kg":0.', b'"water_kg":1.')
    (tampered / "records.jsonl").write_bytes(b"\n".join(lines))
    refused = subprocess.run([*ISRU, "ledger", "verify", str(tampered)], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert "FAIL records.jsonl line 2: signature does not verify" in refused.stdout
