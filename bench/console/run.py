"""Console/API speed: POST /api/v1/trace under 20 concurrent clients, records search over a big log.

A real uvicorn server (one process, on loopback) serves a SQLite log filled through the real append path
(signed, Merkle-chained) with ``--records`` run records spread over 60 days (models, decisions,
identities vary; some outputs taken down). Then:

* search: ``GET /api/v1/records`` with each ``audit list`` filter and deep keyset pages, one client;
* trace: ``--clients`` threads each POST 1024x1024 JPEG leaks (watermarked with IDs of logged records,
  re-encoded at quality 85) for ``--seconds``; every answer must name the right record.

Writes bench/results/console.md and console.json.

    .venv/bin/python bench/console/run.py [--records 1000000] [--clients 20] [--seconds 30]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from fusionguard.audit.keys import KeyRing  # noqa: E402
from fusionguard.audit.log import AuditLog  # noqa: E402
from fusionguard.audit.record import (  # noqa: E402
    AuditRecord,
    InputRef,
    ModelInfo,
    OutputRef,
    PolicyRef,
    takedown_record,
)
from fusionguard.config import Settings  # noqa: E402
from fusionguard.guard import load_watermark_key  # noqa: E402
from fusionguard.server.accounts import Accounts  # noqa: E402
from fusionguard.server.app import ConsoleConfig, create_app  # noqa: E402
from fusionguard.store import db  # noqa: E402
from fusionguard.watermark import WatermarkCodec  # noqa: E402

MODELS = [ModelInfo(f"model-{i}", "1", "apache-2.0") for i in range(20)]
POLICY = PolicyRef("default", "0" * 64)
BLOCK = ({"check": "consent", "subject": "source[0]", "detail": "no consent", "data": {}},)


def fill(log: AuditLog, records: int, rng: np.random.Generator, marked: list[int]) -> list[str]:
    """Append ``records`` run records (the last ``len(marked)`` carry the bench's watermark IDs)."""
    now = datetime.now(UTC)
    ids: list[str] = []
    for start in range(0, records, 5000):
        batch: list[AuditRecord] = []
        for i in range(start, min(start + 5000, records)):
            tail = records - i
            blocked = i % 10 == 3 and not 0 < tail <= len(marked)
            wid = marked[tail - 1] if 0 < tail <= len(marked) else secrets.randbits(64)
            batch.append(
                AuditRecord(
                    kind="run",
                    decision="blocked" if blocked else "allowed",
                    timestamp=now - timedelta(seconds=int(60 * 86400 * (records - i) / records)),
                    actor="bench",
                    model=MODELS[int(rng.integers(0, len(MODELS)))],
                    policy=POLICY,
                    sources=(InputRef("source", 0, secrets.token_hex(32), (f"id-{i % 5000}",), 1),),
                    output=None
                    if blocked
                    else OutputRef(secrets.token_hex(32), f"{wid:016x}", rng.bytes(32).hex(), 100),
                    reasons=BLOCK if blocked else (),
                )
            )
        receipts = log.append_many(batch)
        ids += [r.record_id for r in receipts]
    takedowns = [
        takedown_record(ids[i], "bench", actor="bench", timestamp=now)
        for i in range(0, records, 997)
        if i % 10 != 3
    ]
    log.append_many(takedowns)
    return ids


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "n": len(values),
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "mean": round(1000 * statistics.fmean(values), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--searches", type=int, default=100, help="requests per search kind")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fg-bench-console-"))
    rng = np.random.default_rng(11)
    server = None
    try:
        home = work / "home"
        home.mkdir(mode=0o700)
        settings = Settings.resolve(home, f"sqlite:///{work / 'audit.db'}")
        ring = KeyRing.create(settings.keys_dir, now=datetime.now(UTC))
        db.upgrade(db.open_engine(settings.db_url))
        log = AuditLog.open(settings.db_url, ring)

        codec = WatermarkCodec(load_watermark_key(settings.keys_dir))
        base = np.asarray(Image.open(io.BytesIO(_portrait())).convert("RGB").resize((1024, 1024)))
        marked_ids = [secrets.randbits(64) for _ in range(8)]
        leaks = []
        for wid in marked_ids:
            buffer = io.BytesIO()
            Image.fromarray(codec.embed(base, wid)).save(buffer, "JPEG", quality=85)
            leaks.append((wid, buffer.getvalue()))

        console_config = ConsoleConfig(settings=settings)  # fails now, not after the fill, if it fails
        began = time.perf_counter()
        fill(log, args.records, rng, marked_ids)
        fill_s = time.perf_counter() - began
        accounts = Accounts(log.engine)
        accounts.add("bench", "platform", now=datetime.now(UTC))
        accounts.add("reader", "viewer", now=datetime.now(UTC), password="bench-password-1")
        platform_token = accounts.issue_token("bench", "bench", now=datetime.now(UTC))
        viewer_token = accounts.issue_token("reader", "bench", now=datetime.now(UTC))
        log.close()

        port = 18700 + os.getpid() % 1000
        config = uvicorn.Config(create_app(console_config), host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"

        # -- search ------------------------------------------------------------------------------
        viewer = {"authorization": f"Bearer {viewer_token}"}
        since = (datetime.now(UTC) - timedelta(days=7)).isoformat()
        kinds = {
            "newest page": {},
            "decision=blocked": {"decision": "blocked"},
            "model": {"model": "model-7"},
            "identity": {"identity": "id-1234"},
            "since 7 days": {"since": since},
            "taken_down=yes": {"taken_down": "yes"},
            "taken_down=no": {"taken_down": "no"},
            "watermark_id": {"watermark_id": f"{marked_ids[0]:016x}"},
            "deep page (before=middle)": {"before": str(args.records // 2)},
        }
        search: dict[str, dict[str, float]] = {}
        everything: list[float] = []
        with httpx.Client(base_url=url, headers=viewer, timeout=60) as client:
            for name, params in kinds.items():
                client.get("/api/v1/records", params=params).raise_for_status()  # warm
                times = []
                for _ in range(args.searches):
                    t = time.perf_counter()
                    response = client.get("/api/v1/records", params=params)
                    times.append(time.perf_counter() - t)
                    response.raise_for_status()
                search[name] = percentiles(times)
                everything += times
            t = time.perf_counter()
            client.get("/", headers={}).status_code  # noqa: B018 (redirect; dashboard needs a session)
            dashboard_s = time.perf_counter() - t
        search["all kinds"] = percentiles(everything)

        # -- trace under load ----------------------------------------------------------------------
        platform_headers = {"authorization": f"Bearer {platform_token}"}
        with httpx.Client(base_url=url, headers=platform_headers, timeout=120) as client:
            t = time.perf_counter()
            client.post("/api/v1/trace", files={"image": ("w.jpg", leaks[0][1])}).raise_for_status()
            warm_s = time.perf_counter() - t
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        stop_at = time.perf_counter() + args.seconds

        def client_loop(k: int) -> None:
            with httpx.Client(base_url=url, headers=platform_headers, timeout=120) as client:
                n = k
                while time.perf_counter() < stop_at:
                    wid, data = leaks[n % len(leaks)]
                    n += 1
                    t = time.perf_counter()
                    response = client.post("/api/v1/trace", files={"image": ("leak.jpg", data, "image/jpeg")})
                    elapsed = time.perf_counter() - t
                    body = response.json()
                    ok = (
                        response.status_code == 200
                        and body["matches"]
                        and body["matches"][0]["watermark_id"] == f"{wid:016x}"
                    )
                    with lock:
                        latencies.append(elapsed)
                        if not ok:
                            errors.append(str(body)[:200])

        threads = [threading.Thread(target=client_loop, args=(k,)) for k in range(args.clients)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        trace = percentiles(latencies)
        trace["throughput_per_s"] = round(len(latencies) / wall, 1)
        trace["errors"] = len(errors)
    finally:
        if server is not None:
            server.should_exit = True
        shutil.rmtree(work, ignore_errors=True)

    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "date": datetime.now(UTC).isoformat(),
        "records": args.records,
        "fill_seconds": round(fill_s, 1),
        "server": "one uvicorn process, SQLite, loopback HTTP",
        "search_ms": search,
        "trace_clients": args.clients,
        "trace_seconds": args.seconds,
        "trace_first_request_s": round(warm_s, 2),
        "trace_ms": trace,
        "targets": {"trace_p95_ms": 500, "search_p95_ms": 100},
        "first_errors": errors[:3],
        "dashboard_redirect_s": round(dashboard_s, 3),
    }
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "console.json").write_text(json.dumps(results, indent=2) + "\n")
    rows = [f"| {name} | {v['p50']} | {v['p95']} | {v['p99']} |" for name, v in search.items()]
    (out / "console.md").write_text(
        "\n".join(
            [
                "# Console and API speed",
                "",
                f"{results['machine']}; load average {results['load_average']}; {results['date']}",
                "",
                f"Log of {args.records:,} signed run records (+ takedowns, filled through the real append "
                f"path in {fill_s:.0f} s), SQLite; {results['server']}.",
                "",
                f"## GET /api/v1/records, one client, {args.searches} requests per kind "
                "(target p95 ≤ 100 ms)",
                "",
                "| filter | p50 ms | p95 ms | p99 ms |",
                "|---|---|---|---|",
                *rows,
                "",
                f"## POST /api/v1/trace, {args.clients} concurrent clients, {args.seconds:.0f} s, "
                "1024² JPEG leaks (target p95 ≤ 500 ms)",
                "",
                "| requests | p50 ms | p95 ms | p99 ms | throughput | wrong answers |",
                "|---|---|---|---|---|---|",
                f"| {trace['n']} | {trace['p50']} | {trace['p95']} | {trace['p99']} | "
                f"{trace['throughput_per_s']}/s | {trace['errors']} |",
                "",
                f"First trace request (loads the PDQ index of the whole log): {warm_s:.2f} s.",
                "",
            ]
        )
    )


def _portrait() -> bytes:
    import skimage.data

    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buffer, "PNG")
    return buffer.getvalue()


if __name__ == "__main__":
    main()
