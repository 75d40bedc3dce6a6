"""The C2SP tlog-witness ``add-checkpoint`` exchange: request bodies, refusals and the witness's rules.

Request body: ``old <size>``, up to 63 base64 consistency-proof hashes, a blank line, the checkpoint.
A witness answers 200 with its cosignature line(s); 404 for an unknown origin; 403 when no trusted
log key signed it; 400 for a malformed request; 409 (body: its own size, ``text/x.tlog.size``) when
the old size is not the size it last cosigned; 422 when the proof does not verify.

:func:`check_submission` holds the rules that need the witness's stored state; the server calls it
inside the transaction that also stores the new state, so check-and-update is atomic.

>>> body = format_request(0, [], "log\\n0\\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\\n\\n— log AAAA\\n")
>>> parse_request(body)[0]
0
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from fusionguard.audit.merkle import EMPTY_ROOT, ProofError, verify_consistency
from fusionguard.errors import FusionGuardError

__all__ = [
    "MAX_PROOF_LINES",
    "SIZE_CONTENT_TYPE",
    "Refusal",
    "check_submission",
    "format_request",
    "parse_request",
]

MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"


class Refusal(FusionGuardError):
    """A witness's refusal: the HTTP status and the body it answers with."""

    def __init__(self, status: int, detail: str, *, size: int | None = None) -> None:
        super().__init__(f"witness refused ({status}): {detail}")
        self.status = status
        self.detail = detail
        self.size = size  # the witness's size, on a 409

    @property
    def body(self) -> bytes:
        if self.status == 409:
            return f"{self.size}\n".encode()
        return (self.detail + "\n").encode()


def format_request(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    lines = [f"old {old_size}\n", *(base64.b64encode(h).decode() + "\n" for h in proof), "\n"]
    return ("".join(lines) + note).encode()


def parse_request(body: bytes) -> tuple[int, list[bytes], str]:
    """Split an add-checkpoint body into (old size, proof hashes, checkpoint note); 400 if malformed."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise Refusal(400, "request body is not UTF-8") from None
    head, separator, note = text.partition("\n\n")
    if not separator:
        raise Refusal(400, "request has no blank line before the checkpoint")
    lines = head.split("\n")
    first = lines[0].split(" ")
    if len(first) != 2 or first[0] != "old" or not first[1].isdigit() or str(int(first[1])) != first[1]:
        raise Refusal(400, "first line must be 'old <size>' in decimal without leading zeroes")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise Refusal(400, f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for line in lines[1:]:
        try:
            value = base64.b64decode(line, validate=True)
        except ValueError:
            raise Refusal(400, "a consistency proof line is not base64") from None
        if len(value) != 32:
            raise Refusal(400, "a consistency proof hash is not 32 bytes")
        proof.append(value)
    return int(first[1]), proof, note


def check_submission(
    old_size: int,
    proof: Sequence[bytes],
    size: int,
    root: bytes,
    known_size: int,
    known_root: bytes,
) -> None:
    """The tlog-witness rules against the witness's last cosigned (size, root); raise :class:`Refusal`."""
    if old_size > size:
        raise Refusal(400, f"old size {old_size} is larger than the checkpoint size {size}")
    if old_size != known_size:
        raise Refusal(409, f"old size {old_size} is not the size last cosigned", size=known_size)
    if size == 0 and root != EMPTY_ROOT:
        raise Refusal(422, "a checkpoint of size 0 must have the empty tree's root")
    if old_size == 0:
        if proof:
            raise Refusal(422, "a consistency proof from size 0 must be empty")
        return
    try:
        verify_consistency(old_size, size, known_root, root, proof)
    except ProofError as error:
        raise Refusal(422, f"consistency proof from {old_size} to {size} does not verify: {error}") from None
