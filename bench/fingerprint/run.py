"""Benchmark fusionguard.fingerprint: PDQ hashing speed and PdqIndex build/query on 1M hashes.

Run from the repository root::

    .venv/bin/python bench/fingerprint/run.py          # writes bench/results/fingerprint.{md,json}
    .venv/bin/python bench/fingerprint/run.py --quick  # smaller index, fewer repeats

Images are random uint8 RGB (PDQ's cost depends only on the size). Index hashes are uniform random,
the worst case for any pruning and the realistic case for brute force. Queries are hashes from the
index with a few bits flipped, so each has exactly one true match.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fusionguard.fingerprint import MATCH_DISTANCE, PdqHash, PdqIndex, pdq_hash  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def _timings(function: Callable[[], object], repeats: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(times),
        "median_ms": round(statistics.median(times), 3),
        "p95_ms": round(p95, 3),
        "min_ms": round(ordered[0], 3),
    }


def _flip_bits(bits: bytes, count: int, rng: np.random.Generator) -> PdqHash:
    value = int.from_bytes(bits, "big")
    for bit in rng.choice(256, size=count, replace=False):
        value ^= 1 << int(bit)
    return PdqHash(value.to_bytes(32, "big"), 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k hashes, fewer repeats")
    parser.add_argument("--size", type=int, default=1_000_000, help="number of index hashes")
    parser.add_argument("--queries", type=int, default=100, help="number of index queries (>= 50)")
    args = parser.parse_args()
    size = 100_000 if args.quick else args.size
    repeats = 20 if args.quick else 50
    rng = np.random.default_rng(0)
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            # The machine is shared: a busy core stalls multi-threaded BLAS (the hashing matmul), so
            # record the load to tell contention from regressions. OPENBLAS_NUM_THREADS=1 trades
            # ~1.7x single-run speed for steadiness.
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
            "blas_threads_env": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
        }
    }

    hashing = {}
    for side in (512, 1024, 2048):
        image = rng.integers(0, 256, size=(side, side, 3), dtype=np.uint8)
        hashing[f"{side}x{side}"] = _summary(_timings(functools.partial(pdq_hash, image), repeats))
    results["pdq_hash"] = hashing

    raw = rng.integers(0, 256, size=(size, 32), dtype=np.uint8)
    ids = np.arange(size, dtype=np.int64)
    start = time.perf_counter()
    index = PdqIndex(ids, raw)
    build_ms = (time.perf_counter() - start) * 1000.0
    # Incremental appends: amortised cost of add().
    appends = 100_000 if not args.quick else 10_000
    extra = PdqHash(raw[0].tobytes(), 100)
    start = time.perf_counter()
    for i in range(appends):
        index.add(size + i, extra)
    add_us = (time.perf_counter() - start) * 1e6 / appends

    queries = max(50, args.queries)
    targets = rng.integers(0, size, size=queries)
    query_hashes = [_flip_bits(raw[t].tobytes(), 8, rng) for t in targets]
    found = 0
    times = []
    for t, q in zip(targets, query_hashes, strict=True):
        begin = time.perf_counter()
        hits = index.search(q, max_distance=MATCH_DISTANCE, limit=10)
        times.append((time.perf_counter() - begin) * 1000.0)
        found += bool(hits) and hits[0][0] == int(t)
    dihedral_queries = [
        [_flip_bits(raw[t].tobytes(), 8, rng), *(_flip_bits(raw[t].tobytes(), 128, rng),) * 7]
        for t in targets[:20]
    ]
    dihedral_times = []
    for qs in dihedral_queries:
        begin = time.perf_counter()
        index.search_any(qs)
        dihedral_times.append((time.perf_counter() - begin) * 1000.0)
    results["index"] = {
        "size": size,
        "build_ms": round(build_ms, 1),
        "add_us_amortised": round(add_us, 2),
        "appended": appends,
        "query": _summary(times),
        "query_found_true_match": f"{found}/{queries}",
        "query_8_variants": _summary(dihedral_times),
    }

    results["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if args.quick else ""
    json_path = RESULTS / f"fingerprint{suffix}.json"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    m = results["machine"]
    lines = [
        "# fingerprint benchmark",
        "",
        f"Python {m['python']}, numpy {m['numpy']}, {m['cpu_count']} CPUs (shared; load average "
        f"{m['loadavg_start'][0]} at start, {m['loadavg_end'][0]} at end), "
        f"OPENBLAS_NUM_THREADS={m['blas_threads_env']}. "
        f"Produced by `bench/fingerprint/run.py{' --quick' if args.quick else ''}`.",
        "",
        "## pdq_hash (random RGB uint8, no pre-resize)",
        "",
        "| size | median ms | p95 ms | runs |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, s in hashing.items():
        lines.append(f"| {name} | {s['median_ms']} | {s['p95_ms']} | {s['n']} |")
    r = results["index"]
    lines += [
        "",
        f"## PdqIndex, {size:,} random hashes",
        "",
        f"- build from (N, 32) uint8 array: {r['build_ms']} ms",
        f"- add(): {r['add_us_amortised']} µs amortised over {appends:,} appends",
        f"- search(max_distance={MATCH_DISTANCE}, limit=10): median {r['query']['median_ms']} ms, "
        f"p95 {r['query']['p95_ms']} ms over {r['query']['n']} queries; true match first in "
        f"{r['query_found_true_match']}",
        f"- search_any with 8 hashes (dihedral): median {r['query_8_variants']['median_ms']} ms, "
        f"p95 {r['query_8_variants']['p95_ms']} ms",
        "",
    ]
    md_path = RESULTS / f"fingerprint{suffix}.md"
    md_path.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {json_path.relative_to(ROOT)} and {md_path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
