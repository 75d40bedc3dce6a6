"""``audit verify`` on a live log: four writer processes append while verification loops; no false alarm.

Verification reads one snapshot (one read transaction; REPEATABLE READ on PostgreSQL) and the witness
file just before it, so every pass sees a consistent prefix of the log.

The issue asks for 30 s of writers per database. This machine's two cores are shared by several test
runs, so the test runs the writers for ``FUSIONGUARD_LIVE_VERIFY_SECONDS`` (default 8 s) per database;
before the fix one or two passes already failed within a second or two of writers running. Set the
variable to 30 for the full run.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog
from fusionguard.audit.verify import verify_log
from tests.audit.records import run_record

SECONDS = float(os.environ.get("FUSIONGUARD_LIVE_VERIFY_SECONDS", "8"))


def _writer(db_url: str, home: str, worker: int, seconds: float, started: object) -> None:
    ring = KeyRing.load(Path(home) / "keys")
    log = AuditLog.open(db_url, ring, witness_path=Path(home) / "log-head.note")
    started.set()  # type: ignore[attr-defined]
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        log.append(run_record(worker * 1_000_000 + i, datetime.now(UTC), identity=f"id-{worker:016x}"))
        i += 1
    log.close()


@pytest.mark.slow
def test_verify_loops_without_false_alarms_while_four_writers_append(
    db_url: str, ring: KeyRing, home: Path
) -> None:
    log = AuditLog.open(db_url, ring, witness_path=home / "log-head.note")
    log.append(run_record(999_999, datetime.now(UTC)))  # the witness exists from the start
    context = multiprocessing.get_context("spawn")
    events = [context.Event() for _ in range(4)]
    writers = [
        context.Process(target=_writer, args=(db_url, str(home), w, SECONDS, events[w])) for w in range(4)
    ]
    for writer in writers:
        writer.start()
    for event in events:
        assert event.wait(120), "a writer did not start"
    passes, alarms, sizes = 0, [], []
    while any(writer.is_alive() for writer in writers):
        report = verify_log(log)
        passes += 1
        sizes.append(report.records)
        if not report.ok:
            alarms.append([str(p) for p in report.problems[:3]])
    for writer in writers:
        writer.join(60)
        assert writer.exitcode == 0
    final = verify_log(log, full=True)
    assert final.ok, final.problems[:3]
    print(f"live verify: {passes} passes over {sizes[0]}..{sizes[-1]} records, {len(alarms)} alarms")
    assert alarms == [], f"{len(alarms)} of {passes} verifies raised false alarms: {alarms[:3]}"
    assert passes >= 3 and len(set(sizes)) >= 2, (passes, sizes)  # it really ran against a growing log
    assert final.records > sizes[0]
    log.close()
