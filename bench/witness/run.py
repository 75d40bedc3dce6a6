"""Witnessing benchmark. Writes bench/results/witness.md and witness.json.

1. Append throughput (SQLite, one writer, as the Guard appends) with witnessing off and on: two real
   witness processes on loopback, the background client at its defaults (every 256 appends or 5 s).
   Off and on alternate, median of the repeats.
2. ``witness serve``: add-checkpoint requests/s, several client processes on keep-alive connections,
   each advancing its own logs one checkpoint at a time (every request verified, cosigned, committed).
3. Evidence verification: ``verify_evidence.verify`` in process (median), and the standalone script
   as a platform runs it (a new interpreter, imports included).

    .venv/bin/python bench/witness/run.py [--appends 3000] [--repeats 3] [--requests 2000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fusionguard.audit.checkpoint import Checkpoint  # noqa: E402
from fusionguard.audit.keys import KeyRing, LocalSigner  # noqa: E402
from fusionguard.audit.log import AuditLog  # noqa: E402
from fusionguard.audit.merkle import consistency_proof, leaf_hash, root_hash  # noqa: E402
from fusionguard.evidence import build_evidence  # noqa: E402
from fusionguard.store import db  # noqa: E402
from fusionguard.verify_evidence import verify  # noqa: E402
from fusionguard.witness.client import WitnessClient, wait_for  # noqa: E402
from fusionguard.witness.cosignature import Verifier  # noqa: E402
from fusionguard.witness.policy import WitnessPolicy  # noqa: E402
from fusionguard.witness.protocol import format_request  # noqa: E402
from tests.audit.records import run_record  # noqa: E402
from tests.witness.support import WitnessProcess  # noqa: E402


def _append_rate(work: Path, tag: str, appends: int, witnessed: bool) -> tuple[float, int, float]:
    """Appends/s of one writer; with ``witnessed`` the client runs beside it. Returns (rate, cosigned)."""
    keys = work / f"keys-{tag}"
    ring = KeyRing.create(keys, now=datetime.now(UTC))
    url = f"sqlite:///{work / f'{tag}.db'}"
    db.upgrade(db.open_engine(url))
    log = AuditLog.open(url, ring, witness_path=work / f"{tag}.note")
    client = None
    witnesses: list[WitnessProcess] = []
    if witnessed:
        vkey = Verifier.log(log.state()[0], ring.signer.public_key).vkey
        for name in ("w1", "w2"):
            witnesses.append(WitnessProcess.create(work / f"{tag}-{name}", f"bench/{name}", [vkey]).start())
        policy = WitnessPolicy.parse(
            "".join(w.policy_line(f"w{i}") for i, w in enumerate(witnesses)) + "group g all w0 w1\nquorum g\n"
        )
        client = WitnessClient(log, policy, every_appends=256, every_seconds=5.0).start()
    records = [run_record(i, datetime.now(UTC)) for i in range(appends)]
    began, cpu = time.perf_counter(), time.process_time()
    for record in records:
        log.append(record)
    rate = appends / (time.perf_counter() - began)
    cosigned = 0
    if client is not None:
        wait_for(client, appends, timeout=30)
        cosigned = min(s.size or 0 for s in client.status.values())
        client.stop()
    # The log process's CPU (appends, and the client thread up to the last cosignature) per append.
    cpu_us = (time.process_time() - cpu) * 1e6 / appends
    for witness in witnesses:
        witness.stop()
    log.close()
    return rate, cosigned, cpu_us


def _requests(logs: int, per_log: int) -> tuple[list[str], list[list[bytes]]]:
    """Log vkeys and, per log, the add-checkpoint bodies for sizes 1..per_log in order."""
    vkeys, bodies = [], []
    for n in range(logs):
        signer = LocalSigner.generate()
        origin = f"bench.test/log{n}"
        vkeys.append(Verifier.log(origin, signer.public_key).vkey)
        leaves = [leaf_hash(f"{n}:{i}".encode()) for i in range(per_log)]
        chain = []
        for size in range(1, per_log + 1):
            note = Checkpoint(origin, size, root_hash(leaves[:size])).sign(signer)
            proof = consistency_proof(leaves[:size], size - 1) if size > 1 else []
            chain.append(format_request(size - 1, proof, note))
        bodies.append(chain)
    return vkeys, bodies


def _client(port: int, chains: list[list[bytes]], start_at: float, out: multiprocessing.Queue) -> None:
    """One thread per log, each on its own keep-alive connection, one checkpoint after another."""
    counts = [0, 0]
    lock = threading.Lock()

    def run(chain: list[bytes]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for body in chain:
            connection.request("POST", "/add-checkpoint", body=body)
            response = connection.getresponse()
            response.read()
            with lock:
                counts[0 if response.status == 200 else 1] += 1

    threads = [threading.Thread(target=run, args=(chain,)) for chain in chains]
    while time.time() < start_at:
        time.sleep(0.001)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put((counts[0], counts[1], time.time()))


def _serve_rate(work: Path, total: int, processes: int = 4, logs_per_process: int = 4) -> dict[str, float]:
    per_log = total // (processes * logs_per_process)
    vkeys, chains = _requests(processes * logs_per_process, per_log)
    witness = WitnessProcess.create(work / "serve", "bench/serve", vkeys).start()
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue = context.Queue()
    start_at = time.time() + 3.0
    workers = [
        context.Process(
            target=_client,
            args=(witness.port, chains[p * logs_per_process : (p + 1) * logs_per_process], start_at, queue),
        )
        for p in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    assert witness.process is not None
    fields = Path(f"/proc/{witness.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu_seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    witness.stop()
    ok, failed = sum(r[0] for r in results), sum(r[1] for r in results)
    elapsed = max(r[2] for r in results) - start_at
    return {
        "requests": ok + failed,
        "ok": ok,
        "failed": failed,
        "seconds": elapsed,
        "per_second": ok / elapsed,
        "server_cpu_ms_per_request": cpu_seconds * 1000 / (ok + failed),
    }


def _evidence_times(work: Path) -> dict[str, float]:
    ring = KeyRing.create(work / "keys-evidence", now=datetime.now(UTC))
    url = f"sqlite:///{work / 'evidence.db'}"
    db.upgrade(db.open_engine(url))
    log = AuditLog.open(url, ring)
    vkey = Verifier.log(log.state()[0], ring.signer.public_key).vkey
    witnesses = [WitnessProcess.create(work / f"ev-{n}", f"bench/ev{n}", [vkey]).start() for n in range(2)]
    policy = WitnessPolicy.parse(
        "".join(w.policy_line(f"w{i}") for i, w in enumerate(witnesses)) + "group g all w0 w1\nquorum g\n"
    )
    for i in range(10_000):
        log.append(run_record(i, datetime.now(UTC)))
    WitnessClient(log, policy).submit_now()
    for witness in witnesses:
        witness.stop()
    bundle = build_evidence(log, policy, "4321", now=datetime.now(UTC))
    times = []
    for _ in range(200):
        began = time.perf_counter()
        verify(bundle, bundle["witness_policy"])
        times.append((time.perf_counter() - began) * 1000)
    path = work / "evidence.json"
    path.write_text(json.dumps(bundle))
    script = ROOT / "fusionguard" / "verify_evidence.py"
    runs = []
    for _ in range(5):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-I", str(script), str(path)], check=True, capture_output=True)
        runs.append((time.perf_counter() - began) * 1000)
    log.close()
    return {
        "log_size": 10_000,
        "verify_ms_median": statistics.median(times),
        "verify_ms_p95": sorted(times)[int(len(times) * 0.95)],
        "standalone_process_ms_median": statistics.median(runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appends", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--serve-only", action="store_true", help="Only measure witness serve; no files.")
    args = parser.parse_args()
    if args.serve_only:
        with tempfile.TemporaryDirectory() as tmp:
            print(_serve_rate(Path(tmp), args.requests))
        return
    results: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        off, on, cosigned, cpu_off, cpu_on = [], [], [], [], []
        for r in range(args.repeats):  # alternate the order, so drifting load favours neither side
            for witnessed in (False, True) if r % 2 == 0 else (True, False):
                rate, size, cpu_us = _append_rate(work, f"{witnessed}{r}", args.appends, witnessed)
                (on if witnessed else off).append(rate)
                (cpu_on if witnessed else cpu_off).append(cpu_us)
                if witnessed:
                    cosigned.append(size)
                print(
                    f"appends/s {'on ' if witnessed else 'off'} {rate:.0f}, {cpu_us:.0f} us CPU", flush=True
                )
        results["appends"] = {
            "appends_per_run": args.appends,
            "off_per_second": off,
            "on_per_second": on,
            "off_cpu_us_per_append": cpu_off,
            "on_cpu_us_per_append": cpu_on,
            "cosigned_size": cosigned,
            "ratio_of_medians": statistics.median(on) / statistics.median(off),
            "cpu_ratio_of_medians": statistics.median(cpu_off) / statistics.median(cpu_on),
        }
        results["serve"] = _serve_rate(work, args.requests)
        print(results["serve"], flush=True)
        results["evidence"] = _evidence_times(work)
        print(results["evidence"], flush=True)
    out = ROOT / "bench" / "results"
    (out / "witness.json").write_text(json.dumps(results, indent=2) + "\n")
    appends, serve, evidence = results["appends"], results["serve"], results["evidence"]
    assert isinstance(appends, dict) and isinstance(serve, dict) and isinstance(evidence, dict)
    lines = [
        "# Witnessing benchmark",
        "",
        f"{results['machine']}; load average at start {results['load_average']:.1f}; {results['date']}",
        "",
        "| what | figure | target |",
        "|---|---|---|",
        f"| appends/s, SQLite, one writer, witnessing off (median of {args.repeats} x {args.appends}) | "
        f"{statistics.median(appends['off_per_second']):,.0f} | |",
        f"| appends/s, witnessing on (2 witness processes, every 256 appends / 5 s) | "
        f"{statistics.median(appends['on_per_second']):,.0f} | |",
        f"| on / off | {appends['ratio_of_medians']:.0%} | >= 90 % |",
        f"| log-process CPU per append, off / on (the client thread included) | "
        f"{statistics.median(appends['off_cpu_us_per_append']):.0f} / "
        f"{statistics.median(appends['on_cpu_us_per_append']):.0f} us "
        f"(throughput bound by CPU: {appends['cpu_ratio_of_medians']:.0%}) | |",
        f"| `witness serve` add-checkpoint requests/s (4 client processes x 4 threads, 16 logs, "
        f"{serve['requests']} requests, {serve['failed']} refused) | {serve['per_second']:,.0f} | >= 200 |",
        f"| `witness serve` CPU per request (server process, start-up included) | "
        f"{serve['server_cpu_ms_per_request']:.2f} ms | |",
        f"| evidence verification, in process (median / p95, log of {evidence['log_size']:,}) | "
        f"{evidence['verify_ms_median']:.2f} / {evidence['verify_ms_p95']:.2f} ms | <= 50 ms |",
        f"| standalone verifier as a new process (interpreter start and imports included) | "
        f"{evidence['standalone_process_ms_median']:.0f} ms | |",
        "",
        "Every add-checkpoint request is a full one: the log's signature checked, a consistency proof",
        "verified, a cosignature made and the new state committed to SQLite (WAL, synchronous=FULL)",
        "before the answer. Appends never wait for witnesses: the client thread only shares the CPU.",
    ]
    (out / "witness.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
