"""Per-identity keys for crypto-shredding: erasing a person destroys the key their data was sealed with.

A database cannot promise that deleted bytes are gone: PostgreSQL keeps old row versions in heap pages
until vacuumed, in the WAL, in base backups and on replicas. So the consent registry never writes a
person's name or reference embeddings in the clear. Each identity gets a random 256-bit key, held
*outside* the database in one file per identity (``<home>/identity-keys/`` by default, mode 0700/0600;
``FUSIONGUARD_IDENTITY_KEYS`` points a fleet of workers at one shared directory). Names and embeddings
are sealed with AES-256-GCM under that key, bound to the identity and the field by the associated data.
Erasure deletes the rows and destroys the key file (overwritten, fsynced, unlinked), after which every
copy of the ciphertext, wherever the database put it, is noise.

    keys = IdentityKeyStore(settings.identity_keys_dir)
    blob = keys.seal("id-0123456789abcdef", "name", b"Ada")
    keys.open("id-0123456789abcdef", "name", blob)  # b"Ada"
    keys.destroy("id-0123456789abcdef")             # the blob can never be opened again
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fusionguard.errors import ConfigError, NotFound

_IDENTITY = re.compile(r"^id-[0-9a-f]{16}$")
_NONCE = 12
_KEY = 32


class IdentityKeyStore:
    """One AES-256 key per identity, one file each; keys are cached in memory once read."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def _path(self, identity_id: str) -> Path:
        if not _IDENTITY.match(identity_id):
            raise NotFound(f"{identity_id!r} is not an identity ID (id- and 16 hex digits)")
        return self.directory / f"{identity_id}.key"

    def _ensure_directory(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = self.directory.stat()
        if info.st_uid not in (os.geteuid(), 0) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise ConfigError(
                f"identity key directory {self.directory} is writable by others or not yours "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); run 'chmod 700 {self.directory}'"
            )

    def create(self, identity_id: str) -> None:
        """Make a new key for a new identity (refuses to replace an existing one)."""
        self._ensure_directory()
        key = secrets.token_bytes(_KEY)
        path = self._path(identity_id)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
        with self._lock:
            self._cache[identity_id] = key

    def key(self, identity_id: str) -> bytes:
        with self._lock:
            cached = self._cache.get(identity_id)
        if cached is not None:
            return cached
        path = self._path(identity_id)
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(
                f"the key of {identity_id} is not in {self.directory}: the identity was erased, or this "
                "host does not share the identity key directory (FUSIONGUARD_IDENTITY_KEYS)"
            ) from None
        except OSError as error:
            raise ConfigError(f"cannot read identity key {path} ({error.strerror})") from None
        if len(key) != _KEY:
            raise ConfigError(f"identity key {path} is {len(key)} bytes, expected {_KEY}")
        with self._lock:
            self._cache[identity_id] = key
        return key

    def has(self, identity_id: str) -> bool:
        return identity_id in self._cache or self._path(identity_id).exists()

    def seal(self, identity_id: str, field: str, plaintext: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        sealed = AESGCM(self.key(identity_id)).encrypt(nonce, plaintext, _context(identity_id, field))
        return nonce + sealed

    def open(self, identity_id: str, field: str, blob: bytes) -> bytes:
        try:
            return AESGCM(self.key(identity_id)).decrypt(
                blob[:_NONCE], blob[_NONCE:], _context(identity_id, field)
            )
        except InvalidTag:
            raise ConfigError(
                f"sealed {field} of {identity_id} does not open with its key (edited row or wrong key file)"
            ) from None

    def destroy(self, identity_id: str) -> None:
        """Overwrite, fsync and unlink the identity's key; from now on its sealed data is noise."""
        path = self._path(identity_id)
        with self._lock:
            self._cache.pop(identity_id, None)
        with contextlib.suppress(FileNotFoundError):
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.pwrite(fd, b"\0" * _KEY, 0)
                os.fsync(fd)
            finally:
                os.close(fd)
            path.unlink()
            directory = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)


def _context(identity_id: str, field: str) -> bytes:
    return f"fusionguard.identity/v1\n{identity_id}\n{field}".encode()
