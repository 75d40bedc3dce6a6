"""Reading the audit log: one consistent snapshot per reader, so a live log reads as one state.

A log that is being appended to changes between two statements. Verification reads the head, the stored
checkpoints, the identity index and every record; if each of those came from a different moment, a
record appended in between would look like an edit ("identity index lists []") or an intruder ("records
beyond the signed head"). Every read therefore goes through a :class:`LogSnapshot`: one read transaction,
``REPEATABLE READ`` (read only) on PostgreSQL, and one ``BEGIN`` … ``COMMIT`` on SQLite, whose WAL mode
gives a read transaction a fixed view of the database from its first read to its end.

    with log.snapshot() as snapshot:
        origin, size, head = snapshot.state()
        for row in snapshot.iter_rows():
            ...
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from fusionguard.audit.canonical import parse_json_object
from fusionguard.audit.record import AuditRecord
from fusionguard.errors import AuditError, NotFound
from fusionguard.store.models import AuditRow, CheckpointRow, LogState, RecordIdentity


@dataclass(frozen=True)
class StoredRecord:
    seq: int
    record: AuditRecord
    envelope: dict[str, Any]
    key_id: str

    def to_json(self) -> dict[str, Any]:
        return self.envelope


@dataclass(frozen=True)
class Filters:
    since: datetime | None = None
    until: datetime | None = None
    decision: str | None = None
    model: str | None = None
    identity: str | None = None
    watermark_id: str | None = None
    taken_down: bool | None = None
    limit: int | None = None


def naive_utc(moment: datetime) -> datetime:
    """Rows store naive UTC; a naive ``moment`` is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def stored_record(row: Any) -> StoredRecord:
    envelope = parse_json_object(row.envelope)
    return StoredRecord(
        seq=int(row.seq),
        record=AuditRecord.from_json(envelope["record"]),
        envelope=envelope,
        key_id=str(row.key_id),
    )


class LogSnapshot:
    """The log as one read transaction sees it. Valid only inside ``AuditLog.snapshot()``."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def state(self) -> tuple[str, int, str | None]:
        """The log's origin, size and signed head, as this snapshot sees them."""
        row = self.connection.execute(select(LogState).where(LogState.id == 1)).first()
        if row is None:
            raise AuditError("the log has no state row; run 'fusionguard init'")
        return str(row.origin), int(row.tree_size), row.head_note

    def get(self, key: str) -> StoredRecord:
        """A record by record ID, by sequence number, or by watermark ID (16 hex digits)."""
        query = select(AuditRow)
        if key.isdigit() and len(key) < 16:
            query = query.where(AuditRow.seq == int(key))
        elif len(key) == 16:
            query = query.where(AuditRow.watermark_id == key.lower())
        else:
            query = query.where(AuditRow.record_id == key.lower())
        row = self.connection.execute(query).first()
        if row is None:
            raise NotFound(
                f"no audit record {key!r} (give a record ID, sequence number or "
                "watermark ID; 'fusionguard audit list' shows them)"
            )
        return stored_record(row)

    def query(self, filters: Filters = Filters()) -> list[StoredRecord]:
        query = select(AuditRow).order_by(AuditRow.seq)
        if filters.since:
            query = query.where(AuditRow.created_at >= naive_utc(filters.since))
        if filters.until:
            query = query.where(AuditRow.created_at < naive_utc(filters.until))
        if filters.decision:
            query = query.where(AuditRow.decision == filters.decision)
        if filters.model:
            query = query.where(AuditRow.model_name == filters.model)
        if filters.watermark_id:
            query = query.where(AuditRow.watermark_id == filters.watermark_id.lower())
        if filters.identity:
            query = query.where(
                AuditRow.seq.in_(
                    select(RecordIdentity.seq).where(RecordIdentity.identity_id == filters.identity)
                )
            )
        if filters.taken_down is not None:
            taken = select(AuditRow.refers_to).where(AuditRow.kind == "takedown")
            query = query.where(AuditRow.kind == "run").where(
                AuditRow.record_id.in_(taken) if filters.taken_down else AuditRow.record_id.not_in(taken)
            )
        if filters.limit:
            query = query.limit(filters.limit)
        return [stored_record(row) for row in self.connection.execute(query)]

    def identity_rows(self) -> dict[int, list[str]]:
        """The identity index, by sequence number (verification compares it with the signed records)."""
        found: dict[int, list[str]] = {}
        rows = self.connection.execute(select(RecordIdentity.seq, RecordIdentity.identity_id)).all()
        for seq, identity in rows:  # fetched in one go: per-row fetching cost a fifth of verify
            found.setdefault(int(seq), []).append(str(identity))
        return found

    def iter_rows(self, *columns: Any, batch: int = 5000) -> Iterator[Any]:
        """Stored rows (all columns, or ``columns``) in sequence order, streamed by keyset pagination."""
        query = select(AuditRow.seq, *columns) if columns else select(AuditRow)
        last = -1
        while True:
            rows = self.connection.execute(
                query.where(AuditRow.seq > last).order_by(AuditRow.seq).limit(batch)
            ).all()
            if not rows:
                return
            yield from rows
            last = int(rows[-1].seq)

    def count(self) -> int:
        return int(self.connection.execute(select(func.count()).select_from(AuditRow)).scalar_one())

    def checkpoints(self) -> list[tuple[int, bytes, str]]:
        rows = self.connection.execute(
            select(CheckpointRow.tree_size, CheckpointRow.root_hash, CheckpointRow.note).order_by(
                CheckpointRow.tree_size
            )
        ).all()
        return [(int(r.tree_size), bytes(r.root_hash), str(r.note)) for r in rows]

    def leaves(self, size: int) -> list[bytes]:
        rows = self.connection.execute(
            select(AuditRow.leaf_hash).where(AuditRow.seq < size).order_by(AuditRow.seq)
        ).all()
        return [bytes(r.leaf_hash) for r in rows]

    def pdq_rows(self) -> list[tuple[int, str]]:
        """Every output's PDQ hash, by sequence number (what tracing compares a leak with)."""
        rows = self.connection.execute(select(AuditRow.seq, AuditRow.pdq).where(AuditRow.pdq.is_not(None)))
        return [(int(r.seq), str(r.pdq)) for r in rows]

    def taken_down(self, record_id: str) -> bool:
        """Whether a takedown record refers to ``record_id``."""
        row = self.connection.execute(
            select(AuditRow.seq).where(AuditRow.kind == "takedown").where(AuditRow.refers_to == record_id)
        ).first()
        return row is not None
