"""What the CLI and the console both do with the log, in one place: summaries, takedowns.

``fusionguard audit list`` / ``audit takedown`` and the console's pages and API call these functions,
so a record is summarised, and a takedown checked and appended, the same way everywhere.

    receipt = file_takedown(log, "3f2a...", "reported by the person shown", actor="alice", now=utc_now())
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from fusionguard.audit.log import AuditLog, Receipt, StoredRecord
from fusionguard.audit.reader import stored_record
from fusionguard.audit.record import takedown_record
from fusionguard.errors import BadInput
from fusionguard.store.models import AuditRow

MAX_REASON = 2000


def record_summary(stored: StoredRecord) -> dict[str, Any]:
    """One line of ``audit list``: the record's query columns, as JSON."""
    record = stored.record
    return {
        "seq": stored.seq,
        "record_id": record.record_id,
        "kind": record.kind,
        "decision": record.decision,
        "timestamp": record.to_json()["timestamp"],
        "model": record.model.name if record.model else None,
        "license": record.model.license if record.model else None,
        "watermark_id": record.output.watermark_id if record.output else None,
        "identities": list(record.identities),
        "refers_to": record.refers_to,
    }


def _referring(log: AuditLog, record_id: str, *kinds: str) -> list[StoredRecord]:
    query = (
        select(AuditRow)
        .where(AuditRow.kind.in_(kinds))
        .where(AuditRow.refers_to == record_id)
        .order_by(AuditRow.seq)
    )
    with log.snapshot() as snapshot:
        return [stored_record(row) for row in snapshot.connection.execute(query)]


def takedowns_of(log: AuditLog, record_id: str) -> list[StoredRecord]:
    """The takedown records that refer to ``record_id``, oldest first."""
    return _referring(log, record_id, "takedown")


def check_takedown(log: AuditLog, key: str, reason: str) -> StoredRecord:
    """The run record ``key`` names, if a takedown of it may be appended; else a one-line BadInput.

    Only an ``allowed`` run's released output can be taken down, once: not a blocked run, not an
    output a ``release`` record says never left, not one already taken down."""
    reason = reason.strip()
    if not reason:
        raise BadInput("the reason is empty; say why the output is taken down")
    if len(reason) > MAX_REASON:
        raise BadInput(f"the reason is {len(reason)} characters, more than the limit of {MAX_REASON}")
    target = log.get(key)
    record_id = target.record.record_id
    if target.record.kind != "run":
        raise BadInput(
            f"record {record_id} is a {target.record.kind} record; only run records can be taken down"
        )
    if target.record.decision != "allowed":
        raise BadInput(
            f"record {record_id} was blocked: it released no output, so there is nothing to take down"
        )
    done = {"takedown": "was already taken down", "release": "was never released"}
    earlier = _referring(log, record_id, *done)
    if earlier:
        first = earlier[0]
        raise BadInput(f"record {record_id} {done[first.record.kind]} (seq {first.seq}); nothing appended")
    return target


def file_takedown(
    log: AuditLog,
    key: str,
    reason: str,
    *,
    actor: str,
    now: datetime,
    data: dict[str, Any] | None = None,
    checked: StoredRecord | None = None,
) -> Receipt:
    """Append a signed takedown record for the run record ``key`` (existing records are never edited).

    ``data`` (the trace of a reported image, say) goes into the record's reason; ``checked`` is what
    :func:`check_takedown` returned, when the caller checked before doing other work."""
    target = checked if checked is not None else check_takedown(log, key, reason)
    record = takedown_record(
        target.record.record_id, reason.strip(), actor=actor, timestamp=now, data=data or {}
    )
    return log.append(record)
