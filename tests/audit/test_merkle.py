"""RFC 9162 Merkle hashing: known-answer roots and exhaustive proof checks."""

from __future__ import annotations

import hashlib

import pytest

from fusionguard.audit.merkle import (
    EMPTY_ROOT,
    CompactTree,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

# The reference leaves and roots used by Certificate Transparency and transparency-dev's merkle tests.
REFERENCE_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
REFERENCE_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
LEAVES_20 = [leaf_hash(hashlib.sha256(bytes([i])).digest()) for i in range(20)]


@pytest.mark.parametrize("size", range(9))
def test_reference_roots(size: int) -> None:
    leaves = [leaf_hash(entry) for entry in REFERENCE_LEAVES[:size]]
    assert root_hash(leaves).hex() == REFERENCE_ROOTS[size]
    compact = CompactTree()
    for leaf in leaves:
        compact.append(leaf)
    assert compact.root().hex() == REFERENCE_ROOTS[size]


def test_empty_root_is_hash_of_nothing() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT


def test_reference_inclusion_vector() -> None:
    # Leaf 0 of the 8-leaf reference tree, from the same published test data.
    leaves = [leaf_hash(entry) for entry in REFERENCE_LEAVES]
    assert [p.hex() for p in inclusion_proof(leaves, 0)] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]


@pytest.mark.parametrize("n", range(1, 21))
def test_inclusion_every_leaf(n: int) -> None:
    leaves = LEAVES_20[:n]
    root = root_hash(leaves)
    for m in range(n):
        proof = inclusion_proof(leaves, m)
        verify_inclusion(m, n, leaves[m], proof, root)
        with pytest.raises(ProofError):
            verify_inclusion(m, n, leaf_hash(b"forged"), proof, root)
        if proof:
            broken = [*proof[:-1], hashlib.sha256(proof[-1]).digest()]
            with pytest.raises(ProofError):
                verify_inclusion(m, n, leaves[m], broken, root)
            with pytest.raises(ProofError):
                verify_inclusion(m, n, leaves[m], proof[:-1], root)


@pytest.mark.parametrize("n", range(1, 21))
def test_consistency_every_pair(n: int) -> None:
    leaves = LEAVES_20[:n]
    new_root = root_hash(leaves)
    for m in range(1, n + 1):
        old_root = root_hash(leaves[:m])
        proof = consistency_proof(leaves, m)
        verify_consistency(m, n, old_root, new_root, proof)
        if m < n:
            with pytest.raises(ProofError):
                verify_consistency(m, n, leaf_hash(b"other history"), new_root, proof)
            with pytest.raises(ProofError):
                verify_consistency(m, n, old_root, leaf_hash(b"other head"), proof)
            # A log that rewrote leaf 0 cannot prove consistency with its own old head.
            rewritten = [leaf_hash(b"rewritten"), *leaves[1:]]
            with pytest.raises(ProofError):
                verify_consistency(m, n, old_root, root_hash(rewritten), consistency_proof(rewritten, m))


def test_compact_tree_round_trip() -> None:
    compact = CompactTree()
    for size, leaf in enumerate(LEAVES_20, start=1):
        compact.append(leaf)
        restored = CompactTree.from_bytes(size, compact.to_bytes())
        assert restored.root() == root_hash(LEAVES_20[:size])
    with pytest.raises(ValueError):
        CompactTree(3, [EMPTY_ROOT])
