"""Security of the watermark against a key-less attacker: removal by folding and averaging, the
copy attack (raw codec and ``Tracer.trace``), collusion. Issue 10, part B.

Run: ``.venv/bin/python bench/watermark/security.py [--full]``. Writes
``bench/results/watermark_security.md`` and ``.json``. The attacks are in tests/watermark/attacks.py
(written from the public algorithm only; see its docstring).

Images: natural photos from scikit-image, matplotlib's sample data and tests/testdata.py (faces,
a group photo, textures, text, night sky, microscopy, a cat, a coffee cup ...), centre-cropped to a
square at native resolution when they are big enough, otherwise enlarged (counted as *upscaled*) or
reduced to the size. Before any attack each image is marked (random 64-bit payload) and must read
back unattacked; the ones that do not are reported as *unmarkable* and left out of the rates.

* ``fold``: single-image removal -- the image's own band-passed luma folded modulo the tile period
  its size implies, subtracted at strengths 0.5 / 0.75 / 0.9 / 1 / 1.25. An image counts as *still read* when
  the payload reads after every variant that kept PSNR >= 40 dB to the marked image.
* ``average N``: the tile estimated from N outputs of *other* images (random crops and flips of the
  pool, each with its own random payload), subtracted from the test images (strength 1 and 1.5).
* ``copy``: the residual of a JPEG-75 copy of one marked output (marked minus Gaussian blur,
  sigma 2) and its folded estimate at the embedding strength, added to innocent photos (random
  crops and flips of the other photos, never of the same scene or person: the obama* photos are
  one family). Raw codec: how often ``detect`` reports the source's payload;
  trace: the verdicts of ``Tracer.trace`` on a real signed SQLite log holding the sources' records
  with their content fingerprints (as the Guard records them).
* ``collusion k``: k copies of one image marked with different payloads, averaged or mosaicked
  (32-px blocks from random copies); any payload other than the k embedded ones is a failure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fusionguard.audit.keys import KeyRing  # noqa: E402
from fusionguard.audit.log import AuditLog  # noqa: E402
from fusionguard.audit.record import AuditRecord, ModelInfo, OutputRef, PolicyRef  # noqa: E402
from fusionguard.content_fingerprint import ContentFingerprint  # noqa: E402
from fusionguard.media import encode_image, load_image  # noqa: E402
from fusionguard.store import db  # noqa: E402
from fusionguard.trace import Tracer  # noqa: E402
from fusionguard.trace_index import save_fingerprint  # noqa: E402
from fusionguard.watermark import WatermarkCodec  # noqa: E402
from tests import testdata  # noqa: E402
from tests.watermark import attacks  # noqa: E402

Image8 = npt.NDArray[np.uint8]
RESULTS = ROOT / "bench" / "results"
KEY = b"fusionguard-security-bench-key-01"
FOLD_STRENGTHS = (0.5, 0.75, 0.9, 1.0, 1.25)
AVERAGE_STRENGTHS = (1.0, 1.5)
PSNR_FLOOR = 40.0


def _rgb(image: npt.NDArray[Any]) -> Image8:
    image = image[0] if isinstance(image, tuple) else image
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3].astype(np.uint8))


def raw_photos() -> dict[str, Image8]:
    """Every natural photo available offline, at its native size."""
    from skimage import data

    photos: dict[str, Image8] = {}
    for name in (
        "astronaut", "immunohistochemistry", "grass", "brick", "gravel", "camera", "moon", "cell",
        "hubble_deep_field", "retina", "coffee", "chelsea", "rocket", "coins", "clock",
        "stereo_motorcycle", "page", "text",
    ):  # fmt: skip
        photos[name] = _rgb(getattr(data, name)())
    photos["grace_hopper"] = testdata.grace_hopper()
    for name, path in testdata.obama_photos().items():
        photos[name] = load_image(path.read_bytes()).rgb
    photos["biden"] = load_image(testdata.biden().read_bytes()).rgb
    photos["group_t1"] = load_image(testdata.insightface_t1().read_bytes()).rgb
    for path in testdata.mask_images():
        if min(load_image(path.read_bytes()).rgb.shape[:2]) >= 300:
            photos[path.stem] = load_image(path.read_bytes()).rgb
    return photos


def square(image: Image8, size: int, frac_y: float = 0.5, frac_x: float = 0.5) -> tuple[Image8, bool]:
    """A size x size square: a crop at native resolution, or the whole short side resized.

    Returns the square and whether it was enlarged (upscaled)."""
    h, w = image.shape[:2]
    short = min(h, w)
    side = size if size <= short <= 1.5 * size else short
    top, left = round((h - side) * frac_y), round((w - side) * frac_x)
    crop = np.ascontiguousarray(image[top : top + side, left : left + side])
    if side == size:
        return crop, False
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(crop, (size, size), interpolation=interp), np.uint8), side < size


def pool(photos: dict[str, Image8], size: int, limit: int) -> list[tuple[str, Image8, bool]]:
    """Test images of one size: one square per photo (two from the tall/wide big ones at 1024)."""
    out = []
    for name, image in photos.items():
        if size >= 1024 and min(image.shape[:2]) < 600:
            continue  # too small to be a fair 1024 image (more than 1.7x enlargement)
        if size >= 1024 and max(image.shape[:2]) >= 1.8 * min(image.shape[:2]):
            for frac, tag in ((0.2, "a"), (0.8, "b")):
                picked, up = square(image, size, frac, frac)
                out.append((f"{name}-{tag}", picked, up))
            continue
        picked, up = square(image, size)
        out.append((name, picked, up))
    return out[:limit]


def family(name: str) -> str:
    """Photos of one scene or person ("obama", "obama2", "obama_partial_face", "biden-a" ...)."""
    return name.split("-")[0].split("_")[0].rstrip("0123456789")


def random_crop(photo: Image8, size: int, rng: np.random.Generator) -> Image8:
    """A random square crop (50-100 % of the short side), randomly flipped, resized to size."""
    h, w = photo.shape[:2]
    side = int(min(h, w) * rng.uniform(0.5, 1.0))
    top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = photo[top : top + side, left : left + side]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=interp), np.uint8)


def jpeg(rgb: Image8, quality: int) -> Image8:
    return load_image(encode_image(np.ascontiguousarray(rgb), "jpeg", quality)).rgb


def reads(codec: WatermarkCodec, image: Image8, payload: int) -> bool:
    found = codec.detect(image)
    return found is not None and found.payload == payload


def rate(hits: int, total: int) -> str:
    return f"{hits}/{total} ({100 * hits / total:.0f} %)" if total else "n/a"


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.codec = WatermarkCodec(KEY)
        self.rng = np.random.default_rng(10)
        self.photos = raw_photos()
        self.rows: list[dict[str, Any]] = []
        self.sizes: dict[str, Any] = {}
        self.timings: dict[str, float] = {}

    def timed(self, label: str, fn: Callable[[], None]) -> None:
        start = time.perf_counter()
        fn()
        self.timings[label] = round(time.perf_counter() - start, 1)
        print(f"{label}: {self.timings[label]} s", flush=True)

    def row(self, attack: str, size: int, images: int, still: int, psnrs: list[float], **extra: Any) -> None:
        row = {
            "attack": attack,
            "size": size,
            "images": images,
            "still_read": still,
            "read_rate": round(still / images, 3) if images else None,
            "psnr_to_marked_db": round(statistics.mean(psnrs), 2) if psnrs else None,
            **extra,
        }
        self.rows.append(row)
        print(json.dumps(row), flush=True)

    def mark(self, size: int, limit: int) -> list[tuple[str, Image8, Image8, int]]:
        marked: list[tuple[str, Image8, Image8, int]] = []
        unmarkable: list[tuple[str, Image8, Image8, int]] = []
        images = pool(self.photos, size, limit)
        embed_ms, detect_ms, quality = [], [], []
        for name, image, _up in images:
            payload = secrets.randbits(64)
            t = time.perf_counter()
            out = self.codec.embed(image, payload)
            embed_ms.append(1000 * (time.perf_counter() - t))
            t = time.perf_counter()
            ok = reads(self.codec, out, payload)
            detect_ms.append(1000 * (time.perf_counter() - t))
            quality.append(attacks.psnr(out, image))
            (marked if ok else unmarkable).append((name, image, out, payload))
        self.sizes[str(size)] = {
            "images": len(images),
            "upscaled": sum(up for *_, up in images),
            "names": [name for name, *_ in images],
            "unmarkable": [name for name, *_ in unmarkable],
            "psnr_marked_db": round(statistics.mean(quality), 2),
            "embed_ms_median": round(statistics.median(embed_ms), 1),
            "detect_ms_median": round(statistics.median(detect_ms), 1),
        }
        return marked

    # -- removal ---------------------------------------------------------------------------------

    def fold(self, size: int, marked: list[tuple[str, Image8, Image8, int]]) -> None:
        per_strength: dict[float, list[tuple[bool, float, float]]] = {s: [] for s in FOLD_STRENGTHS}
        survived = 0
        for _name, original, out, payload in marked:
            tile = attacks.fold_estimate([out])
            alive = True
            for strength in FOLD_STRENGTHS:
                cleaned = attacks.subtract(out, tile, strength)
                ok = reads(self.codec, cleaned, payload)
                quality = attacks.psnr(cleaned, out)
                per_strength[strength].append((ok, quality, attacks.psnr(cleaned, original)))
                if quality >= PSNR_FLOOR and not ok:
                    alive = False
            survived += alive
        for strength, results in per_strength.items():
            self.row(
                f"fold, strength {strength}",
                size,
                len(results),
                sum(ok for ok, _, _ in results),
                [q for _, q, _ in results],
                psnr_to_original_db=round(statistics.mean(o for *_, o in results), 2),
            )
        self.row(f"fold, any strength at >= {PSNR_FLOOR:.0f} dB", size, len(marked), survived, [])

    def average(self, size: int, marked: list[tuple[str, Image8, Image8, int]], counts: list[int]) -> None:
        names = list(self.photos)
        acc = attacks.FoldAccumulator.empty(self.codec_period(size))
        for n in sorted(counts):
            while acc.images < n:
                photo = self.photos[names[int(self.rng.integers(len(names)))]]
                acc.add(self.codec.embed(random_crop(photo, size, self.rng), secrets.randbits(64)))
            tile = acc.tile()
            for strength in AVERAGE_STRENGTHS:
                results = []
                for _name, _original, out, payload in marked[: self.args.average_tests]:
                    cleaned = attacks.subtract(out, tile, strength)
                    results.append((reads(self.codec, cleaned, payload), attacks.psnr(cleaned, out)))
                self.row(
                    f"average N={n}, strength {strength}",
                    size,
                    len(results),
                    sum(ok for ok, _ in results),
                    [q for _, q in results],
                )

    @staticmethod
    def codec_period(size: int) -> int:
        from fusionguard.watermark.codec import embed_period

        return embed_period(size, size)

    # -- copy attack -----------------------------------------------------------------------------

    def copy(self, size: int, marked: list[tuple[str, Image8, Image8, int]], innocents: int) -> None:
        work = Path(tempfile.mkdtemp(prefix="fg-bench-security-"))
        try:
            ring = KeyRing.create(work / "keys", now=datetime.now(UTC))
            url = f"sqlite:///{work / 'audit.db'}"
            db.upgrade(db.open_engine(url))
            log = AuditLog.open(url, ring)
            sources = marked[: self.args.copy_sources]
            for _name, _original, out, payload in sources:
                fingerprint = ContentFingerprint.compute(out)
                blob = fingerprint.to_bytes()
                record = AuditRecord(
                    kind="run",
                    decision="allowed",
                    timestamp=datetime.now(UTC),
                    actor="bench",
                    model=ModelInfo("bench", "1", "apache-2.0"),
                    policy=PolicyRef("default", "0" * 64),
                    output=OutputRef(
                        secrets.token_hex(32),
                        f"{payload:016x}",
                        fingerprint.pdq.hex(),
                        fingerprint.pdq.quality,
                        hashlib.sha256(blob).hexdigest(),
                    ),
                )
                save_fingerprint(log.engine, record.record_id, blob)
                log.append(record)
            tracer = Tracer(log, self.codec)
            for variant, forge in (("residual", attacks.residual_copy), ("folded", attacks.folded_copy)):
                raw = 0
                verdicts: Counter[str] = Counter()
                psnrs = []
                forged_verified: list[str] = []
                for i in range(innocents):
                    source_name, _original, out, payload = sources[i % len(sources)]
                    others = [n for n in self.photos if family(n) != family(source_name)]
                    cover_name = others[int(self.rng.integers(len(others)))]
                    innocent = random_crop(self.photos[cover_name], size, self.rng)
                    forged = forge(jpeg(out, 75), innocent)
                    psnrs.append(attacks.psnr(forged, innocent))
                    raw += reads(self.codec, forged, payload)
                    verdict = str(tracer.trace(forged, "forged").verdict)
                    verdicts[verdict] += 1
                    if verdict == "verified":  # a forged image must never be: say which, to debug
                        forged_verified.append(f"{source_name} onto a crop of {cover_name}")
                self.row(
                    f"copy ({variant}) onto innocent photos",
                    size,
                    innocents,
                    raw,
                    [],
                    psnr_to_innocent_db=round(statistics.mean(psnrs), 2),
                    sources=len(sources),
                    trace_verdicts=dict(verdicts),
                    trace_verified=verdicts["verified"],
                    verified_forgeries=forged_verified,
                )
        finally:
            shutil.rmtree(work, ignore_errors=True)

    # -- collusion -------------------------------------------------------------------------------

    def collusion(self, size: int, marked: list[tuple[str, Image8, Image8, int]], ks: list[int]) -> None:
        for k in ks:
            for how in ("average", "mosaic"):
                outcome: Counter[str] = Counter()
                for _name, original, _out, _payload in marked[: self.args.collusion_images]:
                    payloads = [secrets.randbits(64) for _ in range(k)]
                    copies = [self.codec.embed(original, p) for p in payloads]
                    if how == "average":
                        merged = attacks.collude_average(copies)
                    else:
                        merged = attacks.collude_mosaic(copies, self.rng)
                    found = self.codec.detect(merged)
                    if found is None:
                        outcome["none"] += 1
                    elif found.payload in payloads:
                        outcome["an embedded payload"] += 1
                    else:
                        outcome["FOREIGN payload"] += 1
                total = sum(outcome.values())
                self.row(
                    f"collusion k={k} ({how})",
                    size,
                    total,
                    outcome["an embedded payload"],
                    [],
                    outcomes=dict(outcome),
                    foreign=outcome["FOREIGN payload"],
                )


def null_check(bench: Bench, unmarked: int, other_keys: int) -> dict[str, Any]:
    """False alarms of this key's detector on unmarked photos and on photos marked under other keys.

    Images: random crops (50-100 % of the short side, flipped at random) of the pool photos,
    resized to 512 (one in five to 1024); marked ones under a fresh random key each. Counts
    detections at 1e-10 (must be 0) and checks the aperiodic (identity) hypothesis's check-bit
    mismatches ``d`` against Binomial(48, 1/2) (mean 24, variance 12; KS test of the randomised
    probability-integral transform).
    """
    from scipy import stats

    from fusionguard.watermark import FALSE_ALARM_THRESHOLD
    from fusionguard.watermark.geometry import whiten
    from fusionguard.watermark.masking import luminance

    names = list(bench.photos)
    out: dict[str, Any] = {}
    for label, count, foreign in (("unmarked", unmarked, False), ("other_keys", other_keys, True)):
        detections, identity_d = 0, []
        for i in range(count):
            size = 1024 if i % 5 == 0 else 512
            photo = bench.photos[names[int(bench.rng.integers(len(names)))]]
            image = random_crop(photo, size, bench.rng)
            if foreign:
                image = WatermarkCodec(secrets.token_bytes(32)).embed(image, secrets.randbits(64))
            hypotheses = bench.codec._hypotheses(image)
            detections += any(h.false_alarm_probability <= FALSE_ALARM_THRESHOLD for h in hypotheses)
            if hasattr(bench.codec, "_identity"):  # the aperiodic hypothesis alone (sizes <= 1600)
                white = whiten(luminance(image))
                identity = bench.codec._identity(white, size, size, 1)
                if identity is not None:
                    identity_d.append(identity.check_errors)
        d = np.array(identity_d)
        u = stats.binom.cdf(d - 1, 48, 0.5) + bench.rng.random(len(d)) * stats.binom.pmf(d, 48, 0.5)
        out[label] = {
            "images": count,
            "detections": detections,
            "identity_hypotheses": len(d),
            "identity_d_mean": round(float(d.mean()), 2) if len(d) else None,
            "identity_d_var": round(float(d.var()), 2) if len(d) else None,
            "identity_d_min": int(d.min()) if len(d) else None,
            "identity_ks_pvalue": round(float(stats.kstest(u, "uniform").pvalue), 3) if len(d) else None,
        }
        print(label, json.dumps(out[label]), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="N=200 averaging and more images")
    parser.add_argument("--sizes", default="512,1024")
    parser.add_argument("--limit", type=int, default=40, help="images per size at most")
    parser.add_argument("--average", default="10,50", help="N values of the averaging attack")
    parser.add_argument("--average-tests", type=int, default=12)
    parser.add_argument("--innocents", default="100,20", help="innocent photos per size")
    parser.add_argument("--copy-sources", type=int, default=5)
    parser.add_argument("--collusion", default="2,4,8")
    parser.add_argument("--collusion-images", type=int, default=6)
    parser.add_argument("--null", default="0,0", help="unmarked, other-key images for the null check")
    parser.add_argument("--out", default="watermark_security")
    args = parser.parse_args()
    if args.full:
        args.average, args.average_tests, args.collusion_images = "10,50,200", 40, 20
        args.innocents, args.null = "100,100", "1000,2000"
    load_before = os.getloadavg()
    bench = Bench(args)
    sizes = [int(s) for s in args.sizes.split(",")]
    innocents = dict(zip(sizes, [int(n) for n in args.innocents.split(",")], strict=False))
    started = time.perf_counter()
    for size in sizes:
        marked = bench.mark(size, args.limit)
        counts = [int(n) for n in args.average.split(",")]
        ks = [int(k) for k in args.collusion.split(",")]
        steps: list[tuple[str, Callable[[], None]]] = [
            ("fold", partial(bench.fold, size, marked)),
            ("average", partial(bench.average, size, marked, counts)),
            ("copy", partial(bench.copy, size, marked, innocents.get(size, 20))),
            ("collusion", partial(bench.collusion, size, marked, ks)),
        ]
        for label, step in steps:
            bench.timed(f"{label} {size}", step)
    null_counts = [int(n) for n in args.null.split(",")]
    null = null_check(bench, *null_counts) if any(null_counts) else {}
    results = {
        "null": null,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), "
        f"Python {platform.python_version()}",
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "date": datetime.now(UTC).isoformat(),
        "mode": "full" if args.full else "default",
        "seconds": round(time.perf_counter() - started, 1),
        "timings_s": bench.timings,
        "sizes": bench.sizes,
        "rows": bench.rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / f"{args.out}.md").write_text(render(results))
    print(f"wrote {RESULTS / args.out}.md/json in {results['seconds']} s")


def render(results: dict[str, Any]) -> str:
    lines = [
        "# Watermark security: removal, copy and collusion by a key-less attacker",
        "",
        f"{results['machine']}; load average {results['load_average_before']} before, "
        f"{results['load_average_after']} after; {results['date']}; mode {results['mode']}; "
        f"{results['seconds']} s in all. Attacks: tests/watermark/attacks.py; method: the docstring "
        "of bench/watermark/security.py.",
        "",
        "| size | photos | upscaled | unmarkable | PSNR marked | embed ms | detect ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, info in results["sizes"].items():
        lines.append(
            f"| {size}² | {info['images']} | {info['upscaled']} | {len(info['unmarkable'])} "
            f"{', '.join(info['unmarkable'])} | {info['psnr_marked_db']} dB | {info['embed_ms_median']} | "
            f"{info['detect_ms_median']} |"
        )
    lines += [
        "",
        "Photos per size: "
        + "; ".join(f"{s}²: {', '.join(i['names'])}" for s, i in results["sizes"].items()),
        "",
        "| attack | size | images | mark still read (copy: raw codec reads the source payload) | "
        "PSNR to marked | other |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        extra = {
            k: v
            for k, v in row.items()
            if k not in ("attack", "size", "images", "still_read", "read_rate", "psnr_to_marked_db")
        }
        psnr_text = f"{row['psnr_to_marked_db']} dB" if row["psnr_to_marked_db"] is not None else ""
        lines.append(
            f"| {row['attack']} | {row['size']}² | {row['images']} "
            f"| {rate(row['still_read'], row['images'])} | {psnr_text} "
            f"| {', '.join(f'{k}: {v}' for k, v in extra.items())} |"
        )
    for label, info in results.get("null", {}).items():
        lines.append(f"Null check, {label}: " + ", ".join(f"{k} {v}" for k, v in info.items()) + ".")
    lines += ["", "Timings (s): " + ", ".join(f"{k} {v}" for k, v in results["timings_s"].items()), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
