"""Subscriptions by kind: what the ground core and a hub feed hand their arrivals to.

Each kind keeps its callbacks in subscription order; a callback that raises is logged and skipped, so a
buggy subscriber never stops the thread that delivers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from ground.errors import GroundError

_LOGGER = logging.getLogger(__name__)


class Subscribers:
    """Callbacks for each of ``kinds``; thread-safe."""

    def __init__(self, kinds: Iterable[str]) -> None:
        self._callbacks: dict[str, list[Callable[..., None]]] = {kind: [] for kind in kinds}
        self._lock = threading.Lock()

    def subscribe(self, kind: str, cb: Callable[..., None]) -> Callable[[], None]:
        """Call ``cb`` on every ``kind`` of arrival; returns an unsubscribe function."""
        if kind not in self._callbacks:
            raise GroundError(f"cannot subscribe to {kind!r}; expected one of: {', '.join(self._callbacks)}")
        with self._lock:
            self._callbacks[kind].append(cb)

        def unsubscribe() -> None:
            with self._lock:
                if cb in self._callbacks[kind]:
                    self._callbacks[kind].remove(cb)

        return unsubscribe

    def emit(self, kind: str, *payload: Any) -> None:
        """Call every ``kind`` callback with ``payload`` (outside the lock)."""
        with self._lock:
            callbacks = list(self._callbacks[kind])
        for callback in callbacks:
            try:
                callback(*payload)
            except Exception:
                _LOGGER.exception("%s subscriber %r failed", kind, callback)
