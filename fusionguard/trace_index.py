"""The persisted trace index: finds candidate records for an image in milliseconds at a million records.

Two parts, both files under ``<home>/trace-index/`` that are memory-mapped, not loaded:

* whole-image PDQ hashes of every allowed output (brute force, ``PdqIndex``-style, a few ms per
  query at 1M);
* locality-sensitive tables over the outputs' ORB descriptors: table ``t`` keys every descriptor by
  its bytes ``3t .. 3t+2`` (24 bits); a query's descriptors vote for the records sharing a key, and
  the records with the most votes are the candidates. A crop keeps a share of the output's
  keypoints, and a true pair (Hamming ~10-40 of 256) agrees on a 24-bit key with p ~ 0.1-0.4, so a
  crop's record collects several votes while a random record gets ~0.

The index is a cache of the database, which stays the truth: candidates are always re-checked
against the stored fingerprint, whose hash the signed record carries. ``meta.json`` says which log
(origin) and up to which sequence number the files cover; records appended since are read from the
database when the index is opened (one indexed range query) and searched from memory; when that tail
grows past :data:`TAIL_LIMIT` (or a tenth of the index) the files are rebuilt. ``rebuild`` and
``verify`` are the explicit paths (``fusionguard trace-index``).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import SQLAlchemyError

from fusionguard.content_fingerprint import QueryFeatures
from fusionguard.errors import AuditError
from fusionguard.fingerprint import MATCH_DISTANCE, PdqIndex
from fusionguard.store import db
from fusionguard.store.models import AuditRow, TraceFingerprintRow

FORMAT: Final = "fusionguard.trace-index/v1"
TABLES: Final = 4
KEY_BITS: Final = 24
TAIL_LIMIT: Final = 20_000
#: Descriptors of each record that go into the tables (the strongest, spread over the picture); all
#: of them are used when a candidate is checked. Fewer entries keep the index at ~2 GB per 1M.
INDEXED: Final = 128
#: Candidates need this many LSH votes (or a whole-image PDQ match).
MIN_VOTES: Final = 2
#: Buckets fuller than this are skipped: descriptors of common structure (star fields, text, grass)
#: cluster, and such keys say little about which record a query shows while costing the most.
MAX_BUCKET: Final = 4096

I64 = npt.NDArray[np.int64]
U32 = npt.NDArray[np.uint32]
U8 = npt.NDArray[np.uint8]


def save_fingerprint(engine: Engine, record_id: str, data: bytes) -> None:
    """Store a released output's fingerprint (before its record is appended); fails closed."""
    try:
        with engine.connect().execution_options(**{db.WRITE: True}) as connection, connection.begin():
            connection.execute(insert(TraceFingerprintRow).values(record_id=record_id, data=data))
    except SQLAlchemyError as error:
        raise AuditError(
            f"could not store the output's content fingerprint in {db.describe(str(engine.url))}: "
            f"{db.first_line(error)}; nothing released"
        ) from None


def load_fingerprints(engine: Engine, record_ids: Iterable[str]) -> dict[str, bytes]:
    """Stored fingerprints by record ID (records without one are absent)."""
    wanted = sorted(set(record_ids))
    if not wanted:
        return {}
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(TraceFingerprintRow.record_id, TraceFingerprintRow.data).where(
                    TraceFingerprintRow.record_id.in_(wanted)
                )
            ).all()
    except SQLAlchemyError as error:
        raise AuditError(f"could not read the trace fingerprints: {db.first_line(error)}") from None
    return {str(row.record_id): bytes(row.data) for row in rows}


def descriptors_of(blob: bytes | None, limit: int | None = None) -> U8:
    """The (n, 32) descriptors of a stored fingerprint, read from its header without a full parse."""
    if not blob or blob[:4] != b"FGC1":
        return np.zeros((0, 32), np.uint8)
    n = struct.unpack_from(">H", blob, 8)[0]
    count = n if limit is None else min(n, limit)
    return np.frombuffer(blob, np.uint8, 32 * count, 11 + 4 * n).reshape(count, 32)


def _keys(descriptors: U8, table: int) -> U32:
    d = descriptors.astype(np.uint32)
    keys = (d[:, 3 * table] << 16) | (d[:, 3 * table + 1] << 8) | d[:, 3 * table + 2]
    return keys.astype(np.uint32, copy=False)


def _dense(entries: int) -> bool:
    """Whether a table of this many entries finds buckets through offsets for every key.

    Dense costs a fixed 64 MB per table (2**KEY_BITS + 1 offsets) and one lookup per key; sparse
    costs 4 bytes per entry (the sorted keys) and a bisection. Dense pays once the tables hold at
    least as many entries as there are keys (about 131,000 records); below that, a small log's index
    would be mostly empty offsets (a 10-record index was 256 MB on disk).
    """
    return entries >= 1 << KEY_BITS


def _table(owners: U32, keys: U32, dense: bool) -> tuple[U32, U32]:
    """One table, its entries' rows sorted by key, and how to find a key's bucket.

    Dense (a large persisted index): bucket offsets for all 2**KEY_BITS keys, one lookup per key.
    Sparse (the in-memory tail, a small index): the sorted keys themselves, searched by bisection.
    """
    order = np.argsort(keys, kind="stable")
    rows = owners[order].astype(np.uint32, copy=False)
    if dense:
        counts = np.bincount(keys, minlength=1 << KEY_BITS)
        finder = np.zeros((1 << KEY_BITS) + 1, dtype=np.uint32)
        np.cumsum(counts, out=finder[1:])
    else:
        finder = keys[order]
    del order
    return finder, rows


@dataclass
class _Tables:
    """LSH tables over rows 0..n-1: per table, a bucket finder (see :func:`_table`) and entry rows."""

    offsets: list[U32]
    rows: list[U32]
    dense: bool

    def votes(self, descriptors: U8) -> tuple[U32, I64]:
        """(rows, votes) of the rows that share a key with any query descriptor, in any table."""
        found: list[U32] = []
        for table in range(TABLES):
            keys = _keys(descriptors, table)
            if self.dense:
                starts = self.offsets[table][keys].astype(np.int64)
                ends = self.offsets[table][keys + 1].astype(np.int64)
            else:
                starts = np.searchsorted(self.offsets[table], keys, side="left").astype(np.int64)
                ends = np.searchsorted(self.offsets[table], keys, side="right").astype(np.int64)
            lengths = ends - starts
            lengths[lengths > MAX_BUCKET] = 0
            total = int(lengths.sum())
            if total == 0:
                continue
            # All bucket ranges gathered at once: position k of the result is starts[b] + (k - first[b]).
            first = np.cumsum(lengths) - lengths
            index = np.arange(total, dtype=np.int64) - np.repeat(first - starts, lengths)
            found.append(np.asarray(self.rows[table][index]))
        if not found:
            return np.zeros(0, np.uint32), np.zeros(0, np.int64)
        rows, votes = np.unique(np.concatenate(found), return_counts=True)
        return rows.astype(np.uint32), votes.astype(np.int64)


@dataclass
class _Part:
    """One searchable set of records: the persisted files or the in-memory tail."""

    seqs: I64
    pdq: PdqIndex
    tables: _Tables


def _mapped_pdq(rows: I64, words: npt.NDArray[np.uint64]) -> PdqIndex:
    """A PdqIndex over memory-mapped arrays (no copy: opening the index reads nothing)."""
    if words.shape != (4, len(rows)):
        raise ValueError("PDQ words do not match the rows")
    index = PdqIndex()
    index._ids, index._words, index._size = rows, words, len(rows)  # the layout PdqIndex keeps
    return index


@dataclass
class _Raw:
    """Records read for an index, before the tables are sorted: keys per table, owner row per key."""

    seqs: I64
    pdq: PdqIndex
    owners: U32
    keys: list[U32]

    def part(self) -> _Part:
        """In memory, with sparse tables (the tail, or a whole small log)."""
        tables = [_table(self.owners, keys, False) for keys in self.keys]
        return _Part(self.seqs, self.pdq, _Tables([t[0] for t in tables], [t[1] for t in tables], False))


def _read(rows: Iterable[tuple[int, bytes | None, bytes | None]], chunk: int = 20_000) -> _Raw:
    """Stream (seq, PDQ bytes, fingerprint blob) rows into keys; descriptors are not kept."""
    seqs: list[int] = []
    pdq_rows: list[int] = []
    pdq_bits: list[bytes] = []
    owners: list[U32] = []
    keys: list[list[U32]] = [[] for _ in range(TABLES)]
    pending: list[U8] = []
    pending_rows: list[int] = []

    def flush() -> None:
        if not pending:
            return
        stacked = np.concatenate(pending)
        owners.append(np.repeat(np.array(pending_rows, dtype=np.uint32), [len(p) for p in pending]))
        for table in range(TABLES):
            keys[table].append(_keys(stacked, table))
        pending.clear()
        pending_rows.clear()

    for row, (seq, pdq, blob) in enumerate(rows):
        seqs.append(seq)
        if pdq is not None:
            pdq_rows.append(row)
            pdq_bits.append(pdq)
        descriptors = descriptors_of(blob, INDEXED)
        if len(descriptors):
            pending.append(descriptors)
            pending_rows.append(row)
            if len(pending) >= chunk:
                flush()
    flush()
    words = np.frombuffer(b"".join(pdq_bits), dtype=np.uint8).reshape(-1, 32)
    pdq_index = PdqIndex(np.array(pdq_rows, dtype=np.int64), words)

    def joined(parts: list[U32]) -> U32:
        return np.concatenate(parts) if parts else np.zeros(0, np.uint32)

    return _Raw(np.array(seqs, dtype=np.int64), pdq_index, joined(owners), [joined(k) for k in keys])


def _rows(
    engine: Engine, after: int, batch: int = 20_000
) -> Iterator[tuple[int, bytes | None, bytes | None]]:
    """(seq, whole-output PDQ bytes, fingerprint blob) of released outputs after ``after``, in order.

    Walks the primary key (a ``decision`` filter would let SQLite scan its index of all records);
    records without an output (blocked, takedowns) are skipped here.
    """
    query = select(AuditRow.seq, AuditRow.pdq, TraceFingerprintRow.data).outerjoin(
        TraceFingerprintRow, TraceFingerprintRow.record_id == AuditRow.record_id
    )
    last = after
    with engine.connect() as connection:
        while True:
            rows = connection.execute(
                query.where(AuditRow.seq > last).order_by(AuditRow.seq).limit(batch)
            ).all()
            if not rows:
                return
            for row in rows:
                if row.pdq is None and row.data is None:
                    continue
                pdq = bytes.fromhex(row.pdq) if row.pdq else None
                yield int(row.seq), pdq, bytes(row.data) if row.data is not None else None
            last = int(rows[-1].seq)


class TraceIndex:
    """Candidate search over a log's outputs, persisted in ``directory``."""

    def __init__(
        self, directory: Path, origin: str, persisted: _Part | None, last_seq: int, tail: _Part
    ) -> None:
        self.directory = directory
        self.origin = origin
        self.persisted = persisted
        self.last_seq = last_seq
        self.tail = tail

    def __len__(self) -> int:
        return (len(self.persisted.seqs) if self.persisted else 0) + len(self.tail.seqs)

    # -- files ---------------------------------------------------------------------------------

    @staticmethod
    def write(directory: Path, origin: str, rows: Iterable[tuple[int, bytes | None, bytes | None]]) -> int:
        """Write an index of these (seq, PDQ bytes, fingerprint blob) rows, in sequence order.

        Atomic: built in a sibling directory that is renamed into place. Tables are sorted and
        written one at a time, so building for 1M records needs a few GB of memory, not the sum.
        """
        raw = _read(rows)
        staging = directory.with_name(f"{directory.name}.partial-{os.getpid()}")  # concurrent rebuilds
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        np.save(staging / "seqs.npy", raw.seqs)
        np.save(staging / "pdq_rows.npy", raw.pdq.ids)
        np.save(staging / "pdq_words.npy", np.ascontiguousarray(raw.pdq.words.T))  # word-major (4, N)
        dense = _dense(len(raw.owners))
        for table in range(TABLES):
            offsets, entries = _table(raw.owners, raw.keys[table], dense)
            raw.keys[table] = np.zeros(0, np.uint32)  # free it before the next table is sorted
            np.save(staging / f"lsh{table}_offsets.npy", offsets)
            np.save(staging / f"lsh{table}_rows.npy", entries)
            del offsets, entries
        last = int(raw.seqs[-1]) if len(raw.seqs) else -1
        count = len(raw.seqs)
        meta = {
            "format": FORMAT,
            "origin": origin,
            "last_seq": last,
            "records": count,
            "tables": TABLES,
            "dense": dense,
        }
        (staging / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        old = directory.with_name(f"{directory.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            os.replace(directory, old)
        os.replace(staging, directory)
        shutil.rmtree(old, ignore_errors=True)
        return count

    @staticmethod
    def _load(directory: Path, origin: str) -> tuple[_Part, int] | None:
        try:
            meta = json.loads((directory / "meta.json").read_text())
        except (OSError, ValueError):
            return None
        if meta.get("format") != FORMAT or meta.get("origin") != origin or meta.get("tables") != TABLES:
            return None
        try:

            def load(name: str) -> Any:
                return np.load(directory / name, mmap_mode="r")

            seqs = load("seqs.npy")
            pdq = _mapped_pdq(load("pdq_rows.npy"), load("pdq_words.npy"))
            dense = meta.get("dense", True) is True  # indexes written before sparse files were dense
            tables = _Tables(
                [load(f"lsh{t}_offsets.npy") for t in range(TABLES)],
                [load(f"lsh{t}_rows.npy") for t in range(TABLES)],
                dense,
            )
        except (OSError, ValueError):
            return None
        for finder, rows in zip(tables.offsets, tables.rows, strict=True):
            if len(finder) != ((1 << KEY_BITS) + 1 if dense else len(rows)):
                return None  # a torn or foreign file: rebuilt, never searched out of bounds
        if len(seqs) != meta.get("records"):
            return None
        return _Part(seqs, pdq, tables), int(meta["last_seq"])

    @classmethod
    def open(cls, directory: Path, engine: Engine, origin: str, *, auto_rebuild: bool = True) -> TraceIndex:
        """The persisted index plus the records appended since it was written (rebuilt when stale)."""
        loaded = cls._load(directory, origin)
        if loaded is None and auto_rebuild:
            cls.rebuild(directory, engine, origin)
            loaded = cls._load(directory, origin)
        persisted, last = loaded if loaded is not None else (None, -1)
        try:
            tail = _read(_rows(engine, last))
        except SQLAlchemyError as error:
            raise AuditError(f"could not read the trace fingerprints: {db.first_line(error)}") from None
        size = len(persisted.seqs) if persisted is not None else 0
        if auto_rebuild and len(tail.seqs) > max(TAIL_LIMIT, size // 10):
            cls.rebuild(directory, engine, origin)
            return cls.open(directory, engine, origin, auto_rebuild=False)
        return cls(directory, origin, persisted, last, tail.part())

    @classmethod
    def in_memory(cls, engine: Engine, origin: str) -> TraceIndex:
        """An index built from the database in memory (tests, one-off traces); nothing is written."""
        try:
            raw = _read(_rows(engine, -1))
        except SQLAlchemyError as error:
            raise AuditError(f"could not read the trace fingerprints: {db.first_line(error)}") from None
        return cls(Path("/nonexistent"), origin, None, -1, raw.part())

    @classmethod
    def rebuild(cls, directory: Path, engine: Engine, origin: str) -> int:
        """Rewrite the index from the database; returns the number of records it covers."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        try:
            return cls.write(directory, origin, _rows(engine, -1))
        except SQLAlchemyError as error:
            raise AuditError(f"could not read the trace fingerprints: {db.first_line(error)}") from None

    def verify(self, engine: Engine) -> list[str]:
        """Compare the persisted files with the database; an empty list means they agree."""
        if self.persisted is None:
            return ["no persisted index"]
        persisted = self.persisted
        try:
            raw = _read(row for row in _rows(engine, -1) if row[0] <= self.last_seq)
        except SQLAlchemyError as error:
            raise AuditError(f"could not read the trace fingerprints: {db.first_line(error)}") from None
        if len(raw.seqs) != len(persisted.seqs) or not np.array_equal(raw.seqs, persisted.seqs):
            return [
                f"the index covers {len(persisted.seqs)} records, the database {len(raw.seqs)} (or others)"
            ]
        problems: list[str] = []
        if not np.array_equal(raw.pdq.ids, persisted.pdq.ids) or not np.array_equal(
            raw.pdq.words, persisted.pdq.words
        ):
            problems.append("whole-image hashes differ from the database's")
        for table in range(TABLES):
            offsets, entries = _table(raw.owners, raw.keys[table], persisted.tables.dense)
            if not (
                np.array_equal(offsets, persisted.tables.offsets[table])
                and np.array_equal(entries, persisted.tables.rows[table])
            ):
                problems.append(f"feature table {table} differs from the database's")
        return problems

    # -- search --------------------------------------------------------------------------------

    def feature_candidates(self, query: QueryFeatures, limit: int = 16) -> list[int]:
        """Records whose stored features share keys with the query's, most votes first (~1 ms at 1M)."""
        scored: dict[int, float] = {}
        for part in (self.persisted, self.tail):
            if part is None or len(part.seqs) == 0 or len(query.descriptors) == 0:
                continue
            rows, votes = part.tables.votes(query.descriptors)
            keep = votes >= MIN_VOTES
            rows, votes = rows[keep], votes[keep]
            if len(rows) > limit:
                top = np.argpartition(-votes, limit - 1)[:limit]
                rows, votes = rows[top], votes[top]
            for row, count in zip(rows.tolist(), votes.tolist(), strict=True):
                seq = int(part.seqs[row])
                scored[seq] = max(scored.get(seq, 0.0), float(count))
        ranked = sorted(scored.items(), key=lambda item: (-item[1], item[0]))
        return [seq for seq, _ in ranked[:limit]]

    def pdq_candidates(self, query: QueryFeatures, limit: int = 16) -> list[int]:
        """Records whose whole-image PDQ is within the match distance of any dihedral variant of the
        query's (a brute-force scan: ~30 ms at 1M; for what features miss: thumbnails, blur, flat)."""
        found: list[tuple[int, int]] = []
        for part in (self.persisted, self.tail):
            if part is None or len(part.pdq) == 0:
                continue
            found += [
                (distance, int(part.seqs[row]))
                for row, distance in part.pdq.search_any(list(query.pdq), MATCH_DISTANCE, limit)
            ]
        return [seq for _, seq in sorted(found)[:limit]]

    def candidates(self, query: QueryFeatures, limit: int = 16) -> list[int]:
        """Both kinds of candidates: feature matches, then whole-image matches not among them."""
        features = self.feature_candidates(query, limit)
        return features + [seq for seq in self.pdq_candidates(query, limit) if seq not in features]
