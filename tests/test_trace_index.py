"""The persisted trace index: written once, opened without reading the database's history, caught up
with records appended since, rebuilt and verified against the database (real SQLite, real photos)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from fusionguard import trace_index
from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog
from fusionguard.audit.record import AuditRecord, ModelInfo, OutputRef, PolicyRef
from fusionguard.content_fingerprint import ContentFingerprint, QueryFeatures
from fusionguard.errors import BadInput, TamperDetected
from fusionguard.store import db
from fusionguard.trace import Tracer
from fusionguard.trace_index import TraceIndex, save_fingerprint
from fusionguard.watermark import WatermarkCodec
from tests import testdata
from tests.conftest import FixedClock


def _append(log: AuditLog, clock: FixedClock, rgb: np.ndarray, i: int) -> str:
    fingerprint = ContentFingerprint.compute(rgb)
    blob = fingerprint.to_bytes()
    record = AuditRecord(
        kind="run",
        decision="allowed",
        timestamp=clock(),
        actor="test",
        model=ModelInfo("m", "1", "apache-2.0"),
        policy=PolicyRef("default", "ab" * 32),
        output=OutputRef(
            f"{i:064x}",
            f"{0x5A5A0000 + i:016x}",
            fingerprint.pdq.hex(),
            fingerprint.pdq.quality,
            hashlib.sha256(blob).hexdigest(),
        ),
    )
    save_fingerprint(log.engine, record.record_id, blob)
    log.append(record)
    return record.record_id


@pytest.fixture
def log(tmp_path: Path, clock: FixedClock) -> AuditLog:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    db.upgrade(db.open_engine(url))
    return AuditLog.open(url, KeyRing.create(tmp_path / "keys", now=clock()), clock=clock)


def _crop(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    crop = rgb[h // 4 : h // 4 + h // 2, w // 5 : w // 5 + w // 2]
    return np.ascontiguousarray(cv2.resize(crop, None, fx=0.85, fy=0.85, interpolation=cv2.INTER_AREA))


def test_persisted_index_is_opened_caught_up_rebuilt_and_verified(
    log: AuditLog, clock: FixedClock, tmp_path: Path
) -> None:
    photos = [testdata.astronaut(), testdata.coffee(), testdata.chelsea(), testdata.grace_hopper()]
    ids = [_append(log, clock, photo, i) for i, photo in enumerate(photos[:3])]
    origin = log.state()[0]
    directory = tmp_path / "home" / "trace-index"
    index = TraceIndex.open(directory, log.engine, origin)  # first open writes it
    assert index.persisted is not None and len(index.persisted.seqs) == 3 and len(index.tail.seqs) == 0
    assert json.loads((directory / "meta.json").read_text())["last_seq"] == 2
    ids.append(_append(log, clock, photos[3], 3))  # appended after the index was written
    index = TraceIndex.open(directory, log.engine, origin)
    assert len(index.persisted.seqs) == 3 and list(index.tail.seqs) == [3]  # type: ignore[union-attr]
    for seq, photo in enumerate(photos):  # crops are found in the persisted part and in the tail
        assert index.candidates(QueryFeatures.of(_crop(photo)))[0] == seq
    assert index.verify(log.engine) == []
    # A damaged table is named by verify, and a rebuild from the database repairs it.
    rows = np.load(directory / "lsh1_rows.npy")
    np.save(directory / "lsh1_rows.npy", rows[::-1].copy())
    assert TraceIndex.open(directory, log.engine, origin).verify(log.engine) == [
        "feature table 1 differs from the database's"
    ]
    assert TraceIndex.rebuild(directory, log.engine, origin) == 4
    assert TraceIndex.open(directory, log.engine, origin).verify(log.engine) == []
    # An index of another log (another origin) is never used: it is rebuilt.
    other = directory.with_name("other")
    shutil.copytree(directory, other)
    meta = json.loads((other / "meta.json").read_text())
    (other / "meta.json").write_text(json.dumps({**meta, "origin": "someone else"}))
    assert len(TraceIndex.open(other, log.engine, origin).persisted.seqs) == 4  # type: ignore[union-attr]


def test_an_edited_fingerprint_row_is_detected_by_the_trace(log: AuditLog, clock: FixedClock) -> None:
    _append(log, clock, testdata.coffee(), 0)
    with log.engine.begin() as connection:
        blob = connection.exec_driver_sql("SELECT data FROM trace_fingerprints").scalar_one()
        edited = blob[:20] + bytes([blob[20] ^ 1]) + blob[21:]  # one coordinate bit
        connection.exec_driver_sql("UPDATE trace_fingerprints SET data = ?", (edited,))
    tracer = Tracer(log, WatermarkCodec(b"k" * 32))
    with pytest.raises(TamperDetected, match="edited fingerprint"):
        tracer.trace(_crop(testdata.coffee()))


def test_fingerprint_bytes_round_trip_and_reject_garbage() -> None:
    fingerprint = ContentFingerprint.compute(testdata.grace_hopper(), testdata.astronaut())
    blob = fingerprint.to_bytes()
    assert ContentFingerprint.from_bytes(blob).to_bytes() == blob
    with pytest.raises(BadInput, match="malformed"):
        ContentFingerprint.from_bytes(blob[:-3])
    with pytest.raises(BadInput, match="malformed"):
        ContentFingerprint.from_bytes(b"JUNK" + blob[4:])


@pytest.mark.parametrize("dense", [False, True])
def test_small_indexes_are_sparse_on_disk_and_both_forms_find_the_same_records(
    log: AuditLog, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dense: bool
) -> None:
    photos = [testdata.astronaut(), testdata.coffee(), testdata.chelsea()]
    for i, photo in enumerate(photos):
        _append(log, clock, photo, i)
    origin = log.state()[0]
    directory = tmp_path / "trace-index"
    if dense:  # the form a large log gets, forced on three records
        monkeypatch.setattr(trace_index, "_dense", lambda entries: True)
    index = TraceIndex.open(directory, log.engine, origin)
    assert index.persisted is not None and index.persisted.tables.dense is dense
    size = sum(path.stat().st_size for path in directory.iterdir())
    # Dense offsets are 4 x 64 MB whatever the log holds; three records' sparse tables are kilobytes.
    assert (size > 4 * 64 * 2**20) if dense else (size < 2**20)
    assert json.loads((directory / "meta.json").read_text())["dense"] is dense
    for seq, photo in enumerate(photos):
        assert index.candidates(QueryFeatures.of(_crop(photo)))[0] == seq
    assert index.verify(log.engine) == []
    # Files whose finder does not fit the form meta.json names are rebuilt, never searched.
    meta = json.loads((directory / "meta.json").read_text())
    (directory / "meta.json").write_text(json.dumps({**meta, "dense": not dense}))
    monkeypatch.undo()
    reopened = TraceIndex.open(directory, log.engine, origin)
    assert reopened.persisted is not None and reopened.persisted.tables.dense is False
    assert reopened.verify(log.engine) == []


def test_an_index_written_before_the_dense_flag_is_read_as_dense(
    log: AuditLog, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _append(log, clock, testdata.coffee(), 0)
    origin = log.state()[0]
    directory = tmp_path / "trace-index"
    monkeypatch.setattr(trace_index, "_dense", lambda entries: True)
    TraceIndex.open(directory, log.engine, origin)
    meta = json.loads((directory / "meta.json").read_text())
    del meta["dense"]
    (directory / "meta.json").write_text(json.dumps(meta))
    index = TraceIndex.open(directory, log.engine, origin, auto_rebuild=False)
    assert index.persisted is not None and index.persisted.tables.dense is True
    assert index.candidates(QueryFeatures.of(_crop(testdata.coffee())))[0] == 0
