"""Signing keys: file permissions, passphrases, rotation, export, and signers held elsewhere."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fusionguard.audit.checkpoint import Checkpoint, verify_checkpoint
from fusionguard.audit.keys import BadSignature, CallableSigner, KeyRing, LocalSigner, UnknownKey, key_id_for
from fusionguard.audit.merkle import EMPTY_ROOT
from fusionguard.errors import SigningKeyError, TamperDetected
from tests.conftest import FixedClock


def test_created_keys_are_private(ring: KeyRing, home: Path) -> None:
    [key] = (home / "keys").glob("signing-*.pem")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "keys").stat().st_mode) == 0o700
    assert ring.signer.key_id == key_id_for(ring.signer.public_key)


def test_rotation_signs_with_the_newest_and_verifies_with_all(
    ring: KeyRing, home: Path, clock: FixedClock
) -> None:
    old = ring.signer
    signature = old.sign(b"before rotation")
    rotated = KeyRing.rotate(home / "keys", now=clock())
    assert rotated.signer.key_id != old.key_id
    rotated.verify(old.key_id, b"before rotation", signature)
    with pytest.raises(BadSignature):
        rotated.verify(old.key_id, b"tampered", signature)
    with pytest.raises(UnknownKey):
        rotated.verify("0" * 32, b"before rotation", signature)
    with pytest.raises(SigningKeyError, match="already exists"):
        KeyRing.create(home / "keys", now=clock())


def test_exported_public_keys_verify_but_cannot_sign(ring: KeyRing, tmp_path: Path) -> None:
    import json

    exported = tmp_path / "public.json"
    exported.write_text(json.dumps(ring.export_public()))
    public = KeyRing.load_public(exported)
    public.verify(ring.signer.key_id, b"x", ring.signer.sign(b"x"))
    with pytest.raises(SigningKeyError, match="cannot sign"):
        public.signer  # noqa: B018
    pem = tmp_path / "key.pem"
    pem.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert len(KeyRing.load_public(pem).key_ids) == 1
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{}")
    with pytest.raises(SigningKeyError, match="not a fusionguard public key file"):
        KeyRing.load_public(garbage)


def test_a_signer_held_elsewhere_plugs_in_as_a_callable() -> None:
    """A KMS or HSM signs through ``CallableSigner``; the ring verifies what it signed."""
    hsm_key = Ed25519PrivateKey.generate()  # stands in for a key that never leaves the device
    public = hsm_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    calls: list[bytes] = []

    def remote_sign(data: bytes) -> bytes:
        calls.append(data)
        return hsm_key.sign(data)

    ring = KeyRing(CallableSigner(public, remote_sign), [])
    note = Checkpoint("fusionguard.log/test", 0, EMPTY_ROOT).sign(ring.signer)
    assert verify_checkpoint(note, ring).tree_size == 0
    assert calls and calls[0].startswith(b"fusionguard.log/test\n0\n")
    with pytest.raises(TamperDetected, match="unknown key"):
        verify_checkpoint(note, KeyRing(LocalSigner.generate(), []))


def test_forged_checkpoint_signature_is_refused(ring: KeyRing) -> None:
    note = Checkpoint("fusionguard.log/test", 3, EMPTY_ROOT).sign(ring.signer)
    body, signature_line = note.split("\n\n")
    forged = body.replace("\n3\n", "\n4\n") + "\n\n" + signature_line
    with pytest.raises(TamperDetected, match="bad signature"):
        verify_checkpoint(forged, ring)
    with pytest.raises(TamperDetected, match="expected"):
        verify_checkpoint(note, ring, origin="fusionguard.log/other")
