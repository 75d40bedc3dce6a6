"""Evaluate the face and NSFW backends on the offline test set; write
bench/results/checks.{md,json}.

Measures, for DlibBackend: false accepts over every impostor pair, genuine accepts over every pair
of Obama photos including augmented copies (JPEG q60, resize 0.6, horizontal flip, brightness +30 %,
central crop 90 %, rotation 5 degrees), detection recall on skimage's LFW subset (25x25 gray crops,
upscaled), and the median time of detect+embed on a one-face 1024x1024 image. For OpenNsfwOnnx: the
median time per image at 512x512 and 1024x1024.

    .venv/bin/python bench/checks/run.py            # full run, ~1-2 minutes on 2 cores
    .venv/bin/python bench/checks/run.py --repeats 5
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from fusionguard.checks.nsfw import OpenNsfwOnnx  # noqa: E402
from fusionguard.faces import DlibBackend, Face  # noqa: E402
from fusionguard.media import encode_image, load_image, write_atomic  # noqa: E402
from tests import testdata  # noqa: E402

THRESHOLDS = (0.40, 0.45, 0.50, 0.55, 0.60)


# --- augmentations
# ----------------------------------------------------------------------------------


def _jpeg60(rgb: np.ndarray) -> np.ndarray:
    return load_image(encode_image(rgb, "jpeg", quality=60)).rgb


def _resize06(rgb: np.ndarray) -> np.ndarray:
    return cv2.resize(rgb, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)


def _flip(rgb: np.ndarray) -> np.ndarray:
    return rgb[:, ::-1]


def _bright30(rgb: np.ndarray) -> np.ndarray:
    brighter: np.ndarray = np.clip(rgb.astype(np.float32) * 1.3, 0, 255).astype(np.uint8)
    return brighter


def _crop90(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    dy, dx = int(h * 0.05), int(w * 0.05)
    return rgb[dy : h - dy, dx : w - dx]


def _rotate5(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 5.0, 1.0)
    return cv2.warpAffine(rgb, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


AUGMENTATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "jpeg60": _jpeg60,
    "resize0.6": _resize06,
    "flip": _flip,
    "bright+30%": _bright30,
    "crop90%": _crop90,
    "rotate5": _rotate5,
}


# --- helpers
# ----------------------------------------------------------------------------------------


def _median_ms(function: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    function()  # warm-up: lazy model loading, first-call allocations
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times), times


def _median_cpu_ms(function: Callable[[], object], repeats: int, clock: Callable[[], float]) -> float:
    """Median CPU time: unlike wall time, not inflated when other processes share the cores."""
    function()
    times = []
    for _ in range(repeats):
        start = clock()
        function()
        times.append((clock() - start) * 1000.0)
    return statistics.median(times)


def _square(rgb: np.ndarray, side: int) -> np.ndarray:
    return np.ascontiguousarray(cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA))


# --- face evaluation
# --------------------------------------------------------------------------------


def evaluate_faces(backend: DlibBackend) -> dict[str, Any]:
    samples: list[tuple[str, str, Face]] = []  # (identity, sample name, face)
    misses: list[str] = []

    def add(identity: str, name: str, rgb: np.ndarray, expect: int = 1) -> None:
        faces = backend.detect(np.ascontiguousarray(rgb))
        if len(faces) != expect:
            misses.append(f"{name}: {len(faces)} faces (expected {expect})")
        if identity == "t1":
            for i, face in enumerate(faces):
                samples.append((f"t1_person{i}", f"t1[{i}]", face))
        elif faces:
            samples.append((identity, name, faces[0]))

    for name, path in testdata.obama_photos().items():
        rgb = load_image(path).rgb
        add("obama", name, rgb)
        for aug_name, augment in AUGMENTATIONS.items():
            add("obama", f"{name}+{aug_name}", augment(rgb))
    add("biden", "biden", load_image(testdata.biden()).rgb)
    add("eileen_collins", "astronaut", testdata.astronaut())
    add("grace_hopper", "grace_hopper", testdata.grace_hopper())
    add("tom_hanks", "tom_hanks", load_image(testdata.tom_hanks()).rgb)
    add("t1", "t1", load_image(testdata.insightface_t1()).rgb, expect=6)

    genuine: list[float] = []
    impostor: list[tuple[float, str, str]] = []
    for (id_a, name_a, a), (id_b, name_b, b) in itertools.combinations(samples, 2):
        d = backend.distance(a, b)
        if id_a == id_b:
            genuine.append(d)
        else:
            impostor.append((d, name_a, name_b))
    # Genuine attempts whose face was never detected count as rejects (the user would be refused).
    obama_expected = len(testdata.obama_photos()) * (1 + len(AUGMENTATIONS))
    obama_found = sum(1 for identity, _, _ in samples if identity == "obama")
    genuine_attempts = obama_expected * (obama_expected - 1) // 2
    full_face = [
        d
        for (id_a, name_a, a), (id_b, name_b, b) in itertools.combinations(samples, 2)
        if id_a == id_b == "obama" and "partial" not in name_a + name_b
        for d in [backend.distance(a, b)]
    ]
    full_expected = 3 * (1 + len(AUGMENTATIONS))
    full_attempts = full_expected * (full_expected - 1) // 2

    rows = []
    for threshold in THRESHOLDS:
        false_accepts = sum(1 for d, _, _ in impostor if d < threshold)
        genuine_accepts = sum(1 for d in genuine if d < threshold)
        rows.append(
            {
                "threshold": threshold,
                "impostor_pairs": len(impostor),
                "false_accepts": false_accepts,
                "far": false_accepts / len(impostor),
                "genuine_pairs": genuine_attempts,
                "genuine_accepts": genuine_accepts,
                "gar": genuine_accepts / genuine_attempts,
                "gar_detected_only": genuine_accepts / len(genuine),
                "gar_full_face_photos": sum(1 for d in full_face if d < threshold) / full_attempts,
            }
        )
    closest = min(impostor)
    # Which genuine samples are rejected most often at the default threshold, and why it matters.
    rejects: dict[str, int] = {}
    for (id_a, name_a, a), (id_b, name_b, b) in itertools.combinations(samples, 2):
        if id_a == id_b and backend.distance(a, b) >= backend.match_threshold:
            rejects[name_a] = rejects.get(name_a, 0) + 1
            rejects[name_b] = rejects.get(name_b, 0) + 1
    worst = sorted(rejects.items(), key=lambda item: -item[1])[:3]
    identities = sorted({identity for identity, _, _ in samples})
    return {
        "identities": identities,
        "samples": len(samples),
        "obama_samples_expected": obama_expected,
        "obama_samples_detected": obama_found,
        "detection_misses": misses,
        "rows": rows,
        "genuine_max": max(genuine),
        "genuine_max_full_face_photos": max(full_face),
        "genuine_p95": float(np.percentile(genuine, 95)),
        "impostor_min": closest[0],
        "impostor_min_pair": [closest[1], closest[2]],
        "most_rejected_genuine_samples": [{"sample": n, "rejected_pairs": c} for n, c in worst],
    }


def evaluate_lfw(backend: DlibBackend) -> list[dict[str, Any]]:
    faces, non_faces = testdata.lfw_subset()
    rows = []
    for side in (25, 50, 80, 120):
        for pad in (0.0, 0.5):
            border = int(side * pad)

            def prepare(crop: np.ndarray, side: int = side, border: int = border) -> np.ndarray:
                big = cv2.resize(crop, (side, side), interpolation=cv2.INTER_CUBIC)
                if border:
                    # The crops are tight; context around the face helps HOG's 80x80 window.
                    big = cv2.copyMakeBorder(big, border, border, border, border, cv2.BORDER_REPLICATE)
                return np.ascontiguousarray(np.repeat(big[:, :, None], 3, axis=2))

            found = sum(1 for crop in faces if backend.detect(prepare(crop)))
            false = sum(1 for crop in non_faces if backend.detect(prepare(crop)))
            rows.append(
                {
                    "upscaled_to": side,
                    "padding": pad,
                    "faces": len(faces),
                    "detected": found,
                    "recall": found / len(faces),
                    "non_faces": len(non_faces),
                    "false_detections": false,
                }
            )
    return rows


def time_faces(backend: DlibBackend, repeats: int) -> dict[str, Any]:
    obama = load_image(testdata.obama_photos()["obama"]).rgb
    image_1024 = _square(obama, 1024)
    assert len(backend.detect(image_1024)) == 1
    result: dict[str, Any] = {}
    median, times = _median_ms(lambda: backend.detect(image_1024), repeats)
    result["detect_embed_1024_one_face_ms"] = median
    result["detect_embed_1024_all_ms"] = times
    # dlib runs single-threaded in the calling thread, so this thread's CPU time is its cost.
    result["detect_embed_1024_one_face_cpu_ms"] = _median_cpu_ms(
        lambda: backend.detect(image_1024), repeats, time.thread_time
    )
    astronaut = testdata.astronaut()
    result["detect_embed_512_astronaut_ms"], _ = _median_ms(lambda: backend.detect(astronaut), repeats)
    t1 = load_image(testdata.insightface_t1()).rgb
    result["detect_embed_t1_six_faces_ms"], _ = _median_ms(lambda: backend.detect(t1), max(3, repeats // 3))
    return result


def time_nsfw(backend: OpenNsfwOnnx, repeats: int) -> dict[str, Any]:
    obama = load_image(testdata.obama_photos()["obama"]).rgb
    result: dict[str, Any] = {}
    for side in (512, 1024):
        image = _square(obama, side)
        batch = [image] * 8

        def one(image: np.ndarray = image) -> object:
            return backend.scores([image])

        def eight(batch: list[np.ndarray] = batch) -> object:
            return backend.scores(batch)

        result[f"nsfw_{side}_ms"], _ = _median_ms(one, repeats)
        # onnxruntime runs on 2 threads: process CPU time is the sum over both (about 2x wall when
        # idle).
        result[f"nsfw_{side}_cpu_ms"] = _median_cpu_ms(one, repeats, time.process_time)
        per_batch, _ = _median_ms(eight, max(3, repeats // 3))
        result[f"nsfw_{side}_batch8_per_image_ms"] = per_batch / 8
    return result


# --- report
# -----------------------------------------------------------------------------------------


def render(results: dict[str, Any]) -> str:
    faces, lfw, timing = results["faces"], results["lfw"], results["timing"]
    lines = [
        "# Checks benchmark (faces: DlibBackend, NSFW: OpenNsfwOnnx)",
        "",
        f"Generated by `bench/checks/run.py` on {results['machine']['platform']}, "
        f"{results['machine']['cpus']} CPUs, load average before the run "
        f"{results['machine']['loadavg_before']}. Timings are medians over "
        f"{results['repeats']} repeats after a warm-up; load average after "
        f"{results['machine']['loadavg_after']}.",
        "",
        "## Face verification (dlib-resnet-v1, euclidean)",
        "",
        f"Identities: {', '.join(faces['identities'])} ({faces['samples']} face samples). "
        f"Obama samples: 5 photos x (original + {len(AUGMENTATIONS)} augmentations: "
        f"{', '.join(AUGMENTATIONS)}) = {faces['obama_samples_expected']}, "
        f"{faces['obama_samples_detected']} detected (undetected ones count as genuine rejects).",
        "",
        "| threshold | impostor pairs | false accepts | FAR | genuine pairs | genuine accepts | GAR "
        "| GAR, detected pairs only | GAR, 3 full-face photos only |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in faces["rows"]:
        marker = " **(default)**" if row["threshold"] == 0.5 else ""
        lines.append(
            f"| {row['threshold']:.2f}{marker} | {row['impostor_pairs']} | {row['false_accepts']} | "
            f"{row['far']:.2%} | {row['genuine_pairs']} | {row['genuine_accepts']} | {row['gar']:.2%} "
            f"| {row['gar_detected_only']:.2%} | {row['gar_full_face_photos']:.2%} |"
        )
    lines += [
        "",
        f"Largest genuine distance {faces['genuine_max']:.3f} (95th percentile "
        f"{faces['genuine_p95']:.3f}; largest among the 3 full-face photos and their augmentations "
        f"{faces['genuine_max_full_face_photos']:.3f}); smallest impostor distance "
        f"{faces['impostor_min']:.3f} "
        f"({' vs '.join(faces['impostor_min_pair'])}).",
        "",
        "Genuine samples rejected most often at the default threshold: "
        + (
            ", ".join(
                f"{w['sample']} ({w['rejected_pairs']} pairs)" for w in faces["most_rejected_genuine_samples"]
            )
            or "none"
        )
        + ".",
        "",
        "Detection misses: " + ("; ".join(faces["detection_misses"]) or "none") + ".",
        "",
        "## Detection recall on skimage.data.lfw_subset()",
        "",
        "100 face crops and 100 non-face patches, 25x25 gray, upscaled (bicubic) and optionally padded "
        "by replicating the border (pad 0.5 = half the side on each edge).",
        "",
        "| upscaled to | padding | faces detected | recall | false detections on 100 non-faces |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in lfw:
        lines.append(
            f"| {row['upscaled_to']} px | {row['padding']} | {row['detected']}/{row['faces']} | "
            f"{row['recall']:.0%} | {row['false_detections']} |"
        )
    lines += [
        "",
        "## Time per image",
        "",
        "Wall-clock medians depend on what else runs on the machine (see the load averages); the CPU "
        "rows measure the work itself: dlib's thread CPU time (it runs single-threaded), and "
        "onnxruntime's process CPU time summed over its 2 threads.",
        "",
        "| what | median ms | target |",
        "|---|---:|---:|",
        f"| dlib detect+embed, one face, 1024x1024 | {timing['detect_embed_1024_one_face_ms']:.1f} | 150 |",
        f"| dlib detect+embed, one face, 1024x1024, CPU time | "
        f"{timing['detect_embed_1024_one_face_cpu_ms']:.1f} | |",
        f"| dlib detect+embed, astronaut 512x512 (upsampled once) | "
        f"{timing['detect_embed_512_astronaut_ms']:.1f} | |",
        f"| dlib detect+embed, t1.jpg 1280x886, six faces | {timing['detect_embed_t1_six_faces_ms']:.1f} | |",
        f"| open_nsfw, 512x512, one image per call | {timing['nsfw_512_ms']:.1f} | 40 |",
        f"| open_nsfw, 1024x1024, one image per call | {timing['nsfw_1024_ms']:.1f} | 40 |",
        f"| open_nsfw, 512x512, CPU time over 2 threads | {timing['nsfw_512_cpu_ms']:.1f} | |",
        f"| open_nsfw, 1024x1024, CPU time over 2 threads | {timing['nsfw_1024_cpu_ms']:.1f} | |",
        f"| open_nsfw, 512x512, per image in a batch of 8 | {timing['nsfw_512_batch8_per_image_ms']:.1f} | |",
        f"| open_nsfw, 1024x1024, per image in a batch of 8 | "
        f"{timing['nsfw_1024_batch8_per_image_ms']:.1f} | |",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args(argv)

    machine = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
    }
    faces_backend = DlibBackend()
    nsfw_backend = OpenNsfwOnnx(threads=2)
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine, "repeats": args.repeats}
    results["faces"] = evaluate_faces(faces_backend)
    results["lfw"] = evaluate_lfw(faces_backend)
    results["timing"] = {**time_faces(faces_backend, args.repeats), **time_nsfw(nsfw_backend, args.repeats)}
    results["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    results["seconds"] = round(time.perf_counter() - started, 1)

    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / "checks.json", (json.dumps(results, indent=2) + "\n").encode())
    write_atomic(args.out / "checks.md", render(results).encode())
    print(render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
