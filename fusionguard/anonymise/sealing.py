"""Sealing the original pixels of an anonymised region to the admin's offline recovery key.

Each region (its box, its mask and its pixels, losslessly) is encrypted with HPKE (RFC 9180, base
mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, from ``cryptography``) to the recovery
*public* key installed in the home. The private key is written once, by
``fusionguard keys recovery-keygen --out FILE``, to a file the operator takes offline: the server can
seal but never open. The HPKE ``info`` binds each ciphertext to its record, its region index and the
key's ID, so a ciphertext moved to another record or region does not open.

    private_pem, public_raw = generate_recovery_key()
    sealed = seal_region(region, public_raw, record_id="ab" * 16, index=0)
    seal_open(sealed, load_recovery_private(private_pem), record_id="ab" * 16, index=0) == region
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from fusionguard.errors import BadInput, RecoveryError

SUITE_NAME = "HPKE-base/DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM"
RECOVERY_PUBLIC_FILE = "recovery.pub"
_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_MAGIC = b"FGRGN1"  # fusionguard region, format 1
_MAX_REGION_PIXELS = 16_000_000


def recovery_key_id(public_raw: bytes) -> str:
    """The key's ID: the first 16 bytes of SHA-256 of the raw 32-byte X25519 public key, in hex."""
    return hashlib.sha256(public_raw).hexdigest()[:32]


@dataclass(frozen=True)
class Region:
    """One anonymised region's original content: ``rgb[top:bottom, left:right]`` where ``mask``."""

    box: tuple[int, int, int, int]  # left, top, right, bottom (exclusive)
    mask: np.ndarray  # bool, (bottom - top, right - left)
    pixels: np.ndarray  # uint8 RGB, (bottom - top, right - left, 3)

    def __post_init__(self) -> None:
        left, top, right, bottom = self.box
        shape = (bottom - top, right - left)
        if shape[0] <= 0 or shape[1] <= 0 or shape[0] * shape[1] > _MAX_REGION_PIXELS:
            raise BadInput(f"region box {self.box} is empty or too large")
        if self.mask.shape != shape or self.mask.dtype != np.bool_:
            raise BadInput(
                f"region mask must be bool of shape {shape}, got {self.mask.dtype} {self.mask.shape}"
            )
        if self.pixels.shape != (*shape, 3) or self.pixels.dtype != np.uint8:
            raise BadInput(f"region pixels must be uint8 of shape {(*shape, 3)}, got {self.pixels.shape}")

    @classmethod
    def cut(cls, rgb: np.ndarray, box: tuple[int, int, int, int], mask: np.ndarray) -> Region:
        left, top, right, bottom = box
        return cls(box, mask.astype(bool), np.ascontiguousarray(rgb[top:bottom, left:right]).copy())

    def to_bytes(self) -> bytes:
        header = json.dumps({"box": list(self.box)}, separators=(",", ":")).encode()
        body = io.BytesIO()
        body.write(np.packbits(self.mask, axis=None).tobytes())
        body.write(self.pixels.tobytes())
        packed = zlib.compress(body.getvalue(), 1)  # speed over size: a face region is small
        return _MAGIC + len(header).to_bytes(4, "big") + header + packed

    @classmethod
    def from_bytes(cls, data: bytes) -> Region:
        if not data.startswith(_MAGIC) or len(data) < len(_MAGIC) + 4:
            raise RecoveryError("sealed region has an unknown format")
        offset = len(_MAGIC)
        size = int.from_bytes(data[offset : offset + 4], "big")
        try:
            box = tuple(int(v) for v in json.loads(data[offset + 4 : offset + 4 + size])["box"])
            left, top, right, bottom = box
            height, width = bottom - top, right - left
            if height <= 0 or width <= 0 or height * width > _MAX_REGION_PIXELS:
                raise ValueError("bad box")
            # A bounded decompression: the box says exactly how many bytes there must be.
            expected = (height * width + 7) // 8 + height * width * 3
            inflater = zlib.decompressobj()
            raw = inflater.decompress(data[offset + 4 + size :], expected + 1)
        except (ValueError, KeyError, TypeError, zlib.error) as error:
            raise RecoveryError(f"sealed region is malformed: {error}") from None
        if len(raw) != expected:
            raise RecoveryError("sealed region is malformed: wrong length")
        mask_bytes = (height * width + 7) // 8
        mask = np.unpackbits(np.frombuffer(raw[:mask_bytes], np.uint8), count=height * width)
        pixels = np.frombuffer(raw[mask_bytes:], np.uint8).reshape(height, width, 3)
        return cls((left, top, right, bottom), mask.reshape(height, width).astype(bool), pixels.copy())

    def paste(self, rgb: np.ndarray) -> None:
        """Put the original pixels back into ``rgb`` (in place), where the mask is set."""
        left, top, right, bottom = self.box
        if right > rgb.shape[1] or bottom > rgb.shape[0]:
            raise RecoveryError(
                f"region {self.box} lies outside the {rgb.shape[1]}x{rgb.shape[0]} image; "
                "is this the record's output?"
            )
        window = rgb[top:bottom, left:right]
        window[self.mask] = self.pixels[self.mask]


def _info(record_id: str, index: int, key_id: str) -> bytes:
    return f"fusionguard/region/v1|{record_id}|{index}|{key_id}".encode()


def seal_region(region: Region, public_raw: bytes, *, record_id: str, index: int) -> bytes:
    public = X25519PublicKey.from_public_bytes(public_raw)
    return _SUITE.encrypt(
        region.to_bytes(), public, info=_info(record_id, index, recovery_key_id(public_raw))
    )


def open_region(sealed: bytes, private: X25519PrivateKey, *, record_id: str, index: int) -> Region:
    public_raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        plain = _SUITE.decrypt(sealed, private, info=_info(record_id, index, recovery_key_id(public_raw)))
    except (InvalidTag, ValueError):
        raise RecoveryError(
            f"region {index} of record {record_id} does not open with this key: wrong recovery key, "
            "or the ciphertext was altered"
        ) from None
    return Region.from_bytes(plain)


# --- keys --------------------------------------------------------------------------------------------


def generate_recovery_key() -> tuple[bytes, bytes]:
    """A new key pair: (private key as unencrypted PKCS#8 PEM, raw 32-byte public key)."""
    private = X25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return pem, public


def load_recovery_private(data: bytes) -> X25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise RecoveryError("the recovery key file is not an unencrypted PEM private key") from None
    if not isinstance(key, X25519PrivateKey):
        raise RecoveryError("the recovery key file holds a key that is not X25519")
    return key


def write_recovery_keys(private_out: Path, keys_dir: Path) -> str:
    """Write the private key to ``private_out`` (0600, never overwritten) and install the public key.

    Returns the key's ID. The public key goes to ``<keys_dir>/recovery.pub`` as hex, replacing an
    older one (records name the key ID they were sealed to, so old regions stay recoverable with the
    old private key).
    """
    pem, public = generate_recovery_key()
    try:
        fd = os.open(private_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise BadInput(f"{private_out} exists; choose a new file for the recovery private key") from None
    except OSError as error:
        raise BadInput(f"cannot create {private_out}: {error.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    keys_dir.mkdir(parents=True, exist_ok=True)
    staged = keys_dir / f".{RECOVERY_PUBLIC_FILE}.{os.getpid()}.tmp"
    staged.write_text(public.hex() + "\n")
    os.chmod(staged, 0o644)
    os.replace(staged, keys_dir / RECOVERY_PUBLIC_FILE)
    return recovery_key_id(public)


def load_recovery_public(keys_dir: Path) -> bytes | None:
    """The installed recovery public key (raw bytes), or None when none is installed."""
    path = keys_dir / RECOVERY_PUBLIC_FILE
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise RecoveryError(f"cannot read the recovery public key {path}: {error}") from None
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise RecoveryError(f"{path} does not hold a 32-byte X25519 public key in hex")
    return raw
