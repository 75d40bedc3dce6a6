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
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from fusionguard.audit.canonical import canonical_json
from fusionguard.audit.checkpoint import Checkpoint, verify_checkpoint
from fusionguard.audit.keys import KeyRing
from fusionguard.audit.merkle import (
    CompactTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
)
from fusionguard.audit.reader import Filters as Filters  # re-exported: callers import them from here
from fusionguard.audit.reader import LogSnapshot, naive_utc
from fusionguard.audit.reader import StoredRecord as StoredRecord
from fusionguard.audit.record import AuditRecord
from fusionguard.config import Clock, utc_now
from fusionguard.errors import AuditError, NotFound, Problem, TamperDetected
from fusionguard.store import db
from fusionguard.store.models import LogState

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
        "kept": f"SELECT 1 FROM audit_checkpoints WHERE tree_size = {param('tree_size')}",
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
class Sealed:
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

    def commit(self, sealed: Sealed) -> None:
        """Write the sealed rows and commit; returns once the commit is durable."""
        cursor = self.connection.cursor()
        try:
            if self.dialect == "postgresql":
                with self.connection.pipeline():
                    write_sealed(cursor, self.dialect, sealed)
                    cursor.execute("COMMIT")
                    if self.barrier:
                        cursor.execute(_PG_FLUSH_BARRIER)
            else:
                write_sealed(cursor, self.dialect, sealed)
                cursor.execute("COMMIT")
        finally:
            cursor.close()

    def rollback(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.execute("ROLLBACK")


def write_sealed(cursor: Any, dialect: str, sealed: Sealed) -> None:
    """The one way rows get into the log: the driver statements of :data:`_SQL`, on any cursor that is
    inside a transaction holding the log's lock (an appender's, or a caller's via ``append_in``)."""
    sql = _SQL["postgresql" if dialect == "postgresql" else "sqlite"]
    if dialect != "postgresql":
        # SQLAlchemy's own text format for SQLite DATETIME columns, so reads parse it back.
        for row in (*sealed.rows, sealed.state, *([sealed.checkpoint] if sealed.checkpoint else [])):
            key = "updated_at" if "updated_at" in row else "created_at"
            row[key] = row[key].strftime("%Y-%m-%d %H:%M:%S.%f")
    cursor.executemany(sql["record"], sealed.rows)
    if sealed.identities:
        cursor.executemany(sql["identity"], sealed.identities)
    if sealed.checkpoint is not None:
        cursor.execute(sql["checkpoint"], sealed.checkpoint)
    cursor.execute(sql["state"], sealed.state)


_SELECT_STATE = select(LogState).where(LogState.id == 1)


@dataclass(frozen=True)
class Receipt:
    seq: int
    record_id: str
    leaf_hash: bytes
    checkpoint: str


_naive_utc = naive_utc


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
        self.refresh_keys()
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

    def _append_with(self, appender: _Appender, records: Sequence[AuditRecord]) -> Sealed:
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

    def append_in(
        self, connection: Connection, records: Sequence[AuditRecord], *, keep_checkpoint: bool = False
    ) -> Sealed:
        """Append ``records`` inside the caller's open write transaction (SQLAlchemy ``connection``).

        The caller's other changes and the records commit together or not at all (the consent
        registry records each consent change this way). The log's lock is taken here and held to the
        caller's commit; after it commits, call :meth:`published` so the witness file moves forward.
        """
        self.refresh_keys()
        dialect = self.engine.dialect.name
        sql = _SQL["postgresql" if dialect == "postgresql" else "sqlite"]
        driver = connection.connection.driver_connection
        if driver is None:
            raise AuditError("the database driver returned no connection")
        errors = (self.engine.dialect.loaded_dbapi.Error,)
        cursor = driver.cursor()
        try:
            cursor.execute(sql["lock"])
            row = cursor.fetchone()
            if row is None:
                raise AuditError("the log has no state row; run 'fusionguard init'")
            sealed = self._seal(str(row[0]), int(row[1]), bytes(row[2]), records)
            if keep_checkpoint and sealed.checkpoint is None:
                size = sealed.state["tree_size"]
                cursor.execute(sql["kept"], {"tree_size": size})
                if cursor.fetchone() is None:
                    sealed.checkpoint = {
                        "tree_size": size,
                        "root_hash": CompactTree.from_bytes(size, sealed.state["frontier"]).root(),
                        "note": sealed.note,
                        "created_at": sealed.state["updated_at"],
                    }
            write_sealed(cursor, dialect, sealed)
        except errors as error:
            raise AuditError(
                f"could not append to the audit log in {db.describe(str(self.engine.url))}: "
                f"{db.first_line(error)}"
            ) from None
        finally:
            cursor.close()
        return sealed

    def published(self, sealed: Sealed) -> list[Receipt]:
        """After the transaction of :meth:`append_in` committed: move the witness, return receipts."""
        self._update_witness(sealed.note)
        return [Receipt(seq, rid, leaf, sealed.note) for seq, rid, leaf in sealed.leaves]

    def refresh_keys(self) -> None:
        """Pick up a rotated key ring (``keys rotate`` in another process): the newest key signs next."""
        if self.ring.changed() and self.ring.directory is not None:
            self.ring = KeyRing.load(self.ring.directory)

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

    def _seal(self, origin: str, size: int, frontier: bytes, records: Sequence[AuditRecord]) -> Sealed:
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
        return Sealed(rows, identities, kept, state, leaves, note)

    def checkpoint(self) -> str:
        """Store the current head permanently (idempotent) and return its signed note."""
        with self._guard("write a checkpoint"), self._write() as connection:
            sealed = self.append_in(connection, [], keep_checkpoint=True)
        self._update_witness(sealed.note)
        return sealed.note

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

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[LogSnapshot]:
        """One read transaction: everything read through it comes from one state of the log.

        PostgreSQL: ``REPEATABLE READ``, read only (the snapshot is taken at the first read).
        SQLite: one ``BEGIN`` … ``COMMIT``; in WAL mode the first read fixes what it sees.
        """
        with self._guard("read the log"):
            connection = self.engine.connect()
            if self.engine.dialect.name == "postgresql":
                connection = connection.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            with connection, connection.begin():
                yield LogSnapshot(connection)

    def state(self) -> tuple[str, int, str | None]:
        with self.snapshot() as snapshot:
            return snapshot.state()

    def head(self) -> str:
        note = self.state()[2]
        if note is None:
            return self.checkpoint()
        return note

    def get(self, key: str) -> StoredRecord:
        """A record by record ID, by sequence number, or by watermark ID (16 hex digits)."""
        with self.snapshot() as snapshot:
            return snapshot.get(key)

    def query(self, filters: Filters | None = None) -> list[StoredRecord]:
        with self.snapshot() as snapshot:
            return snapshot.query(filters or Filters())

    def identity_rows(self) -> dict[int, list[str]]:
        """The identity index, by sequence number (verification compares it with the signed records)."""
        with self.snapshot() as snapshot:
            return snapshot.identity_rows()

    def iter_rows(self, *columns: Any, batch: int = 5000) -> Iterator[Any]:
        """Stored rows (all columns, or ``columns``) in sequence order, from one snapshot."""
        with self.snapshot() as snapshot:
            yield from snapshot.iter_rows(*columns, batch=batch)

    def count(self) -> int:
        with self.snapshot() as snapshot:
            return snapshot.count()

    def checkpoints(self) -> list[tuple[int, bytes, str]]:
        with self.snapshot() as snapshot:
            return snapshot.checkpoints()

    # -- proofs -----------------------------------------------------------------------------------

    def inclusion_proof(self, key: str) -> dict[str, Any]:
        """A self-contained proof that a record is in the log under the current signed head."""
        if self.state()[2] is None:  # a log that never had an append: sign its head first
            self.checkpoint()
        with self.snapshot() as snapshot:
            stored = snapshot.get(key)
            origin, _, head_note = snapshot.state()
            note = head_note or ""
            head = verify_checkpoint(note, self.ring, origin=origin)
            leaves = self._leaves_or_raise(snapshot, head)
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
        if self.state()[2] is None:
            self.checkpoint()
        with self.snapshot() as snapshot:
            origin, _, head_note = snapshot.state()
            note = head_note or ""
            old = verify_checkpoint(old_note, self.ring, origin=origin)
            head = verify_checkpoint(note, self.ring, origin=origin)
            leaves = self._leaves_or_raise(snapshot, head)
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

    @staticmethod
    def _leaves_or_raise(snapshot: LogSnapshot, head: Checkpoint) -> list[bytes]:
        """Leaf hashes up to the head, refusing to build proofs over a log that does not match it."""
        leaves = snapshot.leaves(head.tree_size)
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
    if body["kind"] == "consent":  # consent records index the identity they are about
        found.add(body["extra"]["consent"]["identity_id"])
    return sorted(found)
