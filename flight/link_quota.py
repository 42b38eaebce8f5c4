"""Per-client caps of flight's link server: what one ground client (one key) may cost flight, accounted and
enforced, so a client over its cap is throttled or dropped with an event — never flight
(``docs/link.md``, Per-client limits).

* **Sessions:** at most ``max_sessions`` per key; a hello from one more routing id drops that key's longest
  silent session (event ``session_dropped``).
* **Queued bytes:** the bytes sent to a key's sessions and not yet acknowledged (they sit in libzmq's queues or
  in the network) are charged to the key; past ``max_bytes`` flight sends that key nothing more until acks
  free room (event ``throttled``, rate-limited). The charge of a dropped session stays for ``orphan_hold_s``,
  since its queue may still be held by libzmq.
* **Dictionary sends:** at most one per ``dictionary_interval_s`` per key; later requests are deferred, not
  dropped (the encoded dictionary itself is reused for ``dictionary_cache_s``).

Times are clock seconds (monotonic), sizes bytes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = ["ClientCharge", "LinkLimits", "Quotas", "Sent"]


@dataclass(frozen=True)
class LinkLimits:
    """The link server's caps and its per-pass time budget (µs of measured work per service call)."""

    budget_us: int = 5_000
    max_sessions: int = 4
    max_bytes: int = 8 * 1024 * 1024
    dictionary_interval_s: float = 2.0
    dictionary_cache_s: float = 1.0
    orphan_hold_s: float = 30.0
    #: The spool's size cap (bytes, 0 = none): past it the oldest unacknowledged packets are dropped.
    spool_max_bytes: int = 1024 * 1024 * 1024


@dataclass
class Sent:
    """What a session was sent and has not acknowledged: ``(stream, number, bytes)`` in send order
    (stream 0: packets by seq, 1: statuses by sseq) and their total."""

    frames: deque[tuple[int, int, int]] = field(default_factory=deque)
    bytes: int = 0

    def charge(self, stream: int, number: int, size: int) -> None:
        """Record ``size`` bytes sent as ``number`` of ``stream``."""
        self.frames.append((stream, number, size))
        self.bytes += size

    def settle(self, acked_seq: int, acked_sseq: int) -> int:
        """Forget what the acknowledged cursors cover (from the oldest on); returns the bytes freed."""
        freed = 0
        frames = self.frames
        while frames:
            stream, number, size = frames[0]
            if number > (acked_sseq if stream else acked_seq):
                break
            frames.popleft()
            freed += size
        self.bytes -= freed
        return freed


@dataclass
class ClientCharge:
    """One key's account: bytes charged by its live sessions, charges left by dropped ones
    ``(expiry, bytes)``, and when its next dictionary may be sent."""

    live: int = 0
    orphans: list[tuple[float, int]] = field(default_factory=list)
    dictionary_at: float = -1e18

    def total(self, now: float) -> int:
        """Bytes charged now (expired orphan charges dropped)."""
        if self.orphans:
            self.orphans = [(expiry, size) for expiry, size in self.orphans if expiry > now]
        return self.live + sum(size for _, size in self.orphans)


class Quotas:
    """The per-key accounts (see the module docstring)."""

    def __init__(self, limits: LinkLimits) -> None:
        self.limits = limits
        self.clients: dict[str, ClientCharge] = {}

    def account(self, client: str) -> ClientCharge:
        """The account of ``client`` (made on first use)."""
        account = self.clients.get(client)
        if account is None:
            account = self.clients[client] = ClientCharge()
        return account

    def room(self, client: str, now: float) -> int:
        """Bytes ``client`` may still be sent before its cap."""
        return self.limits.max_bytes - self.account(client).total(now)

    def charge(self, client: str, size: int) -> None:
        """``size`` more bytes sent to a live session of ``client``."""
        self.account(client).live += size

    def free(self, client: str, size: int) -> None:
        """``size`` bytes of ``client`` acknowledged."""
        self.account(client).live -= size

    def orphan(self, client: str, size: int, now: float) -> None:
        """A session of ``client`` holding ``size`` unacknowledged bytes was dropped: keep them charged for a while."""
        account = self.account(client)
        account.live -= size
        if size > 0:
            account.orphans.append((now + self.limits.orphan_hold_s, size))

    def dictionary_slot(self, client: str, now: float) -> float:
        """When the next dictionary for ``client`` may go (``now`` or later); books that slot."""
        account = self.account(client)
        slot = max(now, account.dictionary_at + self.limits.dictionary_interval_s)
        account.dictionary_at = slot
        return slot
