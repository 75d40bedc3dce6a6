"""The tamper-evident audit log: signed records in an RFC 9162 Merkle tree with signed checkpoints.

Appending a record, under the database's write lock:

1. the next sequence number is read from ``log_state`` (gapless: it is the tree size);
2. the record, carrying that number, is canonicalised (RFC 8785) and signed by the ring's newest key;
3. the signed envelope becomes a leaf; the Merkle frontier in ``log_state`` advances in O(log n);
4. a checkpoint covering the new record is signed and stored as the log's head (and every
   ``checkpoint_every`` records, or on demand, kept permanently in ``audit_checkpoints``);
5. after commit the head is mirrored to a witness file outside the database, so truncating the log
   and restoring an older head inside the database is still detected.

The returned :class:`Receipt` carries that signed checkpoint: a caller who keeps it can later prove that
its record was acknowledged.

    log = AuditLog.open(settings.db_url, KeyRing.load(settings.keys_dir))
    receipt = log.append(record)
    log.inclusion_proof(receipt.record_id)  # a self-contained, offline-verifiable proof
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from fusionguard.audit.canonical import canonical_json, parse_json_object
from fusionguard.audit.checkpoint import Checkpoint, verify_checkpoint
from fusionguard.audit.keys import KeyRing
from fusionguard.audit.merkle import (
    CompactTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
)
from fusionguard.audit.record import AuditRecord
from fusionguard.config import Clock, utc_now
from fusionguard.errors import AuditError, NotFound, Problem, TamperDetected
from fusionguard.store import db
from fusionguard.store.models import AuditRow, CheckpointRow, LogState, RecordIdentity

SIGNING_CONTEXT = b"fusionguard.audit-record/v1\n"
INCLUSION_FORMAT = "fusionguard.inclusion-proof/v1"
CONSISTENCY_FORMAT = "fusionguard.consistency-proof/v1"
WITNESS_BLOCK = 1024


def read_witness(path: Path) -> str | None:
    """The checkpoint note in a witness file, or None when there is none yet."""
    try:
        data = path.read_bytes().split(b"\0", 1)[0]
    except FileNotFoundError:
        return None
    return data.decode() if data else None


def signing_input(record_json: dict[str, Any]) -> bytes:
    """What a record signature covers: a domain-separation prefix and the canonical record."""
    return SIGNING_CONTEXT + canonical_json(record_json)


def seal_envelope(canonical_record: bytes, key_id: str, signature: bytes) -> bytes:
    """Canonical JSON of ``{"record": ..., "signature": {"key_id": ..., "value": ...}}``.

    Spelled out rather than re-canonicalising the record: keys are already in JCS order and hex and
    base64 need no escaping, so this equals ``canonical_json`` of the envelope (a test checks it).
    """
    value = base64.b64encode(signature)
    return (
        b'{"record":'
        + canonical_record
        + b',"signature":{"key_id":"'
        + key_id.encode()
        + b'","value":"'
        + value
        + b'"}}'
    )


QUERY_COLUMNS = (
    "seq", "record_id", "kind", "decision", "created_at", "actor", "model_name", "model_license",
    "watermark_id", "pdq", "output_sha256", "refers_to",
)  # fmt: skip
_RECORD_COLUMNS = (*QUERY_COLUMNS, "key_id", "envelope", "leaf_hash")


def _statements(style: str) -> dict[str, str]:
    """The statements every append runs, as driver SQL (``named`` for sqlite3, ``pyformat`` for psycopg).

    Appends go straight to the driver: SQLAlchemy's per-statement work (caching, result set-up, type
    processing) and the pool's per-checkout ping cost more than the database's own execution.
    """

    def param(name: str) -> str:
        return f":{name}" if style == "named" else f"%({name})s"

    columns = ", ".join(_RECORD_COLUMNS)
    values = ", ".join(param(c) for c in _RECORD_COLUMNS)
    return {
        "lock": "SELECT origin, tree_size, frontier FROM log_state WHERE id = 1"
        + ("" if style == "named" else " FOR UPDATE"),
        "record": f"INSERT INTO audit_records ({columns}) VALUES ({values})",
        "identity": "INSERT INTO audit_record_identities (seq, identity_id) "
        f"VALUES ({param('seq')}, {param('identity_id')})",
        "checkpoint": "INSERT INTO audit_checkpoints (tree_size, root_hash, note, created_at) VALUES ("
        + ", ".join(param(c) for c in ("tree_size", "root_hash", "note", "created_at"))
        + ")",
        "state": "UPDATE log_state SET "
        + ", ".join(f"{c} = {param(c)}" for c in ("tree_size", "frontier", "head_note", "updated_at"))
        + " WHERE id = 1",
    }


_SQL = {"sqlite": _statements("named"), "postgresql": _statements("pyformat")}

# A transactional WAL record in its own synchronously committed transaction: once it is flushed, so is
# every commit before it (WAL is flushed in order). Every role may call it unless an admin revoked it
# (then appends commit synchronously); no logical decoding is needed.
_PG_FLUSH_BARRIER = "SELECT pg_logical_emit_message(true, 'fusionguard', 'ack')"


@dataclass
class _Sealed:
    """What one append writes, computed under the lock from the log's state."""

    rows: list[dict[str, Any]]
    identities: list[dict[str, Any]]
    checkpoint: dict[str, Any] | None
    state: dict[str, Any]
    leaves: list[tuple[int, str, bytes]]
    note: str


class _Appender:
    """One driver connection that appends; :class:`AuditLog` keeps a few, one per concurrent caller.

    SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock, the rows are written, ``COMMIT``.

    PostgreSQL, two round trips in pipeline mode: (1) ``BEGIN``, read ``log_state`` ``FOR UPDATE``;
    (2) insert, update the state, ``COMMIT``, then a flush barrier. The append commits with
    ``synchronous_commit`` off, so the row lock is released without waiting for the disk, and the barrier
    (a tiny synchronous commit of its own) returns only once the WAL holding the append is flushed.
    Writers on many machines therefore hold the lock for a round trip and the signing, not for an fsync,
    while nothing is acknowledged before it is durable. Where the barrier is refused (a restricted role),
    appends commit synchronously instead.
    """

    def __init__(self, engine: Engine) -> None:
        self.dialect = engine.dialect.name
        self.sql = _SQL["postgresql" if self.dialect == "postgresql" else "sqlite"]
        fairy = engine.raw_connection()
        connection = fairy.driver_connection
        if connection is None:
            raise AuditError("the database driver returned no connection")
        self.connection: Any = connection
        fairy.detach()  # ours to keep and close: no pool reset, no ping per append
        self._fairy = fairy
        self.pid = os.getpid()
        self.errors: tuple[type[BaseException], ...] = (engine.dialect.loaded_dbapi.Error,)
        self.barrier = False
        if self.dialect == "postgresql":
            self.connection.autocommit = True  # BEGIN and COMMIT are ours, inside the pipeline
            with contextlib.suppress(*self.errors):  # refused: synchronous commits instead
                self.connection.execute(_PG_FLUSH_BARRIER)
                self.barrier = True

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._fairy.close()

    @property
    def broken(self) -> bool:
        return bool(getattr(self.connection, "closed", False)) or getattr(self.connection, "broken", False)

    def lock(self) -> tuple[str, int, bytes]:
        """Begin a write transaction and read the log's state under its lock."""
        if self.dialect != "postgresql":
            cursor = self.connection.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
                row = cursor.execute(self.sql["lock"]).fetchone()
            finally:
                cursor.close()
        else:
            with self.connection.pipeline(), self.connection.cursor() as cursor:
                cursor.execute("BEGIN")
                if self.barrier:
                    cursor.execute("SET LOCAL synchronous_commit TO off")
                cursor.execute(self.sql["lock"])
                row = cursor.fetchone()
        if row is None:
            self.rollback()
            raise AuditError("the log has no state row; run 'fusionguard init'")
        return str(row[0]), int(row[1]), bytes(row[2])

    def commit(self, sealed: _Sealed) -> None:
        """Write the sealed rows and commit; returns once the commit is durable."""
        if self.dialect != "postgresql":
            # SQLAlchemy's own text format for SQLite DATETIME columns, so reads parse it back.
            for row in (*sealed.rows, sealed.state, *([sealed.checkpoint] if sealed.checkpoint else [])):
                key = "updated_at" if "updated_at" in row else "created_at"
                row[key] = row[key].strftime("%Y-%m-%d %H:%M:%S.%f")
        cursor = self.connection.cursor()
        try:
            if self.dialect == "postgresql":
                with self.connection.pipeline():
                    self._write(cursor, sealed)
                    cursor.execute("COMMIT")
                    if self.barrier:
                        cursor.execute(_PG_FLUSH_BARRIER)
            else:
                self._write(cursor, sealed)
                cursor.execute("COMMIT")
        finally:
            cursor.close()

    def _write(self, cursor: Any, sealed: _Sealed) -> None:
        cursor.executemany(self.sql["record"], sealed.rows)
        if sealed.identities:
            cursor.executemany(self.sql["identity"], sealed.identities)
        if sealed.checkpoint is not None:
            cursor.execute(self.sql["checkpoint"], sealed.checkpoint)
        cursor.execute(self.sql["state"], sealed.state)

    def rollback(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.execute("ROLLBACK")


_SELECT_STATE = select(LogState).where(LogState.id == 1)
_LOCK_STATE = _SELECT_STATE.with_for_update()


@dataclass(frozen=True)
class Receipt:
    seq: int
    record_id: str
    leaf_hash: bytes
    checkpoint: str


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


def _naive_utc(moment: datetime) -> datetime:
    """Rows store naive UTC; a naive ``moment`` is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


class AuditLog:
    def __init__(
        self,
        engine: Engine,
        ring: KeyRing,
        *,
        clock: Clock = utc_now,
        witness_path: Path | None = None,
        checkpoint_every: int = 256,
    ) -> None:
        self.engine = engine
        self.ring = ring
        self.clock = clock
        self.witness_path = witness_path
        self.checkpoint_every = checkpoint_every
        self._witness_fd: int | None = None
        self._appenders: list[_Appender] = []
        self._appenders_pid = os.getpid()
        self._appenders_lock = threading.Lock()
        # -- witnessing (fusionguard.witness): told each new head after an append; must not block --
        self.append_observers: list[Callable[[str], None]] = []

    def __del__(self) -> None:
        for appender in getattr(self, "_appenders", []):
            appender.close()
        if getattr(self, "_witness_fd", None) is not None:
            os.close(self._witness_fd)  # type: ignore[arg-type]

    @classmethod
    def open(
        cls,
        url: str,
        ring: KeyRing,
        *,
        clock: Clock = utc_now,
        witness_path: Path | None = None,
        checkpoint_every: int = 256,
    ) -> AuditLog:
        """Open an existing log; refuses a database that is not at the schema head."""
        engine = db.open_engine(url)
        db.require_head(engine)
        log = cls(engine, ring, clock=clock, witness_path=witness_path, checkpoint_every=checkpoint_every)
        log.ensure_state()
        return log

    # -- set-up ---------------------------------------------------------------------------------

    def ensure_state(self) -> str:
        """Create the log's state row (with a fresh random origin) once; return the origin.

        Several workers may open a fresh database at once: the loser of the insert race reads the
        winner's row instead of failing.
        """
        for _attempt in range(2):
            try:
                with self._write() as connection:
                    state = connection.execute(_SELECT_STATE).first()
                    if state is not None:
                        return str(state.origin)
                    origin = f"fusionguard.log/{uuid.uuid4().hex}"
                    connection.execute(
                        insert(LogState).values(
                            id=1,
                            origin=origin,
                            tree_size=0,
                            frontier=b"",
                            head_note=None,
                            updated_at=_naive_utc(self.clock()),
                        )
                    )
                    return origin
            except IntegrityError:
                continue
            except SQLAlchemyError as error:
                raise AuditError(f"could not read the log state: {db.first_line(error)}") from None
        raise AuditError("could not create the log state row")

    @contextlib.contextmanager
    def _write(self) -> Iterator[Any]:
        with (
            self.engine.connect().execution_options(**{db.WRITE: True}) as connection,
            connection.begin(),
        ):
            yield connection

    @contextlib.contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        try:
            yield
        except (AuditError, NotFound, TamperDetected):
            raise
        except IntegrityError as error:
            raise AuditError(f"could not {doing}: {db.first_line(error)}") from None
        except (DBAPIError, SQLAlchemyError) as error:
            raise AuditError(
                f"could not {doing} in {db.describe(str(self.engine.url))}: {db.first_line(error)}"
            ) from None

    def _lock_state(self, connection: Any) -> Any:
        # PostgreSQL: the row lock serialises writers on all machines. SQLite: BEGIN IMMEDIATE
        # already holds the database's write lock, and has no FOR UPDATE.
        query = _LOCK_STATE if connection.dialect.name == "postgresql" else _SELECT_STATE
        state = connection.execute(query).first()
        if state is None:
            raise AuditError("the log has no state row; run 'fusionguard init'")
        return state

    # -- appending ------------------------------------------------------------------------------

    def append(self, record: AuditRecord) -> Receipt:
        return self.append_many([record])[0]

    def append_many(self, records: Sequence[AuditRecord]) -> list[Receipt]:
        """Append records in one transaction; each receipt carries a signed checkpoint covering it.

        A receipt is returned only once the append is durable in the database and mirrored to the
        witness file. Safe to call from several threads: each concurrent caller gets its own connection.
        """
        if not records:
            return []
        appender = self._checkout()
        try:
            sealed = self._append_with(appender, records)
        except BaseException:
            appender.rollback()
            if appender.broken:
                appender.close()
            else:
                self._checkin(appender)
            raise
        self._checkin(appender)
        self._update_witness(sealed.note)
        for observer in self.append_observers:  # witnessing: a counter and an event, no I/O
            observer(sealed.note)
        return [Receipt(seq, rid, leaf, sealed.note) for seq, rid, leaf in sealed.leaves]

    def _append_with(self, appender: _Appender, records: Sequence[AuditRecord]) -> _Sealed:
        try:
            origin, size, frontier = appender.lock()
            sealed = self._seal(origin, size, frontier, records)
            appender.commit(sealed)
            return sealed
        except appender.errors as error:
            raise AuditError(
                f"could not append to the audit log in {db.describe(str(self.engine.url))}: "
                f"{db.first_line(error)}"
            ) from None

    def _checkout(self) -> _Appender:
        with self._appenders_lock:
            if self._appenders_pid != os.getpid():  # a forked child must not share its parent's sockets
                self._appenders, self._appenders_pid = [], os.getpid()
            while self._appenders:
                appender = self._appenders.pop()
                if not appender.broken:
                    return appender
                appender.close()
        with self._guard("connect to the audit log"):
            return _Appender(self.engine)

    def _checkin(self, appender: _Appender) -> None:
        with self._appenders_lock:
            if appender.pid == os.getpid() and len(self._appenders) < 8:
                self._appenders.append(appender)
                return
        appender.close()

    def close(self) -> None:
        """Close the log's connections and witness file (also done when the log is collected)."""
        with self._appenders_lock:
            appenders, self._appenders = self._appenders, []
        for appender in appenders:
            appender.close()
        self.engine.dispose()
        if self._witness_fd is not None:
            os.close(self._witness_fd)
            self._witness_fd = None

    def _seal(self, origin: str, size: int, frontier: bytes, records: Sequence[AuditRecord]) -> _Sealed:
        """Sign ``records`` as the next leaves and sign the new head; the caller holds the lock."""
        signer = self.ring.signer
        tree = CompactTree.from_bytes(size, frontier)
        now = _naive_utc(self.clock())
        rows: list[dict[str, Any]] = []
        identities: list[dict[str, Any]] = []
        leaves: list[tuple[int, str, bytes]] = []
        for record in records:
            seq = tree.size
            body_json = record.with_seq(seq).to_json()
            body = canonical_json(body_json)
            signature = signer.sign(SIGNING_CONTEXT + body)
            encoded = seal_envelope(body, signer.key_id, signature)
            leaf = leaf_hash(encoded)
            tree.append(leaf)
            row = query_columns(body_json)
            row.update(
                created_at=_naive_utc(record.timestamp),
                key_id=signer.key_id,
                envelope=encoded.decode(),
                leaf_hash=leaf,
            )
            rows.append(row)
            identities += [{"seq": seq, "identity_id": i} for i in identities_of(body_json)]
            leaves.append((seq, record.record_id, leaf))
        root = tree.root()
        note = Checkpoint(origin, tree.size, root).sign(signer)
        kept = None
        if tree.size // self.checkpoint_every > size // self.checkpoint_every:
            kept = {"tree_size": tree.size, "root_hash": root, "note": note, "created_at": now}
        state = {"tree_size": tree.size, "frontier": tree.to_bytes(), "head_note": note, "updated_at": now}
        return _Sealed(rows, identities, kept, state, leaves, note)

    def checkpoint(self) -> str:
        """Store the current head permanently (idempotent) and return its signed note."""
        with self._guard("write a checkpoint"), self._write() as connection:
            state = self._lock_state(connection)
            tree = CompactTree.from_bytes(state.tree_size, state.frontier)
            note = Checkpoint(state.origin, tree.size, tree.root()).sign(self.ring.signer)
            exists = connection.execute(
                select(CheckpointRow.tree_size).where(CheckpointRow.tree_size == tree.size)
            ).first()
            if exists is None:
                connection.execute(
                    insert(CheckpointRow).values(
                        tree_size=tree.size,
                        root_hash=tree.root(),
                        note=note,
                        created_at=_naive_utc(self.clock()),
                    )
                )
            connection.execute(update(LogState).where(LogState.id == 1).values(head_note=note))
        self._update_witness(note)
        return note

    def _update_witness(self, note: str) -> None:
        """Mirror the head outside the database; only ever forward, never backward.

        The witness is one fixed-size block rewritten in place under an exclusive lock: a single small
        ``pwrite`` costs a few microseconds where write-and-rename costs a quarter of a millisecond,
        and appends pay it every time.
        """
        if self.witness_path is None:
            return
        encoded = note.encode()
        if len(encoded) >= WITNESS_BLOCK:
            raise AuditError("checkpoint note is too long for the witness file")
        if self._witness_fd is None:  # kept open: appends pay for the lock and two small I/Os only
            self._witness_fd = os.open(self.witness_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fd = self._witness_fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            current = os.pread(fd, WITNESS_BLOCK, 0).split(b"\0", 1)[0]
            if current:
                lines = current.split(b"\n", 2)
                same_log = lines[0] == encoded.split(b"\n", 1)[0]
                if (
                    same_log
                    and len(lines) > 1
                    and lines[1].isdigit()
                    and int(lines[1]) > int(encoded.split(b"\n", 2)[1])
                ):
                    return
            os.pwrite(fd, encoded.ljust(WITNESS_BLOCK, b"\0"), 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    # -- reading --------------------------------------------------------------------------------

    def state(self) -> tuple[str, int, str | None]:
        with self._guard("read the log state"), self.engine.connect() as connection:
            row = connection.execute(select(LogState).where(LogState.id == 1)).first()
        if row is None:
            raise AuditError("the log has no state row; run 'fusionguard init'")
        return str(row.origin), int(row.tree_size), row.head_note

    def head(self) -> str:
        note = self.state()[2]
        if note is None:
            return self.checkpoint()
        return note

    def get(self, key: str) -> StoredRecord:
        """A record by record ID, by sequence number, or by watermark ID (16 hex digits)."""
        query = select(AuditRow)
        if key.isdigit() and len(key) < 16:
            query = query.where(AuditRow.seq == int(key))
        elif len(key) == 16:
            query = query.where(AuditRow.watermark_id == key.lower())
        else:
            query = query.where(AuditRow.record_id == key.lower())
        with self._guard("read a record"), self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            raise NotFound(
                f"no audit record {key!r} (give a record ID, sequence number or "
                "watermark ID; 'fusionguard audit list' shows them)"
            )
        return _stored(row)

    def query(self, filters: Filters = Filters()) -> list[StoredRecord]:
        query = select(AuditRow).order_by(AuditRow.seq)
        if filters.since:
            query = query.where(AuditRow.created_at >= _naive_utc(filters.since))
        if filters.until:
            query = query.where(AuditRow.created_at < _naive_utc(filters.until))
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
        with self._guard("query the log"), self.engine.connect() as connection:
            return [_stored(row) for row in connection.execute(query)]

    def identity_rows(self) -> dict[int, list[str]]:
        """The identity index, by sequence number (verification compares it with the signed records)."""
        found: dict[int, list[str]] = {}
        with self._guard("read the identity index"), self.engine.connect() as connection:
            rows = connection.execute(select(RecordIdentity.seq, RecordIdentity.identity_id)).all()
        for seq, identity in rows:  # fetched in one go: per-row fetching cost a fifth of verify
            found.setdefault(int(seq), []).append(str(identity))
        return found

    def iter_rows(self, *columns: Any, batch: int = 5000) -> Iterator[Any]:
        """Stored rows (all columns, or ``columns``) in sequence order, streamed by keyset pagination."""
        query = select(AuditRow.seq, *columns) if columns else select(AuditRow)
        last = -1
        with self._guard("read the log"), self.engine.connect() as connection:
            while True:
                rows = connection.execute(
                    query.where(AuditRow.seq > last).order_by(AuditRow.seq).limit(batch)
                ).all()
                if not rows:
                    return
                yield from rows
                last = int(rows[-1].seq)

    def count(self) -> int:
        with self._guard("count records"), self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(AuditRow)).scalar_one())

    def checkpoints(self) -> list[tuple[int, bytes, str]]:
        with self._guard("read checkpoints"), self.engine.connect() as connection:
            rows = connection.execute(
                select(CheckpointRow.tree_size, CheckpointRow.root_hash, CheckpointRow.note).order_by(
                    CheckpointRow.tree_size
                )
            ).all()
        return [(int(r.tree_size), bytes(r.root_hash), str(r.note)) for r in rows]

    # -- proofs -----------------------------------------------------------------------------------

    def _leaves(self, size: int) -> list[bytes]:
        with self._guard("read leaf hashes"), self.engine.connect() as connection:
            rows = connection.execute(
                select(AuditRow.leaf_hash).where(AuditRow.seq < size).order_by(AuditRow.seq)
            ).all()
        return [bytes(r.leaf_hash) for r in rows]

    def inclusion_proof(self, key: str) -> dict[str, Any]:
        """A self-contained proof that a record is in the log under the current signed head."""
        stored = self.get(key)
        origin, _, note = self.state()
        note = note or self.checkpoint()
        head = verify_checkpoint(note, self.ring, origin=origin)
        leaves = self._leaves_or_raise(head)
        proof = inclusion_proof(leaves, stored.seq)
        return {
            "format": INCLUSION_FORMAT,
            "origin": origin,
            "leaf_index": stored.seq,
            "tree_size": head.tree_size,
            "envelope": stored.envelope,
            "inclusion_path": [base64.b64encode(p).decode() for p in proof],
            "checkpoint": note,
        }

    def consistency_proof(self, old_note: str) -> dict[str, Any]:
        """Prove that the log at ``old_note`` is a prefix of the log at its current head."""
        origin, _, note = self.state()
        old = verify_checkpoint(old_note, self.ring, origin=origin)
        note = note or self.checkpoint()
        head = verify_checkpoint(note, self.ring, origin=origin)
        leaves = self._leaves_or_raise(head)
        if old.tree_size > head.tree_size or old.tree_size == 0:
            raise AuditError(f"cannot prove consistency from size {old.tree_size} to {head.tree_size}")
        proof = consistency_proof(leaves, old.tree_size)
        return {
            "format": CONSISTENCY_FORMAT,
            "origin": origin,
            "old_checkpoint": old_note,
            "new_checkpoint": note,
            "consistency_path": [base64.b64encode(p).decode() for p in proof],
        }

    def _leaves_or_raise(self, head: Checkpoint) -> list[bytes]:
        """Leaf hashes up to the head, refusing to build proofs over a log that does not match it."""
        leaves = self._leaves(head.tree_size)
        if len(leaves) != head.tree_size:
            raise TamperDetected(
                [
                    Problem(
                        "truncated tail",
                        f"the signed head covers {head.tree_size} records but the log "
                        f"holds {len(leaves)}; run 'fusionguard audit verify'",
                    )
                ]
            )
        if root_hash(leaves) != head.root_hash:
            raise TamperDetected(
                [
                    Problem(
                        "edited record",
                        "stored leaves do not reproduce the signed head; run 'fusionguard audit verify'",
                    )
                ]
            )
        return leaves


def query_columns(body: dict[str, Any]) -> dict[str, Any]:
    """The query columns of a record's row, derived from its signed JSON.

    One function for both directions: appends write these columns, verification recomputes them from
    the signed record and compares, so an edited column (which would make ``audit list`` lie) is found.
    ``created_at`` is the record's timestamp string here; rows store it as naive UTC.
    """
    output = body.get("output") or {}
    model = body.get("model") or {}
    return {
        "seq": body["seq"],
        "record_id": body["record_id"],
        "kind": body["kind"],
        "decision": body["decision"],
        "created_at": body["timestamp"],
        "actor": body["actor"],
        "model_name": model.get("name"),
        "model_license": model.get("license"),
        "watermark_id": output.get("watermark_id"),
        "pdq": output.get("pdq"),
        "output_sha256": output.get("sha256"),
        "refers_to": body.get("refers_to"),
    }


def identities_of(body: dict[str, Any]) -> list[str]:
    """The identity IDs a record involves (rows of ``audit_record_identities``), sorted."""
    found = {i for ref in (*body["sources"], *body["targets"]) for i in ref["identities"]}
    return sorted(found)


def _stored(row: Any) -> StoredRecord:
    envelope = parse_json_object(row.envelope)
    return StoredRecord(
        seq=int(row.seq),
        record=AuditRecord.from_json(envelope["record"]),
        envelope=envelope,
        key_id=str(row.key_id),
    )
