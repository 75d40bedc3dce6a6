"""Audit log benchmark: signed appends per second (1 and 4 writers, SQLite and PostgreSQL) and
`audit verify` speed on a large log. Writes bench/results/audit.md and audit.json.

    .venv/bin/python bench/audit/run.py [--verify-records 100000] [--appends 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fusionguard.audit.keys import KeyRing  # noqa: E402
from fusionguard.audit.log import AuditLog  # noqa: E402
from fusionguard.audit.verify import verify_log  # noqa: E402
from fusionguard.config import Settings  # noqa: E402
from fusionguard.home import initialise  # noqa: E402
from tests.audit.records import run_record  # noqa: E402
from tests.support.postgres import PostgresCluster, find_bindir  # noqa: E402


def _worker(
    url: str, keys: str, worker: int, count: int, start_at: float, out: multiprocessing.Queue
) -> None:
    # As a Guard appends: with the witness file (one per machine; these workers share one).
    log = AuditLog.open(
        url,
        KeyRing.load(Path(keys)),
        witness_path=Path(keys).parent / f"witness-{hashlib.sha256(url.encode()).hexdigest()[:12]}.note",
    )
    records = [run_record(worker * 10_000_000 + i, datetime.now(UTC)) for i in range(count)]
    while time.time() < start_at:
        time.sleep(0.001)
    began = time.perf_counter()
    for record in records:
        log.append(record)
    out.put(time.perf_counter() - began)


def appends_per_second(url: str, keys: Path, writers: int, per_writer: int) -> float:
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue = context.Queue()
    start_at = time.time() + 3.0  # all workers start together, after their imports
    processes = [
        context.Process(target=_worker, args=(url, str(keys), w, per_writer, start_at, queue))
        for w in range(writers)
    ]
    for process in processes:
        process.start()
    durations = [queue.get(timeout=900) for _ in processes]
    for process in processes:
        process.join()
    return writers * per_writer / max(durations)


def fresh(url: str, home: Path) -> str:
    initialise(Settings(home=home, db_url=url))  # what `fusionguard init` does
    return url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--verify-records", type=int, default=100_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fg-bench-audit-"))
    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "date": datetime.now(UTC).isoformat(),
    }
    keys = work / "keys"
    initialise(Settings(home=work, db_url=f"sqlite:///{work / 'keys-only.db'}"))
    ring = KeyRing.load(keys)
    cluster = PostgresCluster.start() if find_bindir() else None
    try:
        rows = []
        targets = {("sqlite", 1): 2000, ("postgresql", 4): 1000}
        for backend in ("sqlite", "postgresql"):
            for writers in (1, 4):
                if backend == "sqlite":
                    url = fresh(f"sqlite:///{work / f'append-{writers}.db'}", work)
                elif cluster is not None:
                    url = fresh(cluster.create_database(f"append{writers}"), work)
                else:
                    continue
                rate = appends_per_second(url, keys, writers, args.appends // writers)
                rows.append(
                    {
                        "backend": backend,
                        "writers": writers,
                        "appends_per_s": round(rate),
                        "target": targets.get((backend, writers)),
                    }
                )
                print(rows[-1], flush=True)
        results["appends"] = rows

        # Verify speed: build a large log quickly with batched appends, then time verification.
        url = fresh(f"sqlite:///{work / 'verify.db'}", work)
        log = AuditLog.open(url, ring)
        now = datetime.now(UTC)
        batch = [run_record(i, now) for i in range(args.verify_records)]
        for start in range(0, len(batch), 1000):
            log.append_many(batch[start : start + 1000])
        fast_runs = []
        for _ in range(3):  # the median of three: single runs vary by ±10 % on this shared machine
            began = time.perf_counter()
            report = verify_log(log)
            fast_runs.append(time.perf_counter() - began)
            assert report.ok, report.problems[:3]
        fast = statistics.median(fast_runs)
        began = time.perf_counter()
        full_report = verify_log(log, full=True)
        full = time.perf_counter() - began
        assert full_report.ok
        results["verify"] = {
            "records": report.records,
            "records_per_s": round(report.records / fast),
            "full_signature_check_records_per_s": round(report.records / full),
            "target_records_per_s": 50_000,
        }
        print(results["verify"], flush=True)
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)

    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Audit log benchmark",
        "",
        f"{results['machine']}; load average at start {results['load_average']}; {results['date']}",
        "",
        "| backend | writers | signed appends/s | target |",
        "|---|---|---|---|",
    ]
    for row in results["appends"]:  # type: ignore[attr-defined]
        lines.append(
            f"| {row['backend']} | {row['writers']} | {row['appends_per_s']} | {row['target'] or ''} |"
        )
    verify = results["verify"]
    lines += [
        "",
        f"`audit verify` on {verify['records']} records: {verify['records_per_s']} records/s, median of 3 "  # type: ignore[index]
        f"(Merkle recomputation + signed checkpoints); with every Ed25519 record signature checked "
        f"(`--full`): {verify['full_signature_check_records_per_s']} records/s.",  # type: ignore[index]
        "",
    ]
    (out / "audit.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
