"""C2PA signing cost per released output (fusionguard.provenance.c2pa), embed and sidecar.

Signs a 1024x1024 photo (the astronaut, upscaled) N times with the NOT TRUSTED dev chain and reads it back;
writes bench/results/c2pa.md and .json (with the machine's load average).

    .venv/bin/python bench/c2pa/run.py [--reps 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from fusionguard.media import encode_image
from fusionguard.provenance.c2pa import C2paSigner, RunFacts, make_dev_cert, read_manifest

RESULTS = Path(__file__).resolve().parent.parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=10)
    reps = parser.parse_args().reps
    import cv2
    import skimage.data

    rgb = np.ascontiguousarray(cv2.resize(skimage.data.astronaut(), (1024, 1024)))
    facts = RunFacts("0" * 32, "fusionguard.log/bench", "0" * 16, "m", "1", "mit", True, "bench")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        make_dev_cert(Path(folder))
        for mode in ("embed", "sidecar"):
            signer = C2paSigner.from_dir(Path(folder), mode=mode)
            for fmt in ("png", "jpeg"):
                encoded = encode_image(rgb, fmt)  # type: ignore[arg-type]
                sign, read = [], []
                for _ in range(reps):
                    began = time.perf_counter()
                    data, manifest = signer.sign(encoded, fmt, facts)
                    sign.append(time.perf_counter() - began)
                    began = time.perf_counter()
                    assert read_manifest(data, fmt, manifest) is not None
                    read.append(time.perf_counter() - began)
                rows.append(
                    {
                        "mode": mode,
                        "format": fmt,
                        "bytes": len(encoded),
                        "added_bytes": len(data) - len(encoded) + len(manifest or b""),
                        "sign_ms_median": round(statistics.median(sign) * 1000, 1),
                        "read_ms_median": round(statistics.median(read) * 1000, 1),
                    }
                )
    load = os.getloadavg()[0]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "c2pa.json").write_text(
        json.dumps({"reps": reps, "load1": load, "rows": rows}, indent=2) + "\n"
    )
    lines = [
        f"# C2PA signing per output (1024x1024, {reps} reps, load average {load:.1f})",
        "",
        "| mode | format | image bytes | added bytes | sign ms (median) | read ms (median) |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['mode']} | {r['format']} | {r['bytes']} | {r['added_bytes']} | {r['sign_ms_median']} | "
        f"{r['read_ms_median']} |"
        for r in rows
    ]
    (RESULTS / "c2pa.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
