"""Perceptual masking: where the watermark may be stronger or must be weaker.

The eye tolerates more added texture where the picture is already busy (contrast masking) and
less in flat areas such as skies and skin. The gain map is therefore an increasing, compressive
function of the local activity (local RMS of the high-pass residual):
``(activity + FLOOR) ** GAMMA``.
``FLOOR`` keeps some watermark in flat areas (the detector needs it there, and JPEG leaves flat
8x8 blocks with little else); ``GAMMA < 1`` stops edges from taking all the energy, which would make
halos and would put the mark where the detector's noise is largest. The map is later scaled so that
the total energy meets the PSNR budget, so only its shape matters here.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

FLOOR = 3.0
GAMMA = 0.5

FloatArray = npt.NDArray[np.float32]


def luminance(image: npt.NDArray[np.uint8]) -> FloatArray:
    """ITU-R BT.601 luma of an RGB image (or the image itself when grayscale), as float32."""
    if image.ndim == 2:
        return image.astype(np.float32)
    rgb = image.astype(np.float32)
    return np.asarray(0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2], np.float32)


def gain_map(luma: FloatArray) -> FloatArray:
    """Per-pixel embedding gain with mean square 1."""
    residual = luma - cv2.GaussianBlur(luma, (0, 0), 1.5)
    activity = np.sqrt(cv2.GaussianBlur(residual * residual, (0, 0), 4.0))
    gain = np.sqrt(activity + FLOOR) if GAMMA == 0.5 else (activity + FLOOR) ** GAMMA
    # Near black and near white the added signal is clipped away or very visible: taper it.
    headroom = np.clip(np.minimum(luma, 255.0 - luma) / 24.0, 0.25, 1.0)
    gain *= headroom
    gain /= np.sqrt(np.mean(gain * gain)) + 1e-12
    return np.asarray(gain, dtype=np.float32)
