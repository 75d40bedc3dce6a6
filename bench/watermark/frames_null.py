"""Null model of detect_frames: is the reported false-alarm probability calibrated on unmarked clips?

Run: ``.venv/bin/python bench/watermark/frames_null.py [--clips N]`` (default 1000). Writes
``bench/results/frames_null.md`` and ``frames_null.json``. Offline: the stills are the test photos of
tests/testdata.py plus scikit-image and matplotlib sample data.

Each clip is a camera move over a random still (pan + zoom, random speed), at a random frame size
(320x240, 640x360, 640x480, 1280x720) and length (4 to 50 frames); about a third of the clips go
through the leak chain (downscale to 360 lines, 80 % crop, libx264 at CRF 23 or 35, decoded again),
and about a fifth are searched with ``window=8`` (more frame groups, more hypotheses). Nothing is
marked, so every detection is a false alarm.

What must hold: (1) every decoded hypothesis' check-error count ``d`` is Binomial(48, 1/2) (histogram,
KS test of the randomised PIT); (2) the reported false-alarm probability ``FA`` of the best
hypothesis is calibrated: the fraction of clips with ``FA <= a`` is at most ``a`` (up to sampling
error) at every level ``a`` this many clips can resolve; (3) no detection at 1e-10.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fusionguard.watermark import FALSE_ALARM_THRESHOLD, WatermarkCodec, ecc  # noqa: E402
from fusionguard.watermark.frames import _search_clip  # noqa: E402
from tests import testdata  # noqa: E402
from tests.support.clips import camera_frames, decode_clip, downscale_crop, encode_clip  # noqa: E402

Image8 = npt.NDArray[np.uint8]
RESULTS = ROOT / "bench" / "results"
KEY = b"fusionguard-benchmark-key-000001"
SIZES = [(320, 240), (640, 360), (640, 480), (1280, 720)]
LEVELS = [1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005]


def stills() -> dict[str, Image8]:
    from skimage import data

    out = {
        "astronaut": testdata.astronaut(),
        "coffee": testdata.coffee(),
        "chelsea": testdata.chelsea(),
        "grace_hopper": testdata.grace_hopper(),
        "rocket": data.rocket(),
        "ihc": data.immunohistochemistry(),
        "motorcycle": data.stereo_motorcycle()[0],
        "hubble": data.hubble_deep_field(),
        "retina": data.retina(),
        "camera": np.stack([data.camera()] * 3, axis=-1),
        "coins": np.stack([data.coins()] * 3, axis=-1),
        "moon": np.stack([data.moon()] * 3, axis=-1),
        "page": np.stack([data.page()] * 3, axis=-1),
    }
    return {k: np.ascontiguousarray(v.astype(np.uint8)) for k, v in out.items()}


def leak_chain(frames: list[Image8], crf: int, rng: np.random.Generator, tmp: Path) -> list[Image8]:
    offset = (float(rng.uniform()), float(rng.uniform()))
    small = [downscale_crop(f, 360, 0.8, offset) for f in frames]
    path = encode_clip(small, tmp / "clip.mp4", crf=crf, preset="veryfast")
    return list(decode_clip(path))


def run(count: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    codec = WatermarkCodec(KEY)
    pool = stills()
    names = list(pool)
    all_d: list[int] = []
    clips: list[dict[str, Any]] = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(count):
            name = names[int(rng.integers(len(names)))]
            size = SIZES[int(rng.integers(len(SIZES)))]
            n = int(rng.integers(4, 51)) if size != (1280, 720) else int(rng.integers(4, 21))
            amplitude = float(rng.uniform(0.2, 1.5))
            frames = camera_frames(pool[name], size, n, seed=int(rng.integers(1 << 31)), amplitude=amplitude)
            chain = "none"
            if rng.random() < 1 / 3:
                crf = int(rng.choice([23, 35]))
                frames = leak_chain(frames, crf, rng, Path(tmp))
                chain = f"360p crop 80% crf{crf}"
            window = 8 if rng.random() < 0.2 else None
            search = _search_clip(codec, frames, window, None)
            d = [c.check_errors for c, _ in search.decoded]
            all_d.extend(d)
            best = min(d) if d else ecc.CHECK_BITS
            fa = min(1.0, search.hypotheses * ecc.binomial_cdf_half(best, ecc.CHECK_BITS)) if d else 1.0
            clips.append(
                {
                    "still": name,
                    "size": f"{size[0]}x{size[1]}",
                    "frames": search.frames,
                    "chain": chain,
                    "window": window,
                    "groups": search.groups,
                    "hypotheses": search.hypotheses,
                    "decoded": len(d),
                    "best_d": best,
                    "fa": fa,
                }
            )
            if (i + 1) % 100 == 0:
                print(f"  {i + 1}/{count} clips, {time.perf_counter() - began:.0f} s", flush=True)
    return summarise(np.array(all_d), clips, rng, time.perf_counter() - began)


def summarise(
    all_d: npt.NDArray[np.int64], clips: list[dict[str, Any]], rng: np.random.Generator, seconds: float
) -> dict[str, Any]:
    n_check = ecc.CHECK_BITS
    cdf_below = stats.binom.cdf(all_d - 1, n_check, 0.5)
    pmf = stats.binom.pmf(all_d, n_check, 0.5)
    ks = stats.kstest(cdf_below + rng.random(len(all_d)) * pmf, "uniform")
    fa = np.array([c["fa"] for c in clips])
    calibration = []
    for level in LEVELS:
        observed = int(np.count_nonzero(fa <= level))
        # One-sided binomial test of "P(FA <= level) <= level": p-value of seeing this many or more.
        p_value = float(stats.binom.sf(observed - 1, len(fa), level)) if observed else 1.0
        calibration.append(
            {"level": level, "observed": observed, "fraction": observed / len(fa), "p_value": p_value}
        )
    hist = np.bincount(all_d, minlength=n_check + 1)
    expected = stats.binom.pmf(np.arange(n_check + 1), n_check, 0.5) * len(all_d)
    return {
        "clips": len(clips),
        "frames": int(sum(c["frames"] for c in clips)),
        "seconds": seconds,
        "by_size": {s: sum(c["size"] == s for c in clips) for s in sorted({c["size"] for c in clips})},
        "by_chain": {s: sum(c["chain"] == s for c in clips) for s in sorted({c["chain"] for c in clips})},
        "windowed": sum(c["window"] is not None for c in clips),
        "hypotheses_total": int(sum(c["hypotheses"] for c in clips)),
        "decoded_total": len(all_d),
        "detections_at_1e-10": int(np.count_nonzero(fa <= FALSE_ALARM_THRESHOLD)),
        "min_fa": float(fa.min()),
        "min_best_d": int(min(c["best_d"] for c in clips)),
        "d_mean": float(all_d.mean()),
        "d_var": float(all_d.var()),
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "histogram": hist.tolist(),
        "expected": expected.tolist(),
        "calibration": calibration,
        "clip_list": clips,
    }


def report(r: dict[str, Any]) -> str:
    lines = [
        "# detect_frames null model (unmarked clips)",
        "",
        f"{r['clips']} unmarked clips, {r['frames']} frames in all "
        f"(sizes {r['by_size']}; chains {r['by_chain']}; {r['windowed']} searched with window=8), "
        f"{r['seconds']:.0f} s on this machine (2 shared cores). "
        "Produced by `bench/watermark/frames_null.py`.",
        "",
        f"- **Detections at FA <= 1e-10: {r['detections_at_1e-10']}** (smallest reported FA "
        f"{r['min_fa']:.3g}, smallest best-hypothesis d = {r['min_best_d']}).",
        f"- Every decoded hypothesis ({r['decoded_total']} of them; {r['hypotheses_total']} counted in "
        f"the bounds): d mean {r['d_mean']:.2f} (model 24), variance {r['d_var']:.2f} (model 12); KS test "
        f"of the randomised PIT against Binomial(48, 1/2): D = {r['ks_statistic']:.4f}, "
        f"p = {r['ks_pvalue']:.3f}.",
        "",
        "Calibration of the reported FA (a union bound, so it may only be conservative): fraction of",
        "clips whose FA is at most the level; the p-value tests `P(FA <= level) <= level`.",
        "",
        "| level | clips with FA <= level | fraction | p-value |",
        "|---:|---:|---:|---:|",
    ]
    for c in r["calibration"]:
        lines.append(f"| {c['level']:g} | {c['observed']} | {c['fraction']:.4f} | {c['p_value']:.3f} |")
    lines += ["", "Check errors d of all decoded hypotheses against Binomial(48, 1/2):", ""]
    lines += ["| d | observed | expected |", "|---:|---:|---:|"]
    for d, (o, e) in enumerate(zip(r["histogram"], r["expected"], strict=True)):
        if o or e >= 0.5:
            lines.append(f"| {d} | {o} | {e:.1f} |")
    lines += [
        "",
        "A detection needs d <= 2 with 16 hypotheses (one group at two scales): "
        f"16 x P[Bin(48, 1/2) <= 2] = {16 * ecc.binomial_cdf_half(2, 48):.2e}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    result = run(args.clips, args.seed)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "frames_null.json").write_text(json.dumps(result, indent=1))
    text = report(result)
    (RESULTS / "frames_null.md").write_text(text)
    print(text)
    if result["detections_at_1e-10"] or math.isnan(result["ks_pvalue"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
