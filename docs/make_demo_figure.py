"""Regenerate docs/demo.jpg from a demo run: source | target | released output | leaked copy.

.venv/bin/fusionguard --home out/demo-home demo --out out/demo
.venv/bin/python docs/make_demo_figure.py out/demo
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from fusionguard.media import encode_image, load_image

HEIGHT = 256


def main(folder: Path) -> None:
    panels = []
    for name in ("grace_hopper.png", "astronaut.png", "swap.png", "leaked.jpg"):
        rgb = load_image(folder / name).rgb
        scale = HEIGHT / rgb.shape[0]
        panels.append(cv2.resize(rgb, (round(rgb.shape[1] * scale), HEIGHT), interpolation=cv2.INTER_AREA))
        panels.append(np.full((HEIGHT, 6, 3), 255, np.uint8))
    strip = np.concatenate(panels[:-1], axis=1)
    out = Path(__file__).with_name("demo.jpg")
    out.write_bytes(encode_image(strip, "jpeg", quality=85))
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
