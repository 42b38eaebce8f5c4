"""The console's Ledger view: records with signature and proof status, checkpoints with their witnesses, and a
partner cosigning the newest checkpoint from its console (NiceGUI's simulated user, a real log file)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from nicegui.testing import User, user_simulation

from base.clock import RealClock
from ground.console.app import register_pages
from ground.console.context import ConsoleContext, ConsoleSettings
from ground.ledger.reader import LedgerReader
from ground.ledger.witness import Witness
from link.ledger_keys import add_witness, init_ledger_keys, load_signer
from tests.support.console_support import archive_only_core
from tests.support.ledger_support import filled_log

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ConsoleContext]:
    keys = tmp_path / "keys"
    init_ledger_keys(keys)
    rover, log_key = load_signer(keys / "ledger" / "rover.skey"), load_signer(keys / "ledger" / "log.skey")
    log, _ = filled_log(tmp_path / "ledger.sqlite", 4, rover=rover, log_key=log_key)
    log.close()
    partner = load_signer(add_witness(tmp_path / "partner", "esa.example/w1"))
    core = archive_only_core(tmp_path, RealClock())
    context = ConsoleContext(core, RealClock(), ConsoleSettings(refresh_period_s=0.05))
    context.ledger = LedgerReader(tmp_path / "ledger.sqlite", log_key.verifier, rover.verifier, [partner.verifier])
    context.witness = Witness(partner, tmp_path / "partner.state")
    yield context
    context.detach()
    core.close()
    core.archive.close()


@pytest_asyncio.fixture
async def user(ctx: ConsoleContext) -> AsyncIterator[User]:
    async with user_simulation() as simulated:
        register_pages(ctx)
        yield simulated


async def test_ledger_view_shows_records_proofs_checkpoints_and_a_partner_cosigns(user: User) -> None:
    await user.open("/ledger")
    await user.should_see("4 record(s), 4 checkpoint(s); everything verifies")
    records = next(iter(user.find(marker="ledger-records").elements)).rows
    assert [r["cycle"] for r in records] == [4, 3, 2, 1]
    assert all(r["signature"] == "signed by the rover" and r["proof"] == "included in checkpoint 4" for r in records)
    heads = next(iter(user.find(marker="ledger-checkpoints").elements))
    assert [h["size"] for h in heads.rows] == [4, 3, 2, 1] and heads.rows[0]["witnesses"] == "none"
    user.find(marker="ledger-cosign").click()
    await user.should_see("checkpoint 4 cosigned by esa.example/w1")
    assert heads.rows[0]["witnesses"] == "esa.example/w1" and heads.rows[1]["witnesses"] == "none"


async def test_without_a_ledger_log_the_view_says_how_to_get_one(user: User, ctx: ConsoleContext) -> None:
    ctx.ledger = None
    await user.open("/ledger")
    await user.should_see("No ledger log: start the console with --ledger FILE")
