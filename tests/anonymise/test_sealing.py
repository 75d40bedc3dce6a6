"""Sealing regions to the recovery key: exact round trip, and every way it must refuse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fusionguard.anonymise.sealing import (
    Region,
    generate_recovery_key,
    load_recovery_private,
    load_recovery_public,
    open_region,
    recovery_key_id,
    seal_region,
    write_recovery_keys,
)
from fusionguard.errors import BadInput, RecoveryError

RECORD = "ab" * 16


def _region(seed: int = 0) -> Region:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (37, 29, 3), dtype=np.uint8)
    mask = rng.random((37, 29)) > 0.3
    return Region((10, 20, 39, 57), mask, pixels)


def test_a_sealed_region_opens_bit_exactly_with_the_right_key() -> None:
    pem, public = generate_recovery_key()
    region = _region()
    sealed = seal_region(region, public, record_id=RECORD, index=3)
    opened = open_region(sealed, load_recovery_private(pem), record_id=RECORD, index=3)
    assert opened.box == region.box
    assert np.array_equal(opened.mask, region.mask)
    assert np.array_equal(opened.pixels, region.pixels)
    assert region.pixels.tobytes() not in sealed  # encrypted, not merely compressed


def test_the_wrong_key_an_altered_ciphertext_and_a_moved_ciphertext_are_refused() -> None:
    pem, public = generate_recovery_key()
    other_pem, _ = generate_recovery_key()
    sealed = seal_region(_region(), public, record_id=RECORD, index=0)
    private = load_recovery_private(pem)
    with pytest.raises(RecoveryError, match="does not open with this key"):
        open_region(sealed, load_recovery_private(other_pem), record_id=RECORD, index=0)
    altered = bytearray(sealed)
    altered[-5] ^= 0x01
    with pytest.raises(RecoveryError, match="altered"):
        open_region(bytes(altered), private, record_id=RECORD, index=0)
    with pytest.raises(RecoveryError):  # bound to its record and index
        open_region(sealed, private, record_id="cd" * 16, index=0)
    with pytest.raises(RecoveryError):
        open_region(sealed, private, record_id=RECORD, index=1)


def test_malformed_plaintexts_and_regions_are_refused() -> None:
    with pytest.raises(RecoveryError, match="unknown format"):
        Region.from_bytes(b"not a region")
    good = _region().to_bytes()
    with pytest.raises(RecoveryError, match="malformed"):
        Region.from_bytes(good[:-10])
    with pytest.raises(BadInput, match="mask"):
        Region((0, 0, 4, 4), np.ones((3, 4), bool), np.zeros((4, 4, 3), np.uint8))


def test_keygen_writes_a_private_file_once_and_installs_the_public_key(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    out = tmp_path / "offline" / "recovery.pem"
    out.parent.mkdir()
    key_id = write_recovery_keys(out, keys)
    assert out.stat().st_mode & 0o777 == 0o600
    public = load_recovery_public(keys)
    assert public is not None and recovery_key_id(public) == key_id
    assert b"PRIVATE" not in (keys / "recovery.pub").read_bytes()
    with pytest.raises(BadInput, match="exists"):
        write_recovery_keys(out, keys)
    (keys / "recovery.pub").write_text("zz\n")
    with pytest.raises(RecoveryError, match="32-byte"):
        load_recovery_public(keys)
    assert load_recovery_public(tmp_path / "nowhere") is None
