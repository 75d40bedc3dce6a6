"""The consent registry (identities, consent per role, reference embeddings), apart from the audit log."""

from __future__ import annotations

from fusionguard.registry.enrol import enrol_photos
from fusionguard.registry.identity_keys import IdentityKeyStore
from fusionguard.registry.registry import ROLES, ConsentRegistry, Grant, IdentityInfo, Match

__all__ = [
    "ROLES",
    "ConsentRegistry",
    "Grant",
    "IdentityInfo",
    "IdentityKeyStore",
    "Match",
    "enrol_photos",
]
