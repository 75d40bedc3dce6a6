"""Trace speed on a large log: watermark-ID lookup and PDQ search over 1,000,000 records.

The log is filled through the real append path (signed, Merkle-chained, batched), with random
watermark IDs and random PDQ hashes. Writes bench/results/trace.md and trace.json.

    .venv/bin/python bench/trace/run.py [--records 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fusionguard.audit.keys import KeyRing  # noqa: E402
from fusionguard.audit.log import AuditLog  # noqa: E402
from fusionguard.audit.record import AuditRecord, ModelInfo, OutputRef, PolicyRef  # noqa: E402
from fusionguard.config import Settings  # noqa: E402
from fusionguard.fingerprint import PdqHash  # noqa: E402
from fusionguard.home import initialise  # noqa: E402
from fusionguard.trace import Tracer  # noqa: E402
from fusionguard.watermark import WatermarkCodec  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fg-bench-trace-"))
    rng = np.random.default_rng(7)
    try:
        url = f"sqlite:///{work / 'audit.db'}"
        initialise(Settings(home=work, db_url=url))  # what `fusionguard init` does
        ring = KeyRing.load(work / "keys")
        log = AuditLog.open(url, ring)
        now = datetime.now(UTC)
        model, policy = ModelInfo("bench", "1", "apache-2.0"), PolicyRef("default", "0" * 64)
        watermark_ids: list[str] = []
        pdqs: list[str] = []
        began = time.perf_counter()
        for start in range(0, args.records, 5000):
            batch = []
            for _ in range(min(5000, args.records - start)):
                wid, pdq = f"{secrets.randbits(64):016x}", rng.bytes(32).hex()
                watermark_ids.append(wid)
                pdqs.append(pdq)
                batch.append(
                    AuditRecord(
                        kind="run",
                        decision="allowed",
                        timestamp=now,
                        actor="bench",
                        model=model,
                        policy=policy,
                        output=OutputRef(secrets.token_hex(32), wid, pdq, 100),
                    )
                )
            log.append_many(batch)
        fill_s = time.perf_counter() - began
        tracer = Tracer(log, WatermarkCodec(b"k" * 32))
        lookups = []
        for wid in rng.choice(watermark_ids, size=args.queries):
            t = time.perf_counter()
            log.get(str(wid))
            lookups.append(time.perf_counter() - t)
        t = time.perf_counter()
        index = tracer.pdq_index()
        load_s = time.perf_counter() - t
        searches, dihedral = [], []
        for i in rng.integers(0, len(pdqs), size=args.queries):
            probe = PdqHash.from_hex(pdqs[i])
            flipped = bytes(
                b ^ (1 << (j % 8)) if j < 10 else b for j, b in enumerate(probe.bits)
            )  # 10 bits off
            t = time.perf_counter()
            found = index.search(PdqHash(flipped, 100))
            searches.append(time.perf_counter() - t)
            assert found and found[0][0] == int(i)
            t = time.perf_counter()
            index.search_any([PdqHash(flipped, 100)] * 8)
            dihedral.append(time.perf_counter() - t)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def ms(values: list[float]) -> dict[str, float]:
        return {
            "median": round(1000 * statistics.median(values), 3),
            "p95": round(1000 * sorted(values)[int(0.95 * len(values))], 3),
        }

    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "date": datetime.now(UTC).isoformat(),
        "records": args.records,
        "fill_seconds": round(fill_s, 1),
        "watermark_lookup_ms": ms(lookups),
        "pdq_index_load_s": round(load_s, 2),
        "pdq_search_ms": ms(searches),
        "pdq_search_8_variants_ms": ms(dihedral),
        "targets": {"watermark_lookup_ms": 10, "pdq_search_ms": 200},
    }
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "trace.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "trace.md").write_text(
        "\n".join(
            [
                "# Trace speed",
                "",
                f"{results['machine']}; load average {results['load_average']}; {results['date']}",
                "",
                f"Log of {args.records:,} signed records (filled through the real append path "
                f"in {fill_s:.0f} s, SQLite).",
                "",
                "| query | median | p95 | target |",
                "|---|---|---|---|",
                f"| watermark-ID lookup (unique index) | {results['watermark_lookup_ms']['median']} ms | "
                f"{results['watermark_lookup_ms']['p95']} ms | ≤ 10 ms |",
                f"| PDQ search, one hash | {results['pdq_search_ms']['median']} ms | "
                f"{results['pdq_search_ms']['p95']} ms | ≤ 200 ms |",
                f"| PDQ search, 8 dihedral variants | {results['pdq_search_8_variants_ms']['median']} ms | "
                f"{results['pdq_search_8_variants_ms']['p95']} ms | |",
                "",
                f"Loading the PDQ index from the database once per tracer: {load_s:.2f} s.",
                "",
            ]
        )
    )


if __name__ == "__main__":
    main()
