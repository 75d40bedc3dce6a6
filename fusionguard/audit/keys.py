"""Ed25519 signing keys and the key ring: the newest key signs, every listed key verifies.

Keys live in ``<home>/keys/`` (mode 0700): one PKCS#8 PEM file per private key (mode 0600, refused when
group- or world-readable; encrypted when ``FUSIONGUARD_KEY_PASSPHRASE`` is set) and ``ring.json`` listing
every key's public half in order of creation. Rotation appends a key; old keys keep verifying.

Signing goes through the small :class:`Signer` protocol, so a KMS or HSM can hold the private key:

    ring = KeyRing.load(home / "keys")
    signature = ring.signer.sign(b"data")
    ring.verify(ring.signer.key_id, b"data", signature)   # None, or raises

A key ID is the first 16 bytes of SHA-256 of the raw public key, in hex.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fusionguard.errors import SigningKeyError

PASSPHRASE_ENV = "FUSIONGUARD_KEY_PASSPHRASE"
RING_FILE = "ring.json"
LOCK_FILE = ".ring.lock"


def key_id_for(public_key: bytes) -> str:
    return hashlib.sha256(public_key).digest()[:16].hex()


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Signer(Protocol):
    """Anything that signs with Ed25519: a key in memory, a KMS client, an HSM session."""

    @property
    def key_id(self) -> str: ...

    @property
    def public_key(self) -> bytes: ...

    def sign(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class CallableSigner:
    """Adapts a ``sign(data) -> signature`` callable (e.g. a KMS client method) to :class:`Signer`."""

    public_key: bytes
    sign_function: Callable[[bytes], bytes]

    @property
    def key_id(self) -> str:
        return key_id_for(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self.sign_function(data)


class LocalSigner:
    """An Ed25519 private key held in this process."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self.public_key = raw_public(private_key.public_key())
        self.key_id = key_id_for(self.public_key)

    @classmethod
    def generate(cls) -> LocalSigner:
        return cls(Ed25519PrivateKey.generate())

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def private_pem(self, passphrase: bytes | None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
        )
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )


class KeyRing:
    """Verifying keys by ID, plus the signer (the newest key)."""

    def __init__(self, signer: Signer | None, public_keys: Iterable[bytes]) -> None:
        self.signer_or_none = signer
        self.directory: Path | None = None  # set by load(): where to look for a rotation
        self._stamp: tuple[int, int, int] | None = None
        self._verifiers: dict[str, Ed25519PublicKey] = {}
        for public in public_keys:
            self._verifiers[key_id_for(public)] = Ed25519PublicKey.from_public_bytes(public)
        if signer is not None:
            self._verifiers.setdefault(signer.key_id, Ed25519PublicKey.from_public_bytes(signer.public_key))

    @property
    def signer(self) -> Signer:
        if self.signer_or_none is None:
            raise SigningKeyError("this key ring holds public keys only; it cannot sign")
        return self.signer_or_none

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._verifiers)

    def public_key(self, key_id: str) -> bytes:
        return raw_public(self._verifiers[key_id])

    def knows(self, key_id: str) -> bool:
        return key_id in self._verifiers

    def verify(self, key_id: str, data: bytes, signature: bytes) -> None:
        """Raise :class:`UnknownKey` or :class:`BadSignature`; return None when the signature holds."""
        verifier = self._verifiers.get(key_id)
        if verifier is None:
            raise UnknownKey(f"key {key_id} is not in the key ring")
        try:
            verifier.verify(signature, data)
        except InvalidSignature:
            raise BadSignature(f"signature by key {key_id} does not verify") from None

    # -- files ------------------------------------------------------------------------------------

    @classmethod
    def create(cls, directory: Path, *, now: datetime) -> KeyRing:
        """Create ``directory`` with a first signing key. Refuses to overwrite an existing ring."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        with _ring_lock(directory):
            if (directory / RING_FILE).exists():
                raise SigningKeyError(f"{directory / RING_FILE} already exists; use 'keys rotate'")
            _write_ring(directory, [])
            _add_key(directory, now)
        return cls.load(directory)

    @classmethod
    def rotate(cls, directory: Path, *, now: datetime) -> KeyRing:
        """Add a new signing key; earlier keys stay in the ring for verification.

        Under an exclusive lock on the key directory, so concurrent rotations each add their key; the
        ring is replaced atomically (unique temporary file, fsync, rename). Running logs see the new
        ring at their next append (:meth:`changed`).
        """
        _require_private_directory(directory)
        with _ring_lock(directory):
            _add_key(directory, now)
        return cls.load(directory)

    @classmethod
    def load(cls, directory: Path) -> KeyRing:
        _require_private_directory(directory)
        stamp = _stamp(directory / RING_FILE)
        entries = _read_ring(directory)
        publics = [_b64(entry["public_key"], directory / RING_FILE) for entry in entries]
        signing = [e for e in entries if e.get("private_key_file")]
        if not signing:
            raise SigningKeyError(f"{directory / RING_FILE} lists no private signing key")
        newest = signing[-1]
        signer = LocalSigner(_load_private(directory / newest["private_key_file"]))
        if signer.key_id != newest["key_id"]:
            raise SigningKeyError(
                f"{newest['private_key_file']} holds key {signer.key_id}, the ring says "
                f"{newest['key_id']}; restore the right file"
            )
        ring = cls(signer, publics)
        ring.directory, ring._stamp = directory, stamp
        return ring

    def changed(self) -> bool:
        """Whether ``ring.json`` was replaced since this ring was loaded (one ``stat``)."""
        if self.directory is None:
            return False
        try:
            return _stamp(self.directory / RING_FILE) != self._stamp
        except SigningKeyError:
            return True

    @classmethod
    def load_public(cls, path: Path) -> KeyRing:
        """A verify-only ring from an exported ring (JSON) or one PEM public key."""
        try:
            _require_owned(path, "public key file", writable_only=True)
            data = path.read_bytes()
        except OSError as error:
            raise SigningKeyError(f"{path}: cannot read public key ({error.strerror})") from None
        if data.lstrip().startswith(b"-----BEGIN"):
            try:
                key = serialization.load_pem_public_key(data)
            except ValueError:
                raise SigningKeyError(f"{path}: not a PEM public key") from None
            if not isinstance(key, Ed25519PublicKey):
                raise SigningKeyError(f"{path}: not an Ed25519 public key")
            return cls(None, [raw_public(key)])
        try:
            entries = json.loads(data)["keys"]
            return cls(None, [_b64(entry["public_key"], path) for entry in entries])
        except (ValueError, KeyError, TypeError):
            raise SigningKeyError(
                f"{path}: not a fusionguard public key file (expected JSON from "
                "'fusionguard keys export-public' or a PEM public key)"
            ) from None

    def export_public(self) -> dict[str, Any]:
        return {
            "format": "fusionguard.public-keys/v1",
            "keys": [
                {"key_id": kid, "public_key": base64.b64encode(raw_public(key)).decode()}
                for kid, key in self._verifiers.items()
            ],
        }


class UnknownKey(SigningKeyError):
    """A signature names a key that is not in the ring."""


class BadSignature(SigningKeyError):
    """A signature does not verify under the key it names."""


def _passphrase() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode() if value else None


def _b64(text: str, where: Path) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise SigningKeyError(f"{where}: a public key is not valid base64") from None
    if len(raw) != 32:
        raise SigningKeyError(f"{where}: a public key is {len(raw)} bytes, expected 32")
    return raw


def _require_owned(path: Path, what: str, *, writable_only: bool) -> None:
    """Refuse a trust-root file another user could have written: owned by someone else, or writable
    (``writable_only``) or accessible at all by group or others. Root-owned files are accepted."""
    info = path.stat()
    if info.st_uid not in (os.geteuid(), 0):
        raise SigningKeyError(
            f"{what} {path} is owned by user {info.st_uid}, not by you ({os.geteuid()}); "
            f"restore your own copy or run 'chown {os.geteuid()} {path}'"
        )
    mask = (stat.S_IWGRP | stat.S_IWOTH) if writable_only else (stat.S_IRWXG | stat.S_IRWXO)
    if info.st_mode & mask:
        fix = "go-w" if writable_only else "go-rwx"
        kind = "writable" if writable_only else "accessible"
        raise SigningKeyError(
            f"{what} {path} is {kind} by group or others (mode {stat.S_IMODE(info.st_mode):04o}); "
            f"check it was not altered, then run 'chmod {fix} {path}'"
        )


def _require_private_directory(directory: Path) -> None:
    try:
        _require_owned(directory, "key directory", writable_only=True)
    except FileNotFoundError:
        raise SigningKeyError(
            f"no key ring at {directory / RING_FILE}; run 'fusionguard init' to create one"
        ) from None


def _stamp(path: Path) -> tuple[int, int, int]:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SigningKeyError(f"no key ring at {path}; run 'fusionguard init' to create one") from None
    except OSError as error:
        raise SigningKeyError(f"{path}: cannot read the key ring ({error.strerror})") from None
    return info.st_mtime_ns, info.st_size, info.st_ino


@contextlib.contextmanager
def _ring_lock(directory: Path) -> Iterator[None]:
    """An exclusive lock on the key directory, held while the ring is read, extended and replaced."""
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _add_key(directory: Path, now: datetime) -> None:
    """Generate a key, store its private half, and append it to the ring; the caller holds the lock."""
    entries = _read_ring(directory)
    signer = LocalSigner.generate()
    key_file = directory / f"signing-{signer.key_id}.pem"
    _write_private(key_file, signer.private_pem(_passphrase()))
    entries.append(
        {
            "key_id": signer.key_id,
            "public_key": base64.b64encode(signer.public_key).decode(),
            "created": now.isoformat(),
            "private_key_file": key_file.name,
        }
    )
    _write_ring(directory, entries)


def _read_ring(directory: Path) -> list[dict[str, Any]]:
    path = directory / RING_FILE
    try:
        _require_owned(path, "key ring", writable_only=True)
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SigningKeyError(f"no key ring at {path}; run 'fusionguard init' to create one") from None
    except (OSError, ValueError) as error:
        raise SigningKeyError(f"{path}: unreadable key ring ({error})") from None
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list):
        raise SigningKeyError(f"{path}: malformed key ring (expected an object with 'keys')")
    return keys


def _write_ring(directory: Path, entries: list[dict[str, Any]]) -> None:
    """Replace the ring atomically: a unique temporary file, fsynced, renamed over, directory fsynced."""
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".ring.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps({"version": 1, "keys": entries}, indent=2) + "\n")
            handle.flush()
            os.fchmod(handle.fileno(), 0o644)
            os.fsync(handle.fileno())
        os.replace(temporary, directory / RING_FILE)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    directory_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)


def _write_private(path: Path, pem: bytes) -> None:
    # O_EXCL + 0600 from the start: the key is never readable by others, not even for an instant.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())


def _load_private(path: Path) -> Ed25519PrivateKey:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SigningKeyError(
            f"signing key {path} is missing; restore it or run 'fusionguard keys rotate'"
        ) from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningKeyError(
            f"signing key {path} is accessible by group or others "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); run 'chmod 600 {path}'"
        )
    _require_owned(path, "signing key", writable_only=False)
    passphrase = _passphrase()
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=passphrase)
    except TypeError:
        if passphrase:
            raise SigningKeyError(f"signing key {path} is not encrypted; unset {PASSPHRASE_ENV}") from None
        raise SigningKeyError(f"signing key {path} is encrypted; set {PASSPHRASE_ENV}") from None
    except ValueError:
        raise SigningKeyError(
            f"cannot decrypt signing key {path}: wrong passphrase in {PASSPHRASE_ENV} or bad file"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 private key")
    return key
