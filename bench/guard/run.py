"""The Guard's own overhead (everything but the wrapped pipeline), per step, at 512² and 1024².

A real run: dlib faces, open_nsfw, the watermark (embed + verifying detection), PDQ, a signed append to
SQLite, an atomic release — around the demo's classical face swap. Writes bench/results/guard.md/.json.

    .venv/bin/python bench/guard/run.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fusionguard.audit.keys import KeyRing  # noqa: E402
from fusionguard.audit.record import ModelInfo  # noqa: E402
from fusionguard.demo import swap  # noqa: E402
from fusionguard.errors import AlreadyEnrolled  # noqa: E402
from fusionguard.faces import DlibBackend  # noqa: E402
from fusionguard.guard import Guard, RunInputs  # noqa: E402
from fusionguard.media import encode_image  # noqa: E402
from fusionguard.registry import enrol_photos  # noqa: E402
from fusionguard.store import db  # noqa: E402
from tests import testdata  # noqa: E402

STEPS = ("load", "pre_checks", "post_checks", "watermark", "fingerprint", "record", "release")
# watermark and fingerprint run on a second thread beside post_checks.


def square(rgb: np.ndarray, size: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return cv2.resize(rgb[top : top + side, left : left + side], (size, size), interpolation=cv2.INTER_AREA)


def helper_cpu_seconds(guard: Guard) -> float:
    """CPU time used so far by the face backend's embedding helpers (Linux /proc)."""
    workers = getattr(guard.faces, "_workers", None)
    total = 0.0
    for pid in workers.pids() if workers is not None else []:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return total


def measure(guard: Guard, work: Path, size: int, repeats: int, label: str) -> dict[str, Any]:
    """Median timings of ``repeats`` guarded demo swaps at ``size``² (after one warm-up run)."""
    model = ModelInfo("fusionguard-demo-swap", "1.0", "apache-2.0")
    source, target = work / f"src{size}.png", work / f"tgt{size}.png"
    if not source.exists():
        source.write_bytes(encode_image(square(testdata.grace_hopper(), size), "png"))
        target.write_bytes(encode_image(square(testdata.astronaut(), size), "png"))
        for photo, role in ((source, "source"), (target, "target")):
            try:
                enrol_photos(guard.registry, guard.faces, f"{role} {size}", [photo], roles=[role])
            except AlreadyEnrolled as known:  # the same person at another size: one identity
                guard.registry.grant(known.identity_id, [role])

    def pipeline(run: RunInputs) -> np.ndarray:
        assert run.target is not None
        return swap.swap_face(run.sources[0], run.target)

    samples: list[dict[str, float]] = []
    cpu: list[float] = []
    for i in range(repeats + 1):
        cpu_before = time.process_time() + helper_cpu_seconds(guard)
        result = guard.run(
            sources=[source],
            target=target,
            model=model,
            pipeline=pipeline,
            output_path=work / f"out{size}-{label}-{i}.png",
        )
        if i:  # the first run loads the models
            samples.append(result.timings)
            # CPU of the whole run (this process's threads and the helpers), pipeline included.
            cpu.append(time.process_time() + helper_cpu_seconds(guard) - cpu_before)
    # Wall clock of the run minus the wrapped function (marking overlaps the post-checks, so the
    # steps add up to more than this).
    overhead = [s["total"] - s["pipeline"] for s in samples]
    row = {
        "size": size,
        "embeddings": label,
        "overhead_ms_median": round(1000 * statistics.median(overhead), 1),
        "overhead_ms_min": round(1000 * min(overhead), 1),
        "pipeline_ms_median": round(1000 * statistics.median(s["pipeline"] for s in samples), 1),
        "run_cpu_ms_median": round(1000 * statistics.median(cpu), 1),
        "steps_ms_median": {
            k: round(1000 * statistics.median(s.get(k, 0.0) for s in samples), 1) for k in STEPS
        },
    }
    print(row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fg-bench-guard-"))
    try:
        home = work / "home"
        KeyRing.create(home / "keys", now=datetime.now(UTC))
        url = f"sqlite:///{home / 'audit.db'}"
        db.upgrade(db.open_engine(url))
        # The default Guard (dlib's ResNet in two helper processes), and for comparison one whose
        # backend embeds in-process, as DlibBackend() does.
        guard = Guard.from_policy("default", home=home, db_url=url, actor="bench")
        rows = [measure(guard, work, size, args.repeats, "2 helper processes") for size in (512, 1024)]
        in_process = Guard.from_policy("default", home=home, db_url=url, actor="bench", faces=DlibBackend())
        rows.append(measure(in_process, work, 1024, args.repeats, "in-process"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "date": datetime.now(UTC).isoformat(),
        "target_ms_median_1024": 300,
        "sizes": rows,
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "guard.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Guard overhead",
        "",
        f"{results['machine']}; load average {results['load_average']}; "
        f"{results['date']}; median of {args.repeats} runs after a warm-up run.",
        "",
        "| size | face embeddings | overhead (median) | overhead (min) | "
        + " | ".join(STEPS)
        + " | pipeline (demo swap) | CPU of the whole run |",
        "|---" * (len(STEPS) + 6) + "|",
    ]
    for row in rows:
        steps = row["steps_ms_median"]
        lines.append(
            f"| {row['size']}² | {row['embeddings']} | {row['overhead_ms_median']} ms | "
            f"{row['overhead_ms_min']} ms | "
            + " | ".join(f"{steps[k]}" for k in STEPS)
            + f" | {row['pipeline_ms_median']} ms | {row['run_cpu_ms_median']} ms |"
        )
    lines += [
        "",
        "Overhead = the run's wall clock minus the wrapped function. Steps in ms (median); `watermark` "
        "(embed + verifying detection) and `fingerprint` (metadata-free PNG encoding + PDQ) run on a "
        "second thread beside `post_checks`, so the steps add up to more than the overhead. CPU of the "
        "whole run: this process's threads plus the face backend's embedding helpers, pipeline included "
        "(median); divided by the cores it is the floor for the run's wall clock.",
        "",
        "Target: ≤ 300 ms median overhead at 1024² (everything except the wrapped function).",
        "",
    ]
    (out / "guard.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
