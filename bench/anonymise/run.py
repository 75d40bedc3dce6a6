"""Bystander anonymisation: speed per face and identity removal; writes bench/results/anonymise.{md,json}.

Speed, at 1024x1024 (insightface's t1.jpg, six people, cropped square and scaled to 1024):
* ``anonymise``: the method on every face, per face;
* ``verify``: the one scan of the anonymised image that checks every face (detect + embed), per image;
* ``seal``: HPKE-encrypting each face's original region to the recovery key, per face;
* ``recover``: opening and pasting one region, per face.

Identity removal: every real face of the offline test set (t1's six people, three Obama photos,
Biden, the astronaut, Grace Hopper) in five variants (as is, mirrored, scaled 0.8, 30 % brighter, JPEG 75),
so each person is seen at several sizes; for each method, the fraction of faces whose embedding
distance to the original, after anonymisation *and* the fallback, is at least the threshold plus the
margin (or that are no longer detected at all), and how often the fallback was needed.

    .venv/bin/python bench/anonymise/run.py
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from fusionguard.anonymise.anonymiser import Anonymiser  # noqa: E402
from fusionguard.anonymise.methods import METHODS  # noqa: E402
from fusionguard.anonymise.sealing import (  # noqa: E402
    generate_recovery_key,
    load_recovery_private,
    open_region,
    seal_region,
)
from fusionguard.faces import DlibBackend  # noqa: E402
from fusionguard.media import encode_image, load_image  # noqa: E402
from tests import testdata  # noqa: E402

MARGIN = 0.2


def _scene_1024() -> np.ndarray:
    t1 = load_image(testdata.insightface_t1()).rgb
    side = min(t1.shape[:2])
    left = (t1.shape[1] - side) // 2
    square = np.ascontiguousarray(t1[:, left : left + side])
    return np.asarray(cv2.resize(square, (1024, 1024), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)


def _people() -> list[tuple[str, np.ndarray]]:
    import matplotlib.cbook
    import skimage.data

    images = [("t1", load_image(testdata.insightface_t1()).rgb)]
    images += [
        (name, load_image(path).rgb) for name, path in sorted(testdata.obama_full_face_photos().items())
    ]
    images.append(("biden", load_image(testdata.biden()).rgb))
    images.append(("astronaut", np.ascontiguousarray(np.asarray(skimage.data.astronaut())[:, :, :3])))
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        images.append(("hopper", load_image(handle.read()).rgb))
    variants: list[tuple[str, np.ndarray]] = []
    for name, rgb in images:
        variants.append((name, rgb))
        variants.append((f"{name}-mirror", np.ascontiguousarray(rgb[:, ::-1])))
        variants.append((f"{name}-0.8", cv2.resize(rgb, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)))
        variants.append((f"{name}-bright", np.clip(rgb.astype(np.float32) * 1.3, 0, 255).astype(np.uint8)))
        variants.append((f"{name}-jpeg75", load_image(encode_image(rgb, "jpeg", quality=75)).rgb))
    return variants


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def main() -> None:
    faces = DlibBackend(detect_max_side=2048)
    threshold = faces.match_threshold
    scene = _scene_1024()
    found = faces.detect(scene)
    pem, public = generate_recovery_key()
    private = load_recovery_private(pem)
    speed: dict[str, Any] = {"faces_in_scene": len(found)}
    for method in ("blur", "pixelate", "synthetic"):
        anonymiser = Anonymiser(faces, method=method, threshold=threshold, margin=MARGIN)
        anonymiser.apply(scene, found)  # warm-up (donor portraits, model loads)
        per_face, verify, seal, recover = [], [], [], []
        for _ in range(5):
            began = time.perf_counter()
            working = scene
            for face in found:
                working = (
                    anonymiser._apply_one(method, working, face)
                    if method == "synthetic"
                    else (METHODS[method](working, face.box))
                )
            per_face.append((time.perf_counter() - began) / len(found))
            began = time.perf_counter()
            anonymiser._recheck(working, found)
            verify.append(time.perf_counter() - began)
            result = anonymiser.apply(scene, found)
            began = time.perf_counter()
            sealed = [
                seal_region(r.original, public, record_id="ab" * 16, index=i)
                for i, r in enumerate(result.regions)
            ]
            seal.append((time.perf_counter() - began) / len(sealed))
            began = time.perf_counter()
            restored = result.rgb.copy()
            for i, data in enumerate(sealed):
                open_region(data, private, record_id="ab" * 16, index=i).paste(restored)
            recover.append((time.perf_counter() - began) / len(sealed))
        speed[method] = {
            "anonymise_ms_per_face": _ms(statistics.median(per_face)),
            "verify_scan_ms_per_image": _ms(statistics.median(verify)),
            "seal_ms_per_face": _ms(statistics.median(seal)),
            "anonymise_plus_seal_ms_per_face": _ms(statistics.median(per_face) + statistics.median(seal)),
            "recover_ms_per_face": _ms(statistics.median(recover)),
        }

    removal: dict[str, Any] = {}
    people = _people()
    detected = [(name, rgb, faces.detect(rgb)) for name, rgb in people]
    total_faces = sum(len(f) for _, _, f in detected)
    for method in ("blur", "pixelate", "synthetic"):
        anonymiser = Anonymiser(faces, method=method, threshold=threshold, margin=MARGIN)
        first_try_ok = fallback = 0
        for _name, rgb, found_faces in detected:
            if not found_faces:
                continue
            result = anonymiser.apply(rgb, found_faces)
            for region in result.regions:
                fallback += bool(region.info["fallback"])
                first_try_ok += not region.info["fallback"]
        removal[method] = {
            "faces": total_faces,
            "removed_by_method": round(first_try_ok / total_faces, 3),
            "fell_back_to_strong_pixelation": fallback,
            "removed_after_fallback": 1.0,  # apply() raises if any face stays recognisable
        }

    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
        "threshold": threshold,
        "margin": MARGIN,
        "speed_1024": speed,
        "identity_removal": removal,
        "images": [name for name, _ in people],
    }
    out = REPO / "bench" / "results"
    (out / "anonymise.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Bystander anonymisation",
        "",
        f"Machine: {os.cpu_count()} CPUs, load {tuple(round(v, 2) for v in os.getloadavg())} (shared).",
        f"dlib threshold {threshold}, margin {MARGIN} (+0.02 guard band): a face passes at distance >= "
        f"{threshold + MARGIN + 0.02:.2f} or when no longer detected.",
        "",
        f"## Speed at 1024x1024 ({len(found)} faces in the scene), medians of 5",
        "",
        "| method | anonymise / face | seal / face | anonymise + seal / face | verify scan / image "
        "| recover / face |",
        "|---|---|---|---|---|---|",
    ]
    for method in ("blur", "pixelate", "synthetic"):
        s = speed[method]
        lines.append(
            f"| {method} | {s['anonymise_ms_per_face']} ms | {s['seal_ms_per_face']} ms | "
            f"{s['anonymise_plus_seal_ms_per_face']} ms | {s['verify_scan_ms_per_image']} ms | "
            f"{s['recover_ms_per_face']} ms |"
        )
    lines += [
        "",
        f"## Identity removal ({total_faces} detected faces of 10 people: "
        f"{len(people) // 5} photos x 5 variants)",
        "",
        "| method | removed by the method itself | fell back to strong pixelation | removed in the end |",
        "|---|---|---|---|",
    ]
    for method in ("blur", "pixelate", "synthetic"):
        r = removal[method]
        lines.append(
            f"| {method} | {r['removed_by_method']:.1%} | {r['fell_back_to_strong_pixelation']} "
            "| 100 % (verified) |"
        )
    (out / "anonymise.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
