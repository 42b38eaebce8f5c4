"""What the live demo says when the mission stops: well-formed sentences, the commands that recover, and the
console named only when the demo serves one."""

from __future__ import annotations

import re

from isru.demo_loop import RecoveryHint

ENDPOINT, KEYS = "tcp://127.0.0.1:7700", "/home/op/.isru/keys"


def _sentences_start_upper(text: str) -> bool:
    """Every sentence after the first (after '. ' outside a backquoted command) begins with a capital letter."""
    prose = re.sub(r"`[^`]*`", "CMD", text)
    return all(part[:1].isupper() for part in prose.split(". ")[1:])


def test_safe_with_the_emergency_stop_latched_reads_as_sentences_with_both_steps() -> None:
    text = RecoveryHint(ENDPOINT, KEYS).safe_text(estopped=True)
    assert _sentences_start_upper(text), text
    assert "Once the emergency stop is released, recover with `isru ground send mission.recover --yes" in text
    assert "--endpoint tcp://127.0.0.1:7700 --keys /home/op/.isru/keys`" in text
    assert "Flight, ground and the console keep running." in text and "Commands page" in text


def test_without_a_console_the_hints_do_not_mention_one() -> None:
    hint = RecoveryHint(ENDPOINT, KEYS, console=False)
    for text in (hint.safe_text(estopped=True), hint.safe_text(estopped=False), hint.estop_text()):
        assert "console" not in text.lower(), text
        assert "Flight and ground keep running." in text
        assert _sentences_start_upper(text), text
    assert "Recover with `isru ground send mission.recover --yes" in hint.safe_text(estopped=False)
    assert "Release it with `isru ground send estop.reset --yes" in hint.estop_text()


def test_a_hold_names_resume_and_abort_as_sentences() -> None:
    text = RecoveryHint(ENDPOINT, KEYS).hold_text()
    assert _sentences_start_upper(text), text
    assert "resume the held step with `isru ground send mission.resume --yes" in text
    assert "end the cycle with `isru ground send mission.abort --yes" in text
