"""A partner acting as a witness: it cosigns a checkpoint only after checking it against the records it
verified, and only if the tree it cosigned before is a prefix of this one (its state file keeps the size and
root of its last cosignature). Used by ``isru ledger cosign`` and the console's Ledger view."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

from ground.errors import LedgerError
from ground.ledger.checkpoint import cosign, open_checkpoint
from link.note import Signer, Verifier

__all__ = ["Witness"]


class Witness:
    """Cosigns with ``signer``; remembers its last cosigned ``(size, root)`` in ``state`` (a small text file)."""

    def __init__(self, signer: Signer, state: str | Path) -> None:
        self.signer = signer
        self.state = Path(state)

    def last(self) -> tuple[int, bytes] | None:
        """The size and root of the last checkpoint this witness cosigned (None before the first)."""
        if not self.state.exists():
            return None
        try:
            size, root = self.state.read_text().split()
            return int(size), base64.b64decode(root, validate=True)
        except (OSError, ValueError) as exc:
            raise LedgerError(f"{self.state}: unreadable witness state: {exc}") from exc

    def cosign(self, note: str, log: Verifier, root_at: Callable[[int], bytes | None], t: int) -> str:
        """``note`` cosigned at POSIX time ``t``, after checking that its root is that of the verified records
        (``root_at(size)``: the root of the first ``size`` records, None when fewer are held) and that the last
        cosigned tree is a prefix of it. :class:`LedgerError` says what failed; nothing is signed then."""
        head, _ = open_checkpoint(note, log)
        if root_at(head.size) != head.root:
            raise LedgerError(f"checkpoint {head.size}: its root is not that of the verified records; not cosigned")
        last = self.last()
        if last is not None:
            size, root = last
            if size > head.size or root_at(size) != root:
                raise LedgerError(
                    f"checkpoint {head.size} is not consistent with checkpoint {size} this witness cosigned before: "
                    "the log forked or went back; not cosigned"
                )
        cosigned = cosign(note, log, self.signer, t)
        try:
            self.state.write_text(f"{head.size} {base64.b64encode(head.root).decode()}\n")
        except OSError as exc:
            raise LedgerError(f"{self.state}: cannot record the cosignature: {exc}") from exc
        return cosigned
