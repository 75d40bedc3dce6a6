"""The Guard's cost on video, side by side with the same work done without it, in one run.

1. A 10 s 720p30 clip (a camera move over the astronaut portrait, with an AAC track) goes through
   ``Guard.run_video`` with an identity frame-wise pipeline: probe, sampled pre-checks (open_nsfw,
   dlib faces, tracks, consent), decode, mark every frame, encode (policy: H.264 CRF 18 veryfast),
   audio copy, sampled post-checks, read-back of the mark, PDQ, signed SQLite append, release.
2. The baseline: the same decode + identity + encode with the same codec settings and the audio copy,
   without the Guard. Both alternate ``--repeats`` times; medians are reported, with their ratio.
3. Detection: a 2 s excerpt of the released clip, downscaled to 360p, cropped to 80 % of its area and
   re-encoded at CRF 35; time to decode it and read the ID (and whether it was found).

Writes bench/results/video.md and video.json.

    .venv/bin/python bench/video/run.py [--repeats 2] [--seconds 10]
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
from fusionguard.guard import Guard, RunInputs  # noqa: E402
from fusionguard.media import encode_image  # noqa: E402
from fusionguard.policy import Policy  # noqa: E402
from fusionguard.registry import enrol_photos  # noqa: E402
from fusionguard.store import db  # noqa: E402
from fusionguard.video.decode import decode_frames  # noqa: E402
from fusionguard.video.encode import VideoEncoder  # noqa: E402
from fusionguard.video.marking import detect_clip  # noqa: E402
from fusionguard.video.probe import probe_video  # noqa: E402
from tests.video.clips import astronaut, write_clip  # noqa: E402

MODEL = ModelInfo("identity", "1.0", "apache-2.0")


def camera_move(seconds: int, fps: int, size: tuple[int, int]) -> list[np.ndarray]:
    still = cv2.resize(astronaut(), (1600, 1600), interpolation=cv2.INTER_CUBIC)
    width, height = size
    frames = []
    count = seconds * fps
    for index in range(count):
        progress = index / max(1, count - 1)
        zoom = 1.0 + 0.15 * progress
        w, h = int(width / zoom * 1.1), int(height / zoom * 1.1)
        x0 = int(100 + 150 * progress)
        frames.append(cv2.resize(still[40 : 40 + h, x0 : x0 + w], size, interpolation=cv2.INTER_AREA))
    return frames


def baseline(target: Path, output: Path) -> float:
    """Decode + identity + encode + audio copy, no Guard (same policy codec settings)."""
    began = time.perf_counter()
    rules = Policy.default().video
    info = probe_video(target, rules)
    with VideoEncoder(
        output, rules, width=info.width, height=info.height, fps=info.fps, audio_from=target
    ) as encoder:
        for frame in decode_frames(info, rules):
            encoder.write(frame.rgb, frame.time)
    return time.perf_counter() - began


def leaked_excerpt(path: Path, out: Path) -> Path:
    rules = Policy.default().video
    frames = []
    for frame in decode_frames(probe_video(path, rules), rules):
        if frame.time >= 2.0:
            break
        small = cv2.resize(frame.rgb, (640, 360), interpolation=cv2.INTER_AREA)
        ch, cw = int(360 * 0.894) // 2 * 2, int(640 * 0.894) // 2 * 2  # 80 % of the area
        top, left = (360 - ch) // 2, (640 - cw) // 2
        frames.append(small[top : top + ch, left : left + cw])
    return write_clip(out, frames, fps=30, audio=None, metadata=False, crf=35)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fg-bench-video-"))
    try:
        home = work / "home"
        home.mkdir(mode=0o700)
        KeyRing.create(home / "keys", now=datetime.now(UTC))
        url = f"sqlite:///{work / 'audit.db'}"
        engine = db.open_engine(url)
        db.upgrade(engine)
        engine.dispose()
        guard = Guard.from_policy("default", home=home, db_url=url)
        photo = work / "astronaut.png"
        photo.write_bytes(encode_image(astronaut(), "png"))
        enrol_photos(guard.registry, guard.faces, "Eileen Collins", [photo], roles=["source", "target"])

        began = time.perf_counter()
        target = write_clip(work / "clip.mp4", camera_move(args.seconds, 30, (1280, 720)), fps=30)
        made = time.perf_counter() - began

        def identity(rgb: np.ndarray, index: int, run: RunInputs) -> np.ndarray:
            return rgb

        guarded, plain, steps, ids = [], [], [], []
        for repeat in range(args.repeats):
            plain.append(baseline(target, work / f"plain-{repeat}.mp4"))
            began = time.perf_counter()
            result = guard.run_video(
                sources=[photo],
                target=target,
                model=MODEL,
                frame_pipeline=identity,
                output_path=work / f"guarded-{repeat}.mp4",
            )
            guarded.append(time.perf_counter() - began)
            steps.append(result.timings)
            ids.append(result.watermark_id)
        excerpt = leaked_excerpt(work / "guarded-0.mp4", work / "excerpt.mp4")
        began = time.perf_counter()
        rules = Policy.default().video
        found = detect_clip(guard.codec, (f.rgb for f in decode_frames(probe_video(excerpt, rules), rules)))
        detect_s = time.perf_counter() - began
        seams = "frames.py (FrameMarker/detect_frames)"
        try:
            import fusionguard.watermark.frames  # noqa: F401
        except ImportError:
            seams = "per-frame WatermarkCodec.embed/inspect (frames.py not merged)"

        g, p = statistics.median(guarded), statistics.median(plain)
        figures: dict[str, Any] = {
            "clip": {
                "seconds": args.seconds,
                "fps": 30,
                "size": "1280x720",
                "frames": args.seconds * 30,
                "audio": "aac",
                "made_in_s": round(made, 2),
            },
            "repeats": args.repeats,
            "guarded_s": [round(x, 3) for x in guarded],
            "plain_s": [round(x, 3) for x in plain],
            "guarded_median_s": round(g, 3),
            "plain_median_s": round(p, 3),
            "ratio": round(g / p, 3),
            "target_ratio": 1.5,
            "steps_s": {k: round(statistics.median(s.get(k, 0.0) for s in steps), 3) for k in steps[0]},
            "detection": {
                "excerpt": "2 s, 640x360 then centre crop to 80 % area, CRF 35",
                "seconds": round(detect_s, 3),
                "found": bool(found is not None and found.payload == ids[0]),
                "false_alarm_probability": None if found is None else found.false_alarm_probability,
                "target_s": 1.0,
            },
            "watermark_path": seams,
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_1min": round(os.getloadavg()[0], 2),
            },
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        }
        out = ROOT / "bench" / "results"
        (out / "video.json").write_text(json.dumps(figures, indent=2) + "\n")
        lines = [
            "# Video through the Guard (bench/video/run.py)",
            "",
            f"{args.seconds} s 1280x720 at 30 fps with AAC audio, identity frame-wise pipeline, policy "
            f"`default` (H.264 CRF 18 veryfast, 1 sample/s), SQLite; {args.repeats} alternating repeats, "
            f"medians. Machine: {os.cpu_count()} CPUs shared with other jobs (1-min load "
            f"{figures['machine']['load_1min']}). Watermark path: {seams}.",
            "",
            "| | seconds | |",
            "|---|---:|---|",
            f"| decode + identity + encode + audio copy, no Guard | {p:.2f} | |",
            f"| the same through `Guard.run_video` | {g:.2f} | ratio **{g / p:.2f}x** (target <= 1.5x) |",
            f"| ID from a 2 s 360p excerpt (crop 80 %, CRF 35): decode + detect | {detect_s:.2f} | "
            f"found: {figures['detection']['found']} (target <= 1 s) |",
            "",
            "Guard steps (median seconds; `pipeline` is the identity function, `encode` the encoder, "
            "`watermark` the marking plus the read-back; scans overlap decoding and encoding):",
            "",
            "| step | s |",
            "|---|---:|",
            *[f"| {k} | {v:.3f} |" for k, v in figures["steps_s"].items()],
            "",
        ]
        (out / "video.md").write_text("\n".join(lines))
        print("\n".join(lines))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
