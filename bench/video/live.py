"""Live streams and frame marks: sustained fps, per-frame added latency, marking and detection cost.

    .venv/bin/python bench/video/live.py [--seconds 20]

1. A 640x480 guarded stream (real dlib faces on a background thread at the policy's 4/s, open_nsfw at
   1/s, SQLite audit log, interim records every 10 s) fed with camera-motion frames of a consenting
   person as fast as the loop can go: sustained frames per second with a mark on every frame, and
   the time ``session.release`` adds to each frame (p50/p95/p99). The same frames through the same
   loop without the Guard give the baseline.
2. The same stream paced like a 30 fps camera (the checks share the cores with the loop).
3. FrameMarker.mark per frame at 320x240, 640x480, 1280x720 and 1920x1080 (median of 100, one thread).
4. detect_frames on the leaked-excerpt case: a 720p marked clip, 2 s of it downscaled to 360 lines,
   cropped to 80 % area, re-encoded with libx264 at CRF 35; decoding the excerpt is timed apart.

Writes bench/results/live.md and live.json.
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

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fusionguard.audit.keys import KeyRing  # noqa: E402
from fusionguard.audit.record import ModelInfo  # noqa: E402
from fusionguard.guard import Guard  # noqa: E402
from fusionguard.media import encode_image  # noqa: E402
from fusionguard.registry import enrol_photos  # noqa: E402
from fusionguard.store import db  # noqa: E402
from fusionguard.watermark import FrameMarker, WatermarkCodec, detect_frames  # noqa: E402
from tests import testdata  # noqa: E402
from tests.support.clips import camera_frames, decode_clip, encode_clip, leak  # noqa: E402

MODEL = ModelInfo("fusionguard-demo-swap", "1.0", "apache-2.0")
RESULTS = ROOT / "bench" / "results"


def percentiles(values: list[float]) -> dict[str, float]:
    ms = np.array(values) * 1000
    return {f"p{q}": round(float(np.percentile(ms, q)), 2) for q in (50, 95, 99)} | {
        "max": round(float(ms.max()), 2)
    }


def stream_run(
    guard: Guard, source: Path, frames: list[np.ndarray], seconds: float, pace: float
) -> dict[str, Any]:
    """Feed frames for ``seconds`` (every ``pace`` s, or as fast as possible when 0)."""
    latencies: list[float] = []
    began = time.perf_counter()
    count = 0
    with guard.stream(sources=[source], model=MODEL) as session:
        start_loop = time.perf_counter()
        while time.perf_counter() - start_loop < seconds:
            frame = frames[count % len(frames)]
            t0 = time.perf_counter()
            session.release(frame)
            latencies.append(time.perf_counter() - t0)
            count += 1
            if pace:
                next_at = start_loop + count * pace
                delay = next_at - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
        loop_seconds = time.perf_counter() - start_loop
        stats = session.stats
    total = time.perf_counter() - began
    # The first frame waits for the session's first face check (by design); reported apart.
    return {
        "frames": count,
        "loop_seconds": round(loop_seconds, 2),
        "fps": round(count / loop_seconds, 1),
        "first_frame_ms": round(latencies[0] * 1000, 1),
        "latency_ms": percentiles(latencies[1:]),
        "released": stats.released,
        "withheld": stats.withheld,
        "blocked": stats.blocked,
        "face_checks": stats.face_checks,
        "face_checks_per_s": round(stats.face_checks / loop_seconds, 2),
        "nsfw_checks": stats.nsfw_checks,
        "records": len(session.records),
        "session_seconds_with_start_and_close": round(total, 2),
    }


def baseline_run(frames: list[np.ndarray], seconds: float) -> dict[str, Any]:
    """The same loop without the Guard: a frame copy stands in for handing the frame on."""
    count, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        np.array(frames[count % len(frames)], copy=True)
        count += 1
    return {"frames": count, "fps": round(count / (time.perf_counter() - began), 1)}


def marking_costs(codec: WatermarkCodec) -> dict[str, Any]:
    import cv2

    marker = FrameMarker(codec, 0x0123456789ABCDEF)
    out = {}
    for width, height in ((320, 240), (640, 480), (1280, 720), (1920, 1080)):
        frames = camera_frames(testdata.grace_hopper(), (width, height), 10, seed=1)
        marker.mark(frames[0])  # the per-shape precomputation, once
        cv2.setNumThreads(1)
        one = []
        for i in range(100):
            t0 = time.perf_counter()
            marker.mark(frames[i % 10])
            one.append(time.perf_counter() - t0)
        cv2.setNumThreads(-1)
        default = []
        for i in range(100):
            t0 = time.perf_counter()
            marker.mark(frames[i % 10])
            default.append(time.perf_counter() - t0)
        out[f"{width}x{height}"] = {
            "ms_median_1_thread": round(1000 * statistics.median(one), 2),
            "ms_p95_1_thread": round(float(np.percentile(np.array(one) * 1000, 95)), 2),
            "ms_median_opencv_threads": round(1000 * statistics.median(default), 2),
        }
    return out


def leak_detection(codec: WatermarkCodec, work: Path, keys: int) -> dict[str, Any]:
    """The issue's leaked excerpt, timed on the Guard's key; then the exact-ID rate over more keys."""
    payload = 0x0123456789ABCDEF
    marker = FrameMarker(codec, payload)
    frames = camera_frames(testdata.grace_hopper(), (1280, 720), 75, seed=3)
    clip = encode_clip([marker.mark(f) for f in frames], work / "marked.mp4", crf=18)
    leak(clip, work / "leaked.mp4", start=0.5, seconds=2.0, height=360, area=0.8, crf=35)
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        decoded = list(decode_clip(work / "leaked.mp4"))
        t1, c1 = time.perf_counter(), time.process_time()
        found = detect_frames(codec, decoded)
        runs.append((t1 - t0, time.perf_counter() - t1, time.process_time() - c1, found))
    found = runs[-1][3]
    stills = {
        "grace_hopper": testdata.grace_hopper(),
        "astronaut": testdata.astronaut(),
        "coffee": testdata.coffee(),
    }
    trials = []
    for k in range(keys):
        trial_codec = WatermarkCodec(bytes([k + 7]) * 32)
        trial_marker = FrameMarker(trial_codec, payload)
        for name, still in stills.items():
            shot = camera_frames(still, (1280, 720), 75, seed=100 + k)
            path = encode_clip([trial_marker.mark(f) for f in shot], work / "trial.mp4", crf=18)
            leaked = leak(path, work / "trial-leak.mp4", start=0.5, seconds=2.0, height=360, area=0.8, crf=35)
            hit = detect_frames(trial_codec, leaked)
            trials.append(
                {"key": k, "still": name, "exact": bool(hit is not None and hit.payload == payload)}
            )
            print(trials[-1], flush=True)
    return {
        "excerpt": f"{len(decoded)} frames, {decoded[0].shape[1]}x{decoded[0].shape[0]}, libx264 CRF 35",
        "decode_s_median": round(statistics.median(r[0] for r in runs), 3),
        "detect_s_median": round(statistics.median(r[1] for r in runs), 3),
        "detect_s_max": round(max(r[1] for r in runs), 3),
        "detect_cpu_s_median": round(statistics.median(r[2] for r in runs), 3),
        "exact_id": bool(found is not None and found.payload == payload),
        "false_alarm_probability": found.false_alarm_probability if found else None,
        "bit_errors": found.bit_errors if found else None,
        "trials": trials,
        "exact_rate": f"{sum(t['exact'] for t in trials)} of {len(trials)}",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--keys", type=int, default=4, help="keys for the exact-ID rate (x 3 stills)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fg-bench-live-"))
    try:
        home = work / "home"
        KeyRing.create(home / "keys", now=datetime.now(UTC))
        url = f"sqlite:///{home / 'audit.db'}"
        db.upgrade(db.open_engine(url))
        guard = Guard.from_policy("default", home=home, db_url=url, actor="bench")
        source, target = work / "source.png", work / "target.png"
        source.write_bytes(encode_image(testdata.grace_hopper(), "png"))
        target.write_bytes(encode_image(testdata.astronaut(), "png"))
        enrol_photos(guard.registry, guard.faces, "source", [source], roles=["source"])
        enrol_photos(guard.registry, guard.faces, "target", [target], roles=["target"])
        frames = camera_frames(
            testdata.astronaut(), (640, 480), 60, seed=11, amplitude=0.3, centre=(0.45, 0.3), zoom=1.1
        )
        guard.faces.detect(frames[0])  # load the models before timing
        guard.nsfw.scores([frames[0]])
        print("baseline", flush=True)
        baseline = baseline_run(frames, 5.0)
        print("stream, as fast as possible", flush=True)
        fast = stream_run(guard, source, frames, args.seconds, 0.0)
        print(fast, flush=True)
        print("stream, paced at 30 fps", flush=True)
        paced = stream_run(guard, source, frames, args.seconds, 1 / 30)
        print(paced, flush=True)
        print("marking", flush=True)
        marking = marking_costs(guard.codec)
        print(marking, flush=True)
        print("leak detection", flush=True)
        detection = leak_detection(guard.codec, work, args.keys)
        print(detection, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared with other jobs), "
        f"Python {platform.python_version()}",
        "load_average_at_end": os.getloadavg(),
        "date": datetime.now(UTC).isoformat(),
        "targets": {"fps": 30, "latency_p95_ms": 15, "mark_720p_ms": 8, "detect_s": 1.0},
        "baseline_loop": baseline,
        "stream_fast": fast,
        "stream_paced_30fps": paced,
        "marking": marking,
        "leak_detection": detection,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "live.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "live.md").write_text(report(result))
    print(report(result))


def report(r: dict[str, Any]) -> str:
    fast, paced, m, d = r["stream_fast"], r["stream_paced_30fps"], r["marking"], r["leak_detection"]
    fa = "none" if d["false_alarm_probability"] is None else f"{d['false_alarm_probability']:.2e}"
    lines = [
        "# Live streams and frame marks",
        "",
        f"{r['machine']}; load average at the end {tuple(round(x, 2) for x in r['load_average_at_end'])}; "
        f"{r['date']}. Produced by `bench/video/live.py`.",
        "",
        "## 640x480 guarded stream (dlib faces 4/s and open_nsfw 1/s in the background, SQLite log)",
        "",
        "| run | frames | fps | release p50 / p95 / p99 / max (ms) | first frame (ms) "
        "| released / withheld |",
        "|---|---:|---:|---|---:|---|",
    ]
    for name, s in (("as fast as possible", fast), ("paced at 30 fps", paced)):
        lat = s["latency_ms"]
        lines.append(
            f"| {name} | {s['frames']} | {s['fps']} | "
            f"{lat['p50']} / {lat['p95']} / {lat['p99']} / {lat['max']} | {s['first_frame_ms']} "
            f"| {s['released']} / {s['withheld']} |"
        )
    lines += [
        "",
        f"Baseline loop without the Guard: {r['baseline_loop']['fps']} fps. Face checks ran "
        f"{fast['face_checks_per_s']}/s (fast run) and {paced['face_checks_per_s']}/s (paced); the first "
        "frame waits for the session's first face check by design (no frame leaves unchecked).",
        "Targets: >= 30 fps sustained, added latency p95 <= 15 ms.",
        "",
        "## FrameMarker.mark per frame (median of 100; one OpenCV thread, and OpenCV's default threads)",
        "",
        "| size | ms (1 thread) | p95 ms (1 thread) | ms (default threads) |",
        "|---|---:|---:|---:|",
    ]
    for size, row in m.items():
        lines.append(
            f"| {size} | {row['ms_median_1_thread']} | {row['ms_p95_1_thread']} "
            f"| {row['ms_median_opencv_threads']} |"
        )
    lines += [
        "",
        "Target: <= 8 ms per 720p frame.",
        "",
        "## detect_frames on the leaked excerpt",
        "",
        f"{d['excerpt']} (from a 720p marked clip: 2 s, downscaled to 360 lines, 80 % crop), on the "
        f"Guard's key: exact ID {d['exact_id']}, false-alarm probability "
        f"{fa}, "
        f"{d['bit_errors']} of 354 coded bits wrong. detect_frames {d['detect_s_median']} s median wall "
        f"(max {d['detect_s_max']} s) of 5, {d['detect_cpu_s_median']} s CPU; decoding the excerpt "
        f"{d['decode_s_median']} s. Target: <= 1 s.",
        "",
        f"The same case over other keys and stills (camera moves differ per key): exact ID in "
        f"{d['exact_rate']} excerpts.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
