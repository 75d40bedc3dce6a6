"""What the witnesses say about the log, for ``audit verify`` and evidence bundles.

:func:`witness_report` checks every stored cosignature against the policy's witness keys, finds the
newest checkpoint whose cosignatures meet the quorum and how far cosigning lags behind the head, and
(online) asks each witness for the latest checkpoint it cosigned. It returns the log-signed
checkpoints those cosignatures cover, for :func:`fusionguard.audit.verify.verify_log` to compare with
the records: a stored or witness-held checkpoint the records no longer reproduce is a rolled-back or
forked log, even when the database and the local witness file were rolled back together.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from fusionguard.audit.log import AuditLog
from fusionguard.errors import Problem
from fusionguard.store.models import WitnessCosignature
from fusionguard.witness.cosignature import NoteError, SignedNote, split_note
from fusionguard.witness.policy import PolicyWitness, WitnessPolicy

__all__ = ["WitnessReport", "WitnessedCheckpoint", "witness_report", "witnessed_checkpoints"]


@dataclass
class WitnessedCheckpoint:
    tree_size: int
    note: SignedNote  # the log-signed checkpoint with the cosignature lines that verified
    cosigners: dict[str, int]  # policy witness name -> cosignature timestamp

    @property
    def text(self) -> str:
        return self.note.text()


@dataclass
class WitnessReport:
    quorum: str
    head_size: int
    newest: WitnessedCheckpoint | None = None
    witnesses: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # log-signed checkpoints the records must reproduce
    problems: list[Problem] = field(default_factory=list)

    @property
    def lag_records(self) -> int:
        return self.head_size - (self.newest.tree_size if self.newest else 0)

    def lag_seconds(self, now: datetime) -> float | None:
        if self.newest is None:
            return None
        return max(0.0, now.timestamp() - max(self.newest.cosigners.values(), default=0))

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "quorum": self.quorum,
            "newest_witnessed_size": self.newest.tree_size if self.newest else None,
            "cosigners": sorted(self.newest.cosigners) if self.newest else [],
            "lag_records": self.lag_records,
            "lag_seconds": self.lag_seconds(now),
            "witnesses": self.witnesses,
        }

    def lines(self, now: datetime) -> list[str]:
        """Plain-words summary for ``audit verify``."""
        if self.newest is None:
            out = [
                f"witnessed: no checkpoint meets the quorum ({self.quorum}) yet; "
                f"{self.head_size} record(s) unwitnessed"
            ]
        else:
            lag = self.lag_seconds(now) or 0.0
            out = [
                f"witnessed: size {self.newest.tree_size} cosigned by "
                f"{', '.join(sorted(self.newest.cosigners))} "
                f"(quorum {self.quorum}); cosigning lags {self.lag_records} record(s), {lag:.0f} s"
            ]
        for name, entry in self.witnesses.items():
            held = (
                f"holds size {entry['size']}" if "size" in entry else entry.get("error", "not asked (no URL)")
            )
            out.append(f"  witness {name}: stored cosignatures up to {entry['stored_size']}; {held}")
        return out


def witnessed_checkpoints(
    log: AuditLog, policy: WitnessPolicy, *, newest_only: bool = False
) -> tuple[list[WitnessedCheckpoint], list[Problem]]:
    """Every stored checkpoint with its verified cosignatures, oldest first, and any bad cosignature.

    ``newest_only``: read newest first and stop below the newest checkpoint that meets the quorum
    (the dashboard's figures; a witness adds a row every round, so reading them all grows with the
    log's age). Bad cosignatures are then reported only among the rows read.
    """
    by_key_name = policy.by_key_name()
    order = WitnessCosignature.tree_size.desc() if newest_only else WitnessCosignature.tree_size
    with log.engine.connect() as connection:
        rows = connection.execution_options(stream_results=True).execute(
            select(WitnessCosignature).order_by(order)
        )
        found, problems = _verify_rows(rows, by_key_name, policy if newest_only else None)
    return sorted(found.values(), key=lambda c: c.tree_size), problems


def _verify_rows(
    rows: Any, by_key_name: dict[str, PolicyWitness], stop_at_quorum: WitnessPolicy | None
) -> tuple[dict[int, WitnessedCheckpoint], list[Problem]]:
    found: dict[int, WitnessedCheckpoint] = {}
    problems: list[Problem] = []
    current: WitnessedCheckpoint | None = None
    for row in rows:
        if (
            stop_at_quorum is not None
            and current is not None
            and current.tree_size != int(row.tree_size)
            and stop_at_quorum.satisfied(set(current.cosigners))
        ):
            break  # every row of the newest quorum checkpoint, and of all newer ones, is read
        witness = by_key_name.get(str(row.witness))
        try:
            note = split_note(str(row.note))
        except NoteError as error:
            problems.append(Problem("bad cosignature", f"stored checkpoint {row.tree_size}: {error}"))
            continue
        entry = found.setdefault(int(row.tree_size), WitnessedCheckpoint(int(row.tree_size), note, {}))
        current = entry
        if witness is None:
            continue  # a witness no longer in the policy: its cosignature is kept, not counted
        try:
            line = split_note(entry.note.body + "\n" + str(row.cosignature)).signatures[0]
            timestamp = witness.verifier.verify_line(entry.note.body, line)
        except NoteError as error:
            problems.append(
                Problem("bad cosignature", f"cosignature of {witness.name} at size {row.tree_size}: {error}")
            )
            continue
        entry.cosigners[witness.name] = timestamp
        entry.note = SignedNote(entry.note.body, (*entry.note.signatures, line))
    return found, problems


def _log_signed(note: SignedNote, origin: str) -> str:
    """The checkpoint with only the log's signature lines (what the audit verifier reads)."""
    return note.text(tuple(s for s in note.signatures if s.name == origin))


def witness_report(
    log: AuditLog,
    policy: WitnessPolicy,
    *,
    online: bool = True,
    timeout: float = 5.0,
    newest_only: bool = False,
) -> WitnessReport:
    """``newest_only``: see :func:`witnessed_checkpoints` (``notes`` and each witness's stored size
    then cover only the checkpoints read)."""
    origin, head_size, _ = log.state()
    report = WitnessReport(policy.quorum, head_size)
    checkpoints, report.problems = witnessed_checkpoints(log, policy, newest_only=newest_only)
    for checkpoint in checkpoints:
        report.notes.append(_log_signed(checkpoint.note, origin))
        if policy.satisfied(set(checkpoint.cosigners)):
            report.newest = checkpoint
    origin_hash = hashlib.sha256(origin.encode()).hexdigest()
    for witness in policy.witnesses.values():
        stored = max((c.tree_size for c in checkpoints if witness.name in c.cosigners), default=None)
        entry: dict[str, Any] = {"stored_size": stored}
        report.witnesses[witness.name] = entry
        if not online or not witness.url:
            continue
        try:
            with urllib.request.urlopen(f"{witness.url}/{origin_hash}/checkpoint", timeout=timeout) as answer:
                text = answer.read().decode()
        except urllib.error.HTTPError as error:
            entry["error"] = f"HTTP {error.code}" + (
                ": has cosigned nothing for this log" if error.code == 404 else ""
            )
            continue
        except (OSError, UnicodeDecodeError) as error:
            entry["error"] = f"unreachable: {error}"
            continue
        try:
            note = split_note(text)
            if note.origin != origin:
                raise NoteError(f"it is for log {note.origin!r}")
            mine = [s for s in note.signatures if witness.verifier.matches(s)]
            if not mine:
                raise NoteError("it carries no cosignature by the witness's policy key")
            entry["cosigned_at"] = witness.verifier.verify_line(note.body, mine[0])
        except NoteError as error:
            report.problems.append(
                Problem("bad cosignature", f"witness {witness.name}'s checkpoint: {error}")
            )
            continue
        entry["size"] = note.tree_size
        report.notes.append(_log_signed(note, origin))
    return report


def now_utc() -> datetime:
    return datetime.now(UTC)
