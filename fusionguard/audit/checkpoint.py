"""Signed checkpoints in the C2SP ``tlog-checkpoint`` / ``signed-note`` text format.

A checkpoint commits to the whole log at one size::

    fusionguard.local/4f1c...            <- origin: names the log
    1234                                 <- tree size
    3dB7...=                             <- base64 root hash
                                         <- blank line ends the signed text
    — fusionguard.local/4f1c... AAECAw...  <- signature line: key name, base64(key hash || Ed25519 sig)

The key hash is the first four bytes of SHA-256(key name || 0x0A || 0x01 || public key), as the signed-note
spec defines for Ed25519, so standard note verifiers can check our checkpoints. Because the text is
self-contained, a checkpoint can be exported, published or handed to a witness and verified offline.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from fusionguard.audit.keys import BadSignature, KeyRing, Signer, UnknownKey
from fusionguard.errors import Problem, TamperDetected

_DASH = "\u2014"


def note_key_hash(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n\x01" + public_key).digest()[:4]


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.tree_size}\n{base64.b64encode(self.root_hash).decode()}\n"

    def sign(self, signer: Signer) -> str:
        """The signed note: body, blank line, one signature line."""
        body = self.body()
        signature = signer.sign(body.encode())
        blob = note_key_hash(self.origin, signer.public_key) + signature
        return f"{body}\n{_DASH} {self.origin} {base64.b64encode(blob).decode()}\n"


def _problem(detail: str) -> TamperDetected:
    return TamperDetected([Problem("bad checkpoint", detail)])


def parse_checkpoint(note: str) -> tuple[Checkpoint, list[tuple[str, bytes, bytes]]]:
    """Split a signed note into its checkpoint and its (key name, key hash, signature) lines."""
    body, separator, signatures = note.partition("\n\n")
    if not separator:
        raise _problem("checkpoint note has no blank line before its signatures")
    lines = body.split("\n")
    if len(lines) < 3:
        raise _problem("checkpoint body must have origin, tree size and root hash lines")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit():
        raise _problem(f"checkpoint tree size {size_text!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError:
        raise _problem("checkpoint root hash is not base64") from None
    if len(root) != 32:
        raise _problem(f"checkpoint root hash is {len(root)} bytes, expected 32")
    parsed: list[tuple[str, bytes, bytes]] = []
    for line in signatures.split("\n"):
        if not line:
            continue
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _DASH:
            raise _problem(f"malformed signature line {line[:40]!r}")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError:
            raise _problem("checkpoint signature is not base64") from None
        if len(blob) != 4 + 64:
            raise _problem("checkpoint signature has the wrong length for Ed25519")
        parsed.append((parts[1], blob[:4], blob[4:]))
    if not parsed:
        raise _problem("checkpoint note carries no signature")
    return Checkpoint(origin, int(size_text), root), parsed


def verify_checkpoint(note: str, ring: KeyRing, *, origin: str | None = None) -> Checkpoint:
    """Return the checkpoint if a key of ``ring`` signed it (for ``origin``, when given); else raise."""
    checkpoint, signatures = parse_checkpoint(note)
    if origin is not None and checkpoint.origin != origin:
        raise _problem(f"checkpoint is for log {checkpoint.origin!r}, expected {origin!r}")
    body = checkpoint.body().encode()
    known = {note_key_hash(checkpoint.origin, ring.public_key(k)): k for k in ring.key_ids}
    for name, key_hash, signature in signatures:
        key_id = known.get(key_hash)
        if name != checkpoint.origin or key_id is None:
            continue
        try:
            ring.verify(key_id, body, signature)
        except (BadSignature, UnknownKey):
            raise _problem(
                f"checkpoint at size {checkpoint.tree_size} has a bad signature by key {key_id}"
            ) from None
        return checkpoint
    raise TamperDetected(
        [
            Problem(
                "unknown key",
                f"checkpoint at size {checkpoint.tree_size} is signed by no key in the key ring",
            )
        ]
    )
