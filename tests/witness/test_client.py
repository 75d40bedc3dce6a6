"""The witness client's memoised consistency proofs equal RFC 9162's, and verify."""

from __future__ import annotations

from fusionguard.audit.merkle import consistency_proof, leaf_hash, root_hash, verify_consistency
from fusionguard.witness.client import Subtrees


def test_memoised_proofs_match_the_reference() -> None:
    leaves: list[bytes] = []
    subtrees = Subtrees(leaves)
    for size in range(1, 300):
        leaves.append(leaf_hash(size.to_bytes(4, "big")))
        for old in {1, size // 3 or 1, size // 2 or 1, 64, 128, size - 1 or 1, size}:
            if old <= size:
                proof = subtrees.consistency(old, size)
                assert proof == consistency_proof(leaves, old)
                verify_consistency(old, size, root_hash(leaves[:old]), root_hash(leaves), proof)
    assert subtrees.memo  # subtrees of 64+ leaves were remembered
