"""RFC 9162 hashing and proofs: the published test vectors, and a cross-check against pymerkle.

The vectors are the RFC 6962/9162 reference tree of the Certificate Transparency test data (eight leaves,
the roots of every prefix, inclusion and consistency proofs), as used by every CT implementation's tests.
"""

from __future__ import annotations

import hashlib
import random

import pytest

from ground.ledger.merkle import EMPTY_ROOT, MerkleTree, leaf_hash, node_hash, verify_consistency, verify_inclusion

LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = {
    (0, 1): [],
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (1, 5): [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
CONSISTENCY = {
    (1, 1): [],
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
    (6, 7): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


@pytest.fixture
def tree() -> MerkleTree:
    t = MerkleTree()
    for leaf in LEAVES:
        t.append(leaf)
    return t


def test_hashing_is_domain_separated_sha256() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()


def test_roots_of_every_prefix_match_the_reference_tree(tree: MerkleTree) -> None:
    assert tree.root(0) == EMPTY_ROOT
    assert [tree.root(n).hex() for n in range(1, 9)] == ROOTS


@pytest.mark.parametrize(("index", "size"), sorted(INCLUSION))
def test_inclusion_proofs_match_and_verify(tree: MerkleTree, index: int, size: int) -> None:
    proof = tree.inclusion_proof(index, size)
    assert [p.hex() for p in proof] == INCLUSION[(index, size)]
    root = bytes.fromhex(ROOTS[size - 1])
    assert verify_inclusion(leaf_hash(LEAVES[index]), index, size, proof, root)
    assert not verify_inclusion(leaf_hash(LEAVES[index] + b"x"), index, size, proof, root)
    if size > 1:
        assert not verify_inclusion(leaf_hash(LEAVES[index]), (index + 1) % size, size, proof, root)
        assert not verify_inclusion(leaf_hash(LEAVES[index]), index, size, proof[:-1], root)


@pytest.mark.parametrize(("first", "second"), sorted(CONSISTENCY))
def test_consistency_proofs_match_and_verify(tree: MerkleTree, first: int, second: int) -> None:
    proof = tree.consistency_proof(first, second)
    assert [p.hex() for p in proof] == CONSISTENCY[(first, second)]
    old, new = bytes.fromhex(ROOTS[first - 1]), bytes.fromhex(ROOTS[second - 1])
    assert verify_consistency(first, second, old, new, proof)
    if first != second:
        assert not verify_consistency(first, second, bytes.fromhex(ROOTS[second - 1]), new, proof)
        assert not verify_consistency(first, second, old, old, proof)


def test_every_proof_of_every_size_up_to_70_verifies_and_a_flipped_hash_fails() -> None:
    t = MerkleTree(leaf_hash(b"leaf %d" % i) for i in range(70))
    rng = random.Random(3)
    for n in range(1, 71):
        root = t.root(n)
        for i in range(n):
            assert verify_inclusion(t.leaf(i), i, n, t.inclusion_proof(i, n), root)
        for m in range(0, n + 1):
            assert verify_consistency(m, n, t.root(m), root, t.consistency_proof(m, n))
        proof = t.consistency_proof(n // 2 or 1, n)
        if proof:
            k = rng.randrange(len(proof))
            proof[k] = bytes([proof[k][0] ^ 1]) + proof[k][1:]
            assert not verify_consistency(n // 2 or 1, n, t.root(n // 2 or 1), root, proof)


def test_roots_and_inclusion_paths_agree_with_pymerkle() -> None:
    pymerkle = pytest.importorskip("pymerkle")
    reference = pymerkle.InmemoryTree(algorithm="sha256")
    ours = MerkleTree()
    for i in range(45):
        entry = b"entry %d" % i
        reference.append_entry(entry)
        ours.append(entry)
    for n in range(1, 46):
        root = reference._get_root(0, n)
        assert root == ours.root(n)
        for i in range(n):
            path = [bytes.fromhex(h) for h in reference.prove_inclusion(i + 1, n).serialize()["path"]]
            # pymerkle's path also holds the leaf's own hash; the siblings, bottom up, are the RFC 9162 path
            assert [h for h in path if h != ours.leaf(i)] == ours.inclusion_proof(i, n)
        for m in range(1, n):
            assert verify_consistency(m, n, reference._get_root(0, m), root, ours.consistency_proof(m, n))
