"""The callbacks a ground link client delivers to: each kind in registration order, a failing one logged and
skipped (the link's thread must survive it)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

_LOGGER = logging.getLogger(__name__)

__all__ = ["Listeners", "Samples"]

#: A telemetry packet's samples: ``(channel, t epoch s, value)``.
Samples = list[tuple[str, float, Any]]

_Callback = TypeVar("_Callback", bound=Callable[..., object])


@dataclass
class _Kind(Generic[_Callback]):
    callbacks: list[_Callback] = field(default_factory=list)

    def add(self, cb: _Callback) -> None:
        self.callbacks.append(cb)

    def __call__(self, *args: Any) -> None:
        for cb in self.callbacks:
            try:
                cb(*args)
            except Exception:
                _LOGGER.exception("link callback %r failed", cb)


class Listeners:
    """Callbacks by kind: ``dictionary(d)``, ``telemetry(seq, samples)``, ``event(seq, event)``,
    ``status(status)`` and ``link(link_status)``; calling a kind calls each of its callbacks."""

    def __init__(self) -> None:
        self.dictionary: _Kind[Callable[[dict[str, Any]], None]] = _Kind()
        self.telemetry: _Kind[Callable[[int, Samples], None]] = _Kind()
        self.event: _Kind[Callable[[int, dict[str, Any]], object]] = _Kind()
        self.status: _Kind[Callable[[dict[str, Any]], None]] = _Kind()
        self.link: _Kind[Callable[[Any], None]] = _Kind()
