"""Verification of the whole log, and offline verification of proof files.

:func:`verify_log` recomputes everything from the stored envelopes and names each problem with the
sequence numbers involved: ``edited record``, ``missing record``, ``reordered records``, ``bad signature``,
``unknown key``, ``truncated tail``, ``bad checkpoint``, ``inconsistent checkpoint``,
``unexpected record``, and about the witness file: ``missing witness``, ``unreadable witness``,
``bad witness``.

A live log is verified as one snapshot (see :mod:`fusionguard.audit.reader`): the witness file is read
first, then head, checkpoints, identity index and records in one read transaction, so appends running
meanwhile are simply not part of what is verified. ``trusted_keys`` pins the verifying keys to a ring the
caller holds (``audit verify --trusted-keys``) instead of the ring in the home, which anyone who can
write the home could extend.

Speed: a Merkle root that matches a validly signed checkpoint proves every record under it is exactly
what was signed at append time, so by default the per-record Ed25519 signatures (about 100 µs each) are
checked only where something is already wrong, to name it; ``full=True`` checks every one.

:func:`verify_proof_file` needs only the proof and a public key — no database.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fusionguard.audit.canonical import canonical_json, parse_json_object
from fusionguard.audit.checkpoint import Checkpoint, parse_checkpoint, verify_checkpoint
from fusionguard.audit.keys import BadSignature, KeyRing, UnknownKey
from fusionguard.audit.log import (
    CONSISTENCY_FORMAT,
    INCLUSION_FORMAT,
    QUERY_COLUMNS,
    AuditLog,
    identities_of,
    query_columns,
    read_witness,
    signing_input,
)
from fusionguard.audit.merkle import (
    CompactTree,
    ProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from fusionguard.audit.reader import LogSnapshot
from fusionguard.errors import Problem, TamperDetected
from fusionguard.store.models import AuditRow

Progress = Callable[[int], None]


@dataclass
class Report:
    records: int = 0
    tree_size: int = 0
    root_hash: bytes = b""
    signatures_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> None:
        if self.problems:
            raise TamperDetected(self.problems)


def _check_signature(ring: KeyRing, envelope: dict[str, Any]) -> Problem | None:
    seq = envelope["record"].get("seq")
    where = (seq,) if isinstance(seq, int) else ()
    signature = envelope["signature"]
    try:
        ring.verify(
            signature["key_id"],
            signing_input(envelope["record"]),
            base64.b64decode(signature["value"], validate=True),
        )
    except UnknownKey:
        return Problem(
            "unknown key",
            f"record is signed by key {signature['key_id']}, which is not in the key ring",
            where,
        )
    except (BadSignature, binascii.Error, ValueError):
        return Problem("edited record", "record content does not match its signature", where)
    return None


def _witness_statement(log: AuditLog, *, require_witness: bool) -> tuple[str | None, Problem | None]:
    """The witness file's checkpoint note, or the problem with the file (a named problem, never a crash).

    A missing witness is a problem (rollback detection would silently be off) unless the caller accepts
    it; it is read before the snapshot, so the note never covers records the snapshot cannot see.
    """
    path = log.witness_path
    if path is None:
        return None, None
    try:
        note = read_witness(path)
    except OSError as error:
        return None, Problem(
            "unreadable witness",
            f"cannot read the witness file {path} ({error.strerror}); fix its permissions",
        )
    except UnicodeDecodeError:
        return None, Problem(
            "bad witness", f"the witness file {path} is not a checkpoint note (not UTF-8 text)"
        )
    if note is None and require_witness:
        return None, Problem(
            "missing witness",
            f"the witness file {path} is missing, so a rolled-back database would go unnoticed; "
            "restore it from a backup, or pass --allow-missing-witness to verify without it",
        )
    return note, None


def verify_log(
    log: AuditLog,
    *,
    full: bool = False,
    external_checkpoints: Sequence[str] = (),
    progress: Progress | None = None,
    trusted_keys: KeyRing | None = None,
    require_witness: bool = True,
) -> Report:
    """Recompute the log and compare it with every signed statement about it.

    Everything is read in one snapshot of the database, and the witness file just before it, so a log
    that is being appended to verifies as the prefix its head covered at that moment.
    ``trusted_keys`` pins the keys a signature may come from, whatever the home's ring lists.
    """
    if trusted_keys is None:
        log.refresh_keys()
    ring = trusted_keys if trusted_keys is not None else log.ring
    witness, witness_problem = _witness_statement(log, require_witness=require_witness)
    with log.snapshot() as snapshot:
        report = _verify_snapshot(
            snapshot, ring, full=full, progress=progress, witness=witness, external=external_checkpoints
        )
    if witness_problem is not None and (witness_problem.kind != "missing witness" or report.records):
        report.problems.insert(0, witness_problem)
    return report


def _verify_snapshot(
    snapshot: LogSnapshot,
    ring: KeyRing,
    *,
    full: bool,
    progress: Progress | None,
    witness: str | None,
    external: Sequence[str],
) -> Report:
    report = Report()
    origin, _state_size, head_note = snapshot.state()

    # Signed statements about the log: the head, stored checkpoints, the witness file, exports.
    statements: list[tuple[str, str]] = []
    if head_note:
        statements.append(("head", head_note))
    statements += [(f"stored checkpoint {size}", note) for size, _, note in snapshot.checkpoints()]
    if witness is not None:
        statements.append(("witness file", witness))
    statements += [("external checkpoint", note) for note in external]
    trusted: list[tuple[str, Checkpoint]] = []
    for label, note in statements:
        try:
            trusted.append((label, verify_checkpoint(note, ring, origin=origin)))
        except TamperDetected as error:
            for problem in error.problems:
                report.problems.append(Problem(problem.kind, f"{label}: {problem.detail}"))
    wanted = {cp.tree_size for _, cp in trusted}
    roots: dict[int, bytes] = {0: CompactTree().root()} if 0 in wanted else {}

    tree = CompactTree()
    expected = 0
    identity_rows = snapshot.identity_rows()
    stored_columns = [getattr(AuditRow, name) for name in QUERY_COLUMNS]
    for row in snapshot.iter_rows(AuditRow.envelope, *stored_columns):
        seq, text = int(row[0]), str(row[1])
        report.records += 1
        if progress is not None:
            progress(1)
        if seq > expected:
            missing = tuple(range(expected, seq))
            report.problems.append(
                Problem("missing record", f"{len(missing)} record(s) deleted before seq {seq}", missing[:20])
            )
            # Continue as if they were there: nothing later can match the signed roots anyway.
        expected = seq + 1
        # The stored text is the canonical envelope that was hashed at append time; hashing it as
        # stored means any change to it, even one that keeps the JSON equal, moves the root.
        tree.append(leaf_hash(text.encode()))
        if tree.size in wanted:
            roots[tree.size] = tree.root()
        try:
            envelope = json.loads(text)
            body = envelope["record"]
            key_id = str(envelope["signature"]["key_id"])
            columns = query_columns(body)
            involved = identities_of(body)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            report.problems.append(
                Problem("edited record", f"record is not a valid envelope ({error})", (seq,))
            )
            continue
        if columns["seq"] != seq:
            report.problems.append(
                Problem(
                    "reordered records",
                    f"record signed as seq {columns['seq']} is stored at seq {seq}",
                    (seq, columns["seq"] if isinstance(columns["seq"], int) else -1),
                )
            )
        if not ring.knows(key_id):
            report.problems.append(
                Problem(
                    "unknown key", f"record is signed by key {key_id}, which is not in the key ring", (seq,)
                )
            )
        if full:
            report.signatures_checked += 1
            bad = _check_signature(ring, envelope)
            if bad is not None:
                report.problems.append(bad)
        _check_columns(seq, row[2:], columns, involved, identity_rows.get(seq, []), report)
    report.tree_size = tree.size
    report.root_hash = tree.root()

    for label, checkpoint in trusted:
        if checkpoint.tree_size > tree.size:
            report.problems.append(
                Problem(
                    "truncated tail",
                    f"{label} covers {checkpoint.tree_size} records but the log holds {tree.size}",
                    tuple(range(tree.size, checkpoint.tree_size))[:20],
                )
            )
        elif roots.get(checkpoint.tree_size) != checkpoint.root_hash:
            report.problems.append(
                Problem(
                    "inconsistent checkpoint",
                    f"{label} at size {checkpoint.tree_size} does not match the records",
                    (checkpoint.tree_size,),
                )
            )
    head_sizes = [cp.tree_size for label, cp in trusted if label == "head"]
    if head_sizes and tree.size > head_sizes[0]:
        report.problems.append(
            Problem(
                "unexpected record",
                f"records beyond the signed head (size {head_sizes[0]})",
                tuple(range(head_sizes[0], tree.size))[:20],
            )
        )
    if not head_sizes and tree.size:
        report.problems.append(Problem("bad checkpoint", "the log has records but no signed head"))

    if report.problems and not full:
        # Something is wrong: check every signature so each edited record is named.
        # A second streaming pass keeps memory flat on big logs.
        for row in snapshot.iter_rows(AuditRow.envelope):
            try:
                envelope = parse_json_object(str(row.envelope))
            except ValueError:
                continue  # already reported as an invalid envelope
            report.signatures_checked += 1
            bad = _check_signature(ring, envelope)
            if bad is not None and bad.kind != "unknown key":
                report.problems.append(bad)
    report.problems = _dedupe(report.problems)
    return report


_CREATED_AT = QUERY_COLUMNS.index("created_at")


def _check_columns(
    seq: int,
    stored: Any,
    columns: dict[str, Any],
    involved: list[str],
    stored_identities: list[str],
    report: Report,
) -> None:
    """Query columns must agree with the signed record, or ``audit list`` would lie to the admin."""
    expected = tuple(columns.values())
    found = tuple(stored)
    when = found[_CREATED_AT]
    if isinstance(when, datetime):  # rows hold naive UTC; the record its timestamp string
        # isoformat spells TIMESTAMP_FORMAT (four-digit years) at a third of strftime's cost.
        text = when.isoformat(timespec="microseconds") + "Z"
        found = (*found[:_CREATED_AT], text, *found[_CREATED_AT + 1 :])
    if found != expected:
        for name, have, want in zip(QUERY_COLUMNS, found, expected, strict=True):
            if have != want:
                report.problems.append(
                    Problem(
                        "edited record",
                        f"column {name!r} says {have!r}, the signed record says {want!r}",
                        (seq,),
                    )
                )
    if sorted(stored_identities) != involved:
        report.problems.append(
            Problem(
                "edited record",
                f"identity index lists {sorted(stored_identities)}, the signed record involves {involved}",
                (seq,),
            )
        )


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str, tuple[int, ...]]] = set()
    unique = []
    for problem in problems:
        key = (problem.kind, problem.detail, problem.sequence_numbers)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique


def verify_proof_file(data: bytes, ring: KeyRing) -> dict[str, Any]:
    """Verify an inclusion or consistency proof file offline; return a summary or raise."""
    try:
        proof = json.loads(data)
        kind = proof["format"]
    except (ValueError, KeyError, TypeError):
        raise TamperDetected([Problem("bad proof", "not a fusionguard proof file")]) from None
    try:
        if kind == INCLUSION_FORMAT:
            return _verify_inclusion_file(proof, ring)
        if kind == CONSISTENCY_FORMAT:
            return _verify_consistency_file(proof, ring)
    except (KeyError, TypeError, ValueError, binascii.Error) as error:
        raise TamperDetected([Problem("bad proof", f"malformed proof file ({error})")]) from None
    raise TamperDetected([Problem("bad proof", f"unknown proof format {kind!r}")])


def _path(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v, validate=True) for v in values]


def _verify_inclusion_file(proof: dict[str, Any], ring: KeyRing) -> dict[str, Any]:
    checkpoint = verify_checkpoint(proof["checkpoint"], ring, origin=proof["origin"])
    envelope = proof["envelope"]
    problem = _check_signature(ring, envelope)
    if problem is not None:
        raise TamperDetected([problem])
    index = int(proof["leaf_index"])
    if envelope["record"]["seq"] != index:
        raise TamperDetected([Problem("reordered records", "record seq differs from proof index", (index,))])
    if int(proof["tree_size"]) != checkpoint.tree_size:
        raise TamperDetected([Problem("bad proof", "tree size differs from the checkpoint")])
    try:
        verify_inclusion(
            index,
            checkpoint.tree_size,
            leaf_hash(canonical_json(envelope)),
            _path(proof["inclusion_path"]),
            checkpoint.root_hash,
        )
    except ProofError as error:
        raise TamperDetected([Problem("bad proof", str(error), (index,))]) from None
    return {
        "format": INCLUSION_FORMAT,
        "origin": checkpoint.origin,
        "seq": index,
        "tree_size": checkpoint.tree_size,
        "record": envelope["record"],
    }


def _verify_consistency_file(proof: dict[str, Any], ring: KeyRing) -> dict[str, Any]:
    old = verify_checkpoint(proof["old_checkpoint"], ring, origin=proof["origin"])
    new = verify_checkpoint(proof["new_checkpoint"], ring, origin=proof["origin"])
    try:
        verify_consistency(
            old.tree_size,
            new.tree_size,
            old.root_hash,
            new.root_hash,
            _path(proof["consistency_path"]),
        )
    except ProofError as error:
        raise TamperDetected(
            [Problem("inconsistent checkpoint", str(error), (old.tree_size, new.tree_size))]
        ) from None
    return {
        "format": CONSISTENCY_FORMAT,
        "origin": old.origin,
        "old_size": old.tree_size,
        "new_size": new.tree_size,
    }


def checkpoint_summary(note: str) -> dict[str, Any]:
    checkpoint = parse_checkpoint(note)[0]
    return {
        "origin": checkpoint.origin,
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash.hex(),
    }


__all__ = ["Report", "checkpoint_summary", "verify_log", "verify_proof_file"]
