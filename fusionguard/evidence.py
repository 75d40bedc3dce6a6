"""Takedown evidence bundles: one self-contained file a platform can check offline.

``fusionguard audit evidence RECORD [--image LEAKED] --out FILE`` writes JSON holding:

- ``envelope``: the signed record, byte for byte as the log hashed it;
- ``proof``: a C2SP tlog-proof block: the record's index, its inclusion proof, and the newest
  checkpoint whose witness cosignatures meet the quorum (log signature and cosignatures included);
- ``witness_policy``: a tlog-policy with the log's vkeys, the witnesses' vkeys and the quorum;
- ``trace`` (with ``--image``): the leaked file's SHA-256, the watermark read from it and the PDQ
  distance to the record's signed PDQ hash, with a verdict (``verified`` | ``fingerprint`` |
  ``no_match``), and fusionguard.trace's full result.

:mod:`fusionguard.verify_evidence` checks it with nothing but ``cryptography``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from fusionguard.audit.checkpoint import verify_checkpoint
from fusionguard.audit.log import AuditLog
from fusionguard.audit.merkle import inclusion_proof, root_hash
from fusionguard.errors import AuditError, Problem, TamperDetected
from fusionguard.store.models import AuditRow
from fusionguard.verify_evidence import describe, verify
from fusionguard.witness.cosignature import Verifier
from fusionguard.witness.policy import WitnessPolicy
from fusionguard.witness.report import witnessed_checkpoints

__all__ = ["EVIDENCE_FORMAT", "build_evidence", "compare_image", "verify_evidence_file"]

EVIDENCE_FORMAT = "fusionguard.evidence/v1"


def _policy_text(log: AuditLog, origin: str, policy: WitnessPolicy) -> str:
    """The policy for the platform: the log's vkeys, the witnesses without URLs, groups, quorum."""
    lines = ["# fusionguard evidence: trusted log and witness keys (C2SP tlog-policy)"]
    lines += [f"log {Verifier.log(origin, log.ring.public_key(k)).vkey}" for k in log.ring.key_ids]
    lines += [f"witness {w.name} {w.verifier.vkey}" for w in policy.witnesses.values()]
    for name, group in policy.groups.items():
        lines.append(f"group {name} {group.threshold} {' '.join(group.members)}")
    lines.append(f"quorum {policy.quorum}")
    return "\n".join(lines) + "\n"


def build_evidence(
    log: AuditLog, policy: WitnessPolicy, key: str, *, now: datetime, trace: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The evidence bundle for the record ``key`` (record ID, sequence number or watermark ID)."""
    stored = log.get(key)
    origin = log.state()[0]
    checkpoints, problems = witnessed_checkpoints(log, policy)
    if problems:
        raise TamperDetected(problems)
    covering = [c for c in checkpoints if c.tree_size > stored.seq and policy.satisfied(set(c.cosigners))]
    if not covering:
        newest = max((c.tree_size for c in checkpoints if policy.satisfied(set(c.cosigners))), default=0)
        raise AuditError(
            f"record {stored.record.record_id} is entry {stored.seq}, and the newest checkpoint meeting the "
            f"witness quorum has size {newest}; run 'fusionguard witness submit' and try again"
        )
    chosen = covering[-1]
    log_only = chosen.note.text(tuple(s for s in chosen.note.signatures if s.name == origin))
    verify_checkpoint(log_only, log.ring, origin=origin)
    with log.engine.connect() as connection:
        envelope = connection.execute(
            select(AuditRow.envelope).where(AuditRow.seq == stored.seq)
        ).scalar_one()
        leaves = [
            bytes(h)
            for h in connection.execute(
                select(AuditRow.leaf_hash).where(AuditRow.seq < chosen.tree_size).order_by(AuditRow.seq)
            ).scalars()
        ]
    if len(leaves) != chosen.tree_size or root_hash(leaves) != chosen.note.root_hash:
        raise TamperDetected(
            [
                Problem(
                    "inconsistent checkpoint",
                    f"witnessed checkpoint {chosen.tree_size} does not match the log",
                )
            ]
        )
    path = inclusion_proof(leaves, stored.seq)
    proof = f"c2sp.org/tlog-proof@v1\nindex {stored.seq}\n"
    proof += "".join(base64.b64encode(p).decode() + "\n" for p in path)
    proof += "\n" + chosen.text
    bundle: dict[str, Any] = {
        "format": EVIDENCE_FORMAT,
        "created_at": now.isoformat(),
        "envelope": str(envelope),
        "proof": proof,
        "witness_policy": _policy_text(log, origin, policy),
        "trace": trace,
    }
    verify(bundle)  # never hand out a file that does not verify
    return bundle


def compare_image(log: AuditLog, key: str, rgb: Any, image_bytes: bytes, codec: Any) -> dict[str, Any]:
    """The leaked image against the record: watermark, PDQ distance, and fusionguard.trace's result."""
    from fusionguard.fingerprint import MATCH_DISTANCE, PdqHash, pdq_hash_dihedral
    from fusionguard.trace import Tracer

    stored = log.get(key)
    output = stored.record.output
    if output is None:
        raise AuditError(f"record {stored.record.record_id} released no output to compare an image with")
    traced = Tracer(log, codec).trace(rgb, "image").to_json()
    watermark = next((m for m in traced.get("matches", []) if m.get("method") == "watermark"), None)
    detected = watermark["watermark_id"] if watermark else None
    distance = None
    if output.pdq:
        signed = PdqHash.from_hex(output.pdq)
        distance = min(h.distance(signed) for h in pdq_hash_dihedral(rgb))
    if detected is not None:
        verdict = "verified" if detected == output.watermark_id else "no_match"
    elif distance is not None and distance <= MATCH_DISTANCE:
        verdict = "fingerprint"
    else:
        verdict = "no_match"
    return {
        "record_id": stored.record.record_id,
        "image_sha256": hashlib.sha256(image_bytes).hexdigest(),
        "verdict": verdict,
        "watermark_id": detected,
        "false_alarm_probability": watermark["false_alarm_probability"] if watermark else None,
        "pdq_distance": distance,
        "pdq_match_distance": MATCH_DISTANCE,
        "trace_result": traced,
    }


def verify_evidence_file(path: Path, policy: Path | None = None) -> tuple[dict[str, Any], list[str]]:
    """Verify an evidence file; return the result and its plain-words description (or raise)."""
    from fusionguard.verify_evidence import Invalid

    try:
        bundle = json.loads(path.read_text())
        result = verify(bundle, policy.read_text() if policy else None)
    except Invalid as error:
        raise TamperDetected([Problem("bad evidence", str(error))]) from None
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise TamperDetected([Problem("bad evidence", f"malformed evidence file ({error!r})")]) from None
    return result, describe(result)
