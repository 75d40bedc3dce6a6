"""Getting anonymised faces back, with the admin's offline key, and shredding them for good.

``recover_image`` checks each stored ciphertext against the SHA-256 in the *signed* record, opens it
with the recovery private key (HPKE; the record ID and region index are bound into it) and pastes
the original pixels back. On the lossless released output the result is bit-exact; on a copy that
was only resized the regions are scaled to it (approximate); a cropped copy cannot be restored.
``shred_record`` deletes the ciphertexts: the record and the log are untouched, so the log still
verifies, and the originals are gone for everyone, key holder included.
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
from cryptography.hazmat.primitives import serialization

from fusionguard.anonymise.sealing import Region, load_recovery_private, open_region, recovery_key_id
from fusionguard.anonymise.store import SealedRegions
from fusionguard.audit.record import AuditRecord
from fusionguard.errors import RecoveryError


def _scaled(region: Region, sx: float, sy: float, shape: tuple[int, ...]) -> Region:
    left, top, right, bottom = region.box
    box = (round(left * sx), round(top * sy), round(right * sx), round(bottom * sy))
    box = (max(0, box[0]), max(0, box[1]), min(shape[1], box[2]), min(shape[0], box[3]))
    size = (box[2] - box[0], box[3] - box[1])
    pixels = cv2.resize(region.pixels, size, interpolation=cv2.INTER_AREA)
    mask = cv2.resize(region.mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    return Region(box, mask, np.asarray(pixels, dtype=np.uint8))


def recover_image(
    record: AuditRecord, store: SealedRegions, private_key_pem: bytes, image: np.ndarray
) -> tuple[np.ndarray, int]:
    """``image`` with the record's anonymised regions restored; returns (restored, regions)."""
    block = record.extra.get("anonymised")
    if not isinstance(block, dict) or not block.get("regions"):
        raise RecoveryError(f"record {record.record_id} anonymised no faces; there is nothing to recover")
    private = load_recovery_private(private_key_pem)
    public_raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if recovery_key_id(public_raw) != block["recovery_key_id"]:
        raise RecoveryError(
            f"this key file holds recovery key {recovery_key_id(public_raw)}, but the record's regions were "
            f"sealed to {block['recovery_key_id']}"
        )
    rows = {index: (sha256, ciphertext) for index, _key, sha256, ciphertext in store.get(record.record_id)}
    if not rows:
        raise RecoveryError(
            f"the sealed regions of record {record.record_id} were shredded (or never stored)"
        )
    restored = np.array(image, dtype=np.uint8, copy=True)
    width, height = block.get("image_size") or (restored.shape[1], restored.shape[0])
    sx, sy = restored.shape[1] / width, restored.shape[0] / height
    for entry in block["regions"]:
        index = int(entry["index"])
        if index not in rows:
            raise RecoveryError(f"region {index} of record {record.record_id} is missing from the store")
        sha256, ciphertext = rows[index]
        if (
            hashlib.sha256(ciphertext).hexdigest() != entry["ciphertext_sha256"]
            or sha256 != entry["ciphertext_sha256"]
        ):
            raise RecoveryError(
                f"region {index} of record {record.record_id}: the stored ciphertext does not match the "
                "hash in the signed record (altered)"
            )
        region = open_region(ciphertext, private, record_id=record.record_id, index=index)
        if (sx, sy) != (1.0, 1.0):
            region = _scaled(region, sx, sy, restored.shape)
        region.paste(restored)
    return restored, len(block["regions"])


def shreddable(record: AuditRecord, store: SealedRegions) -> int:
    """How many sealed regions of ``record`` are left to shred; a RecoveryError when there are none."""
    if not isinstance(record.extra.get("anonymised"), dict):
        raise RecoveryError(f"record {record.record_id} anonymised no faces; there is nothing to shred")
    left = len(store.get(record.record_id))
    if not left:
        raise RecoveryError(f"record {record.record_id}'s sealed regions were already shredded")
    return left


def shred_record(record: AuditRecord, store: SealedRegions) -> int:
    """Delete the record's sealed regions; returns how many ciphertexts were deleted."""
    if not isinstance(record.extra.get("anonymised"), dict):
        raise RecoveryError(f"record {record.record_id} anonymised no faces; there is nothing to shred")
    return store.shred(record.record_id)
