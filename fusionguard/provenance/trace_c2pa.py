"""``trace`` with C2PA: a manifest on the image is a fast path, checked against the log, never trusted.

A manifest names the log origin, a record ID and a watermark ID. The fast path ends in ``verified``
only when the named record exists in this log, is ``allowed``, carries the same watermark ID, and its
signed output hash equals the SHA-256 of the very bytes traced (so the image is the released output,
manifest included, bit for bit). Otherwise, or when there is no manifest (stripped, re-encoded), the
image is traced by watermark and content fingerprint as before, with what the manifest claimed and
why it was not accepted said in the result (``details["c2pa"]`` and the note).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fusionguard.errors import NotFound
from fusionguard.media import load_image, sha256_hex
from fusionguard.trace import TraceMatch, Tracer, TraceResult


def c2pa_available() -> bool:
    try:
        import c2pa  # noqa: F401
    except ImportError:
        return False
    return True


def trace_bytes(tracer: Tracer, data: bytes, source: str, sidecar: bytes | None = None) -> TraceResult:
    """Trace an encoded image; read its C2PA manifest first when c2pa-python is installed."""
    claim = None
    if c2pa_available():
        from fusionguard.provenance.c2pa import read_manifest

        claim = read_manifest(data, sidecar=sidecar)
    if claim is None:
        return tracer.trace(load_image(data, source=source).rgb, source)
    about: dict[str, Any] = {
        "record_id": claim.record_id,
        "log_origin": claim.log_origin,
        "watermark_id": claim.watermark_id,
        "validation_state": claim.validation_state,
    }
    problem = _check(tracer, claim.record_id, claim.log_origin, claim.watermark_id, data)
    if problem is None and claim.validation_state in ("Valid", "Trusted"):
        stored = tracer.log.get(claim.record_id)
        match = TraceMatch(
            method="c2pa",
            record_id=stored.record.record_id,
            seq=stored.seq,
            watermark_id=claim.watermark_id,
            taken_down=tracer._taken_down(stored.record.record_id),
            proof_available=tracer._provable(stored.seq),
            matched="output",
        )
        note = "C2PA manifest names this record and the image is its released output, byte for byte"
        return TraceResult(
            source, (match,), note, details={"c2pa": {**about, "accepted": True}}, verdict="verified"
        )
    if problem is None:
        problem = f"the manifest does not validate ({claim.validation_state})"
    traced = tracer.trace(load_image(data, source=source).rgb, source)
    note = f"C2PA manifest not accepted: {problem}; traced by watermark and fingerprint"
    return replace(
        traced,
        note="; ".join(n for n in (traced.note, note) if n),
        details={**traced.details, "c2pa": {**about, "accepted": False, "problem": problem}},
    )


def _check(tracer: Tracer, record_id: str, origin: str, watermark_id: str, data: bytes) -> str | None:
    """Why the manifest's claim does not hold against the log, or None when it does."""
    if origin != tracer.log.state()[0]:
        return f"it names log {origin!r}, not this log"
    try:
        stored = tracer.log.get(record_id)
    except NotFound:
        return f"it names record {record_id!r}, which is not in this log"
    if stored.record.record_id != record_id:  # get() also takes a seq or a watermark ID
        return f"it names {record_id!r}, which is not a record ID"
    output = stored.record.output
    if stored.record.decision != "allowed" or output is None:
        return f"record {record_id} released no output"
    if output.watermark_id != watermark_id:
        return f"its watermark ID {watermark_id} is not record {record_id}'s ({output.watermark_id})"
    if output.sha256 != sha256_hex(data):
        return f"the image is not record {record_id}'s released output (SHA-256 differs)"
    return None
