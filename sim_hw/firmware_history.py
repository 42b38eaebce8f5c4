"""What an emulated device received: the test-visible command history, in the manner of gpiozero's mock pins."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Received:
    """One command as the device received it (the test-visible history)."""

    t: float
    name: str
    args: dict[str, Any]
    outcome: str  # "ack", "started", or the NACK code name


class CommandHistory:
    """Every command a device received (:attr:`history`) and assertions over it."""

    history: list[Received]
    spec: Any

    def received(self, name: str) -> list[Received]:
        """Every recorded command called ``name``."""
        return [r for r in self.history if r.name == name]

    def assert_received(self, name: str, outcome: str | None = None, **args: Any) -> Received:
        """Assert the device received command ``name`` (with these argument values and outcome, if
        given; floats compared to 1e-6 relative) and return the latest such record."""
        for record in reversed(self.history):
            if record.name != name or (outcome is not None and record.outcome != outcome):
                continue
            if all(_close(record.args.get(k), v) for k, v in args.items()):
                return record
        seen = [(r.name, r.args, r.outcome) for r in self.history[-10:]]
        raise AssertionError(f"{self.spec.name} never received {name} {args} ({outcome}); last: {seen}")

    def assert_not_received(self, name: str) -> None:
        """Assert the device never received command ``name``."""
        hits = self.received(name)
        if hits:
            raise AssertionError(f"{self.spec.name} received {name} {len(hits)} time(s): {hits[-1]}")


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9)
    return a == b
