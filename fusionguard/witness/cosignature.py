"""Signed notes, verifier keys and Ed25519 cosignatures (C2SP signed-note, tlog-cosignature).

A checkpoint is a signed note: a body of lines, a blank line, then signature lines
``— <key name> base64(4-byte key ID || signature)``. The log signs with Ed25519 (signature type 0x01,
key name = the log's origin); a witness adds a *cosignature* (type 0x04) whose signature is a
``timestamped_signature``: an 8-byte big-endian POSIX time followed by an Ed25519 signature over::

    cosignature/v1
    time <timestamp>
    <the checkpoint body>

Keys are exchanged as *vkeys*: ``<name>+<hex key ID>+<base64(type || public key)>``.

>>> key = Ed25519PrivateKey.generate()
>>> body = "example.com/log\\n1\\n" + base64.b64encode(bytes(32)).decode() + "\\n"
>>> line = cosign(key, "witness.example/w1", body, 1700000000)
>>> witness = Verifier.cosigner("witness.example/w1", raw_public(key.public_key()))
>>> witness.verify_line(body, line)
1700000000
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fusionguard.audit.keys import raw_public
from fusionguard.errors import FusionGuardError

__all__ = [
    "COSIGNATURE_TYPE",
    "DASH",
    "LOG_SIGNATURE_TYPE",
    "NoteError",
    "SignatureLine",
    "SignedNote",
    "Verifier",
    "cosign",
    "cosigned_message",
    "key_id",
    "parse_vkey",
    "raw_public",
    "split_note",
]

DASH = "\u2014"
LOG_SIGNATURE_TYPE = 0x01  # signed-note Ed25519: the log's checkpoint signature
COSIGNATURE_TYPE = 0x04  # tlog-cosignature/v1 Ed25519: a witness's timestamped cosignature


class NoteError(FusionGuardError):
    """A signed note, vkey or cosignature is malformed or does not verify."""


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || type || public key)[:4], as signed-note and tlog-cosignature define."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([signature_type]) + public_key).digest()[:4]


def cosigned_message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode()


def cosign(key: Ed25519PrivateKey, name: str, body: str, timestamp: int) -> str:
    """One cosignature line (with its newline) over a checkpoint ``body``."""
    if not 0 < timestamp < 2**63:
        raise NoteError(f"cosignature timestamp {timestamp} is out of range")
    signature = key.sign(cosigned_message(body, timestamp))
    kid = key_id(name, COSIGNATURE_TYPE, raw_public(key.public_key()))
    blob = kid + struct.pack(">Q", timestamp) + signature
    return f"{DASH} {name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True)
class SignatureLine:
    name: str
    key_id: bytes
    signature: bytes  # everything after the key ID (a timestamp too, for cosignatures)
    text: str  # the line as it appeared, with its newline


@dataclass(frozen=True)
class SignedNote:
    body: str  # including its final newline, excluding the blank line
    signatures: tuple[SignatureLine, ...]

    def text(self, lines: tuple[SignatureLine, ...] | None = None) -> str:
        chosen = self.signatures if lines is None else lines
        return self.body + "\n" + "".join(s.text for s in chosen)

    @property
    def origin(self) -> str:
        return self.body.split("\n", 1)[0]

    @property
    def tree_size(self) -> int:
        return int(self.body.split("\n")[1])

    @property
    def root_hash(self) -> bytes:
        return base64.b64decode(self.body.split("\n")[2])


def split_note(text: str) -> SignedNote:
    """Parse a checkpoint note (any signature types); the body must be a well-formed checkpoint."""
    body, separator, rest = text.partition("\n\n")
    if not separator:
        raise NoteError("checkpoint note has no blank line before its signatures")
    body += "\n"
    lines = body.split("\n")
    if len(lines) < 4 or not lines[0] or not lines[1].isdigit() or str(int(lines[1])) != lines[1]:
        raise NoteError("checkpoint body must be an origin line, a decimal tree size and a root hash")
    try:
        if len(base64.b64decode(lines[2], validate=True)) != 32:
            raise NoteError("checkpoint root hash is not 32 bytes")
    except ValueError:
        raise NoteError("checkpoint root hash is not base64") from None
    signatures = []
    for line in rest.split("\n"):
        if not line:
            continue
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise NoteError(f"malformed signature line {line[:40]!r}")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError:
            raise NoteError(f"signature of {parts[1]!r} is not base64") from None
        if len(blob) < 5:
            raise NoteError(f"signature of {parts[1]!r} is too short")
        signatures.append(SignatureLine(parts[1], blob[:4], blob[4:], line + "\n"))
    if not signatures:
        raise NoteError("checkpoint note carries no signature")
    return SignedNote(body, tuple(signatures))


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 key of one signature type: a log (0x01) or a cosigner (0x04)."""

    name: str
    signature_type: int
    public_key: bytes

    @classmethod
    def log(cls, origin: str, public_key: bytes) -> Verifier:
        return cls(origin, LOG_SIGNATURE_TYPE, public_key)

    @classmethod
    def cosigner(cls, name: str, public_key: bytes) -> Verifier:
        return cls(name, COSIGNATURE_TYPE, public_key)

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.signature_type, self.public_key)

    @property
    def vkey(self) -> str:
        material = base64.b64encode(bytes([self.signature_type]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    def matches(self, line: SignatureLine) -> bool:
        return line.name == self.name and line.key_id == self.key_id

    def verify_line(self, body: str, line: str | SignatureLine) -> int:
        """Verify one signature line over ``body``; return its timestamp (0 for a log signature)."""
        if isinstance(line, str):
            line = split_note(body + "\n" + line).signatures[0]
        if not self.matches(line):
            raise NoteError(f"signature line is not by {self.name!r} with key ID {self.key_id.hex()}")
        key = Ed25519PublicKey.from_public_bytes(self.public_key)
        timestamp = 0
        try:
            if self.signature_type == COSIGNATURE_TYPE:
                if len(line.signature) != 8 + 64:
                    raise NoteError(f"cosignature of {self.name!r} has the wrong length")
                timestamp = struct.unpack(">Q", line.signature[:8])[0]
                if not 0 < timestamp < 2**63:
                    raise NoteError(f"cosignature of {self.name!r} has no valid timestamp")
                key.verify(line.signature[8:], cosigned_message(body, timestamp))
            else:
                if len(line.signature) != 64:
                    raise NoteError(f"signature of {self.name!r} has the wrong length")
                key.verify(line.signature, body.encode())
        except InvalidSignature:
            raise NoteError(f"signature by {self.name!r} does not verify") from None
        return timestamp


def parse_vkey(text: str) -> Verifier:
    """``name+hexid+base64(type || key)`` -> :class:`Verifier`, checking the key ID."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3 or not parts[0]:
        raise NoteError(f"vkey {text[:60]!r} is not name+keyid+key")
    name, hex_id, material = parts
    try:
        raw = base64.b64decode(material, validate=True)
        expected = bytes.fromhex(hex_id)
    except ValueError:
        raise NoteError(f"vkey for {name!r} is not hex and base64") from None
    if len(raw) != 33 or raw[0] not in (LOG_SIGNATURE_TYPE, COSIGNATURE_TYPE):
        raise NoteError(f"vkey for {name!r} is not an Ed25519 (0x01) or cosignature (0x04) key")
    verifier = Verifier(name, raw[0], raw[1:])
    if verifier.key_id != expected:
        raise NoteError(f"vkey for {name!r} has key ID {hex_id}, expected {verifier.key_id.hex()}")
    return verifier
