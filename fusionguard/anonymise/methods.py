"""Ways to make one face unrecognisable: ``blur``, ``pixelate`` and ``synthetic``.

Each method takes the whole RGB image and one face box and returns a new image; only pixels near
that face change. What changed is found afterwards by comparing pixels, so the sealed original (see
:mod:`fusionguard.anonymise.sealing`) always covers every changed pixel and recovery is exact.

``synthetic`` replaces the identity but keeps the scene plausible: a donor face — the average of two
public-domain portraits aligned on their 68 landmarks (NASA's Eileen Collins from scikit-image, the
US Navy's Grace Hopper from matplotlib) — is warped onto the bystander's landmarks, colour-matched
and blended in with the demo swap's machinery, so pose, skin tone and lighting follow the original
face while the features are the donor's.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

import cv2
import numpy as np

from fusionguard.errors import ModelUnavailable

Box = tuple[int, int, int, int]
Method = Callable[[np.ndarray, Box], np.ndarray]


def expand(box: Box, shape: tuple[int, ...], factor: float) -> Box:
    """``box`` grown by ``factor`` of its size on every side, clipped to the image."""
    left, top, right, bottom = box
    grow_x, grow_y = round((right - left) * factor), round((bottom - top) * factor)
    height, width = shape[:2]
    return (
        max(0, left - grow_x),
        max(0, top - grow_y),
        min(width, right + grow_x),
        min(height, bottom + grow_y),
    )


def blur(rgb: np.ndarray, box: Box) -> np.ndarray:
    """A strong Gaussian blur over the face and a margin around it (hair line, ears, chin)."""
    left, top, right, bottom = expand(box, rgb.shape, 0.15)
    result = rgb.copy()
    window = result[top:bottom, left:right]
    height, width = window.shape[:2]
    # A Gaussian of sigma = face width / 8, computed at a quarter of the size (the result is smooth at
    # that scale anyway), so a large face costs as little as a small one.
    small = cv2.resize(window, (max(1, width // 4), max(1, height // 4)), interpolation=cv2.INTER_AREA)
    sigma = max(0.5, (right - left) / 32.0)
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE)
    result[top:bottom, left:right] = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    return result


def pixelate(rgb: np.ndarray, box: Box, blocks: int = 8) -> np.ndarray:
    """Average the face (with a margin) into ``blocks`` cells across: eyes and mouth lose their shape."""
    left, top, right, bottom = expand(box, rgb.shape, 0.15)
    result = rgb.copy()
    window = result[top:bottom, left:right]
    height, width = window.shape[:2]
    across = max(1, min(blocks, width))
    down = max(1, min(height, round(blocks * height / max(width, 1))))
    small = cv2.resize(window, (across, down), interpolation=cv2.INTER_AREA)
    result[top:bottom, left:right] = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    return result


def strong_pixelate(rgb: np.ndarray, box: Box) -> np.ndarray:
    """The fallback for a face that another method failed to anonymise: 5 cells across."""
    return pixelate(rgb, box, blocks=5)


_DONOR_LOCK = threading.Lock()


@functools.cache
def donor_faces() -> tuple[np.ndarray, ...]:
    """The synthetic donors: two public-domain portraits and their average on aligned landmarks."""
    from fusionguard.demo.swap import _landmarks  # dlib 68-point landmarks, loaded on first use

    try:
        import matplotlib.cbook
        from PIL import Image
        from skimage import data
    except ImportError:
        raise ModelUnavailable(
            "the synthetic anonymiser's donor portraits ship with scikit-image and matplotlib: "
            "pip install 'fusionguard[demo]', or use anonymise_method blur or pixelate"
        ) from None
    astronaut = np.ascontiguousarray(np.asarray(data.astronaut())[:, :, :3])  # type: ignore[no-untyped-call]
    sample = str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    with Image.open(sample) as handle:
        hopper = np.ascontiguousarray(np.asarray(handle.convert("RGB")))
    with _DONOR_LOCK:
        base_points = _landmarks(astronaut, "donor")
        other_points = _landmarks(hopper, "donor")
    matrix, _ = cv2.estimateAffinePartial2D(other_points, base_points, method=cv2.LMEDS)
    if matrix is None:
        raise ModelUnavailable("could not align the synthetic anonymiser's donor portraits")
    height, width = astronaut.shape[:2]
    aligned = cv2.warpAffine(
        hopper, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    mixed = np.asarray(cv2.addWeighted(astronaut, 0.5, aligned, 0.5, 0.0), dtype=np.uint8)
    donors = (astronaut, hopper, mixed)
    for donor in donors:
        donor.setflags(write=False)
    return donors


def synthetic(rgb: np.ndarray, box: Box, donor: np.ndarray | None = None) -> np.ndarray:
    """Swap a donor face onto this face (the image region around it), keeping pose and lighting.

    ``donor`` defaults to the average donor; the Anonymiser passes the donor farthest from the
    face's identity. Raises ValueError when the face's landmarks cannot be found in its
    neighbourhood; the caller then falls back to pixelation.
    """
    from fusionguard.demo.swap import swap_face

    chosen = donor if donor is not None else donor_faces()[2]
    left, top, right, bottom = expand(box, rgb.shape, 0.6)
    crop = np.ascontiguousarray(rgb[top:bottom, left:right])
    swapped = swap_face(chosen, crop)
    result = rgb.copy()
    result[top:bottom, left:right] = swapped
    return result


METHODS: dict[str, Method] = {"blur": blur, "pixelate": pixelate, "synthetic": synthetic}
