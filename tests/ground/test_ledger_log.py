"""The ground hub's ledger log: appends, checkpoints, witness cosignatures, refusals, and kill -9 mid-append."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from base.clock import VirtualClock
from ground.errors import LedgerError
from ground.ledger.bundle import export_bundle, verify_bundle
from ground.ledger.checkpoint import cosign, open_checkpoint, witnesses
from ground.ledger.hub import LedgerHub
from ground.ledger.log import LedgerLog
from ground.ledger.report import report_rows, write_csv, write_html
from isru.cli import main
from link.ledger_keys import add_witness, init_ledger_keys, load_signer, load_verifier
from link.note import ALG_COSIGNATURE, generate
from tests.support.ledger_support import filled_log, signed_records


def test_appends_are_idempotent_and_survive_a_reopen(tmp_path: Path) -> None:
    log, _ = filled_log(tmp_path / "ledger.sqlite", 5)
    leaves = log.leaves()
    assert log.append(leaves[2]) == 2 and log.size == 5  # a re-delivered record keeps its place
    root, key = log.tree.root(), log.signer
    log.close()
    again = LedgerLog(tmp_path / "ledger.sqlite", key, VirtualClock())
    assert again.size == 5 and again.tree.root() == root
    head, _ = open_checkpoint(again.latest_note() or "", key.verifier)
    assert head.size == 5 and head.root == root
    again.close()


def test_a_leaf_changed_in_the_file_is_refused_on_open(tmp_path: Path) -> None:
    log, _ = filled_log(tmp_path / "ledger.sqlite", 4)
    key = log.signer
    log.close()
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        db.execute("UPDATE leaves SET hash = zeroblob(32) WHERE idx = 1")
    with pytest.raises(LedgerError, match="do not produce the root of the newest checkpoint"):
        LedgerLog(tmp_path / "ledger.sqlite", key, VirtualClock())


def test_the_hub_refuses_records_not_signed_by_the_rover(tmp_path: Path) -> None:
    log = LedgerLog(tmp_path / "ledger.sqlite", generate("g/ledger"), VirtualClock())
    hub = LedgerHub(log, generate("isru-rover").verifier)
    forged = signed_records(1, generate("isru-rover"))[0].decode()
    assert (
        hub.handle_event({"source": "ledger", "name": "extraction_record", "seq": 9, "data": {"leaf": forged}}) is None
    )
    assert hub.handle_event({"source": "mission", "name": "transition", "seq": 10, "data": {}}) is None
    assert hub.handle_event({"source": "ledger", "name": "extraction_record", "seq": 11, "data": {}}) is None
    assert log.size == 0 and len(hub.refused) == 2
    assert "event 9: record refused: signed by key" in hub.refused[0]
    log.close()


def test_partners_cosign_checkpoints_and_the_log_keeps_every_witness(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    init_ledger_keys(keys)
    w1, w2 = (load_signer(add_witness(keys, name)) for name in ("esa.example/w1", "jaxa.example/w1"))
    assert w1.alg == ALG_COSIGNATURE
    log, _ = filled_log(tmp_path / "ledger.sqlite", 3)
    log.cosign_latest(w1)
    note = log.cosign_latest(w2)
    found = witnesses(note, log.verifier, [w1.verifier, w2.verifier])
    assert sorted(c.name for c in found) == ["esa.example/w1", "jaxa.example/w1"]
    lines = note.split("\n")
    at = next(i for i, line in enumerate(lines) if "esa.example/w1 " in line)
    cut = len("\u2014 esa.example/w1 ") + 40  # a character inside the Ed25519 signature
    lines[at] = lines[at][:cut] + ("B" if lines[at][cut] != "B" else "C") + lines[at][cut + 1 :]
    tampered = "\n".join(lines)
    assert [c.name for c in witnesses(tampered, log.verifier, [w1.verifier, w2.verifier])] == ["jaxa.example/w1"]
    other = LedgerLog(tmp_path / "other.sqlite", generate("test-ground/ledger"), VirtualClock())
    foreign = cosign(other.checkpoint(), other.verifier, w1, 1)
    with pytest.raises(LedgerError):
        log.add_cosignature(foreign, w1.name)
    with pytest.raises(LedgerError, match="cosignature key"):
        cosign(note, log.verifier, generate("plain"), 1)
    other.close()
    export_bundle(log, tmp_path / "bundle", generate("x").verifier, [w1.verifier, w2.verifier])
    assert load_verifier(tmp_path / "bundle" / "keys" / "witnesses" / "esa.example_w1.vkey") == w1.verifier
    log.close()


def test_a_partner_cosigns_a_bundle_from_the_cli_and_the_log_stores_it(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    init_ledger_keys(keys)
    rover, log_key = load_signer(keys / "ledger" / "rover.skey"), load_signer(keys / "ledger" / "log.skey")
    log, _ = filled_log(tmp_path / "ledger.sqlite", 4, rover=rover, log_key=log_key)
    log.close()
    common = ["--log", str(tmp_path / "ledger.sqlite"), "--keys", str(keys)]
    assert main(["ledger", "export", str(tmp_path / "b"), *common]) == 0
    assert main(["ledger", "witness-key", str(tmp_path / "partner"), "esa.example/w1"]) == 0
    skey = str(tmp_path / "partner" / "ledger" / "witnesses" / "esa.example_w1.skey")
    assert main(["ledger", "cosign", str(tmp_path / "b"), "--witness-key", skey]) == 0
    assert main(["ledger", "add-cosignature", str(tmp_path / "b" / "checkpoint"), *common]) == 0
    again = LedgerLog(tmp_path / "ledger.sqlite", log_key, VirtualClock())
    partner = load_verifier(skey.replace(".skey", ".vkey"))
    assert [c.name for c in witnesses(again.checkpoints()[-1][1], log_key.verifier, [partner])] == ["esa.example/w1"]
    again.close()


def test_the_period_report_lists_each_extraction_with_its_checkpoint(tmp_path: Path) -> None:
    log, rover = filled_log(tmp_path / "ledger.sqlite", 4)
    export_bundle(log, tmp_path / "b", rover.verifier)
    log.close()
    verified = verify_bundle(tmp_path / "b")
    t0 = verified.entries[1]["end_t"]
    rows = report_rows(verified, verified.roots, t0, t0 + 7200.0)
    assert [(r["cycle"], r["checkpoint_size"]) for r in rows] == [(2, 2), (3, 3)]
    write_csv(rows, tmp_path / "r.csv")
    write_html(rows, tmp_path / "r.html", "Q1 <report>")
    assert (tmp_path / "r.csv").read_text().splitlines()[0].startswith("index,rover,licence,cycle,site,x_m,y_m")
    page = (tmp_path / "r.html").read_text()
    assert "Q1 &lt;report&gt;" in page and "2 extraction(s): 0.360 kg water" in page and "LIC-2030-001" in page


APPENDER = textwrap.dedent(
    """
    import sys
    from base.clock import RealClock
    from ground.ledger.log import LedgerLog
    from link.ledger_keys import load_signer
    log = LedgerLog(sys.argv[1], load_signer(sys.argv[2]), RealClock())
    n = log.size
    print("ready", flush=True)
    while True:
        log.append_many([b'{"n":%d,"pad":"%s"}' % (n + i, b"x" * 200) for i in range(50)])
        n += 50
        log.checkpoint()
    """
)


@pytest.mark.timeout(120)
def test_kill_9_during_appends_leaves_a_consistent_log(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    init_ledger_keys(keys)
    skey = keys / "ledger" / "log.skey"
    path = tmp_path / "ledger.sqlite"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    sizes = []
    for attempt in range(3):
        child = subprocess.Popen(
            [sys.executable, "-c", APPENDER, str(path), str(skey)], stdout=subprocess.PIPE, env=env
        )
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
        time.sleep(0.3 + 0.2 * attempt)  # test-side wall time: let it append for a while, then kill it mid-stream
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        log = LedgerLog(path, load_signer(skey), VirtualClock())  # refuses to open if leaves and checkpoint disagree
        assert log.size % 50 == 0 and log.size > (sizes[-1] if sizes else 0)
        head, _ = open_checkpoint(log.latest_note() or "", log.verifier)
        assert head.size <= log.size and log.tree.root(head.size) == head.root
        sizes.append(log.size)
        log.close()
    log = LedgerLog(path, load_signer(skey), VirtualClock())
    for size, note, _t in log.checkpoints():
        head, _ = open_checkpoint(note, log.verifier)
        assert head.root == log.tree.root(size)
    log.close()
