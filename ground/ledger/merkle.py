"""RFC 9162 Merkle trees (section 2.1): hashing, roots, inclusion and consistency proofs, and their
verification algorithms (2.1.3.2, 2.1.4.2), for the ground log and for ``isru ledger verify`` offline.

Leaf hash = SHA-256(0x00 || leaf bytes); node hash = SHA-256(0x01 || left || right); the root of the
empty tree is SHA-256 of the empty string. :class:`MerkleTree` keeps the hash of every complete, aligned
subtree (level ``k`` holds subtrees of ``2**k`` leaves), so appending is amortised O(1) and any root or
proof costs O(log n) node hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "MerkleTree",
    "leaf_hash",
    "node_hash",
    "verify_consistency",
    "verify_inclusion",
]

_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    """SHA-256(0x00 || leaf)."""
    return _sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only tree of leaf hashes; roots and proofs for any size up to the current one."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append_hash(h)

    @property
    def size(self) -> int:
        """How many leaves."""
        return len(self.levels[0])

    def append_hash(self, h: bytes) -> int:
        """Add a leaf by its leaf hash; returns its index."""
        levels = self.levels
        index = len(levels[0])
        levels[0].append(h)
        i, k = index, 0
        while i & 1:
            h = node_hash(levels[k][i - 1], h)
            k += 1
            if len(levels) == k:
                levels.append([])
            levels[k].append(h)
            i >>= 1
        return index

    def append(self, leaf: bytes) -> int:
        """Add a leaf by its bytes; returns its index."""
        return self.append_hash(leaf_hash(leaf))

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index``."""
        return self.levels[0][index]

    def _subtree(self, start: int, end: int) -> bytes:
        """MTH of leaves ``[start, end)`` (end <= size)."""
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            return self.levels[n.bit_length() - 1][start // n]
        k = _split(n)
        return node_hash(self._subtree(start, start + k), self._subtree(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        """The root of the first ``size`` leaves (default: all)."""
        size = self.size if size is None else size
        self._check_size(size)
        return EMPTY_ROOT if size == 0 else self._subtree(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]): the audit path of leaf ``index`` in the tree of ``size`` leaves."""
        size = self.size if size is None else size
        self._check_size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf index {index}: expected 0 <= index < tree size {size}")
        proof: list[bytes] = []
        start, end, m = 0, size, index
        while end - start > 1:
            k = _split(end - start)
            if m < k:
                proof.append(self._subtree(start + k, end))
                end = start + k
            else:
                proof.append(self._subtree(start, start + k))
                start, m = start + k, m - k
        proof.reverse()
        return proof

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """PROOF(first, D[0:second]): that the tree of ``first`` leaves is a prefix of that of ``second``."""
        second = self.size if second is None else second
        self._check_size(second)
        if not 0 <= first <= second:
            raise ValueError(f"consistency from {first} to {second}: expected 0 <= first <= second")
        if first in (0, second):
            return []
        proof: list[bytes] = []
        start, end, m, whole = 0, second, first, True
        while True:
            n = end - start
            if m == n:
                if not whole:
                    proof.append(self._subtree(start, end))
                break
            k = _split(n)
            if m <= k:
                proof.append(self._subtree(start + k, end))
                end = start + k
            else:
                proof.append(self._subtree(start, start + k))
                start, m, whole = start + k, m - k, False
        proof.reverse()
        return proof

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size}: expected 0..{self.size}")


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2: True if ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree ``(size, root)``."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2: True if ``proof`` shows tree ``(first, first_root)`` is a prefix of
    ``(second, second_root)``. The empty tree is a prefix of every tree."""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
