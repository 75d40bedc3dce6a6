"""A small classical face swap: the "user code" that fusionguard's demo wraps.

It stands in for a real face-swap tool (FaceFusion, roop) so the demo has something honest to
guard. It deliberately imports nothing from the rest of fusionguard: the guard wraps it from the
outside, exactly as it would wrap a third-party pipeline.

The method is the textbook one: dlib HOG detection and 68-point landmarks on both images, a
similarity transform (rotation, uniform scale, translation) from the source's landmarks to the
target's, a mask from the convex hull of the target's face outline, a colour transfer to the
target's skin in LAB, and Poisson blending (``cv2.seamlessClone``). There is no learned model of
identity, so the result keeps the target's face shape and only borrows the source's features.

>>> import numpy as np
>>> from fusionguard.demo.swap import process_image, swap_face
>>> swapped = swap_face(source_rgb, target_rgb)  # doctest: +SKIP
>>> swapped.shape == target_rgb.shape, swapped.dtype == np.uint8  # doctest: +SKIP
(True, True)
>>> process_image(["source.jpg"], "target.jpg", "out.png")  # doctest: +SKIP
'out.png'

dlib's models are loaded once, on first use (about half a second), never at import.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any

import cv2
import dlib
import face_recognition_models
import numpy as np
import numpy.typing as npt

from fusionguard.errors import InvalidArgument

__all__ = ["process_image", "swap_face"]

FloatArray = npt.NDArray[np.float32]
ImageArray = npt.NDArray[np.uint8]

# Indices into dlib's 68-point layout (iBUG 300-W).
_JAW = slice(0, 17)
_BROWS = slice(17, 27)
# Brows, nose, eyes and mouth: the alignment uses these and not the jaw, because the jaw line
# moves with the head's pose and the jaw width differs most between people; the inner points
# are what a similarity transform can actually match.
_INNER = slice(17, 68)

# HOG detection costs grow with pixel count; faces in a portrait stay well above dlib's 80-pixel
# minimum after shrinking the longer side to this, so detect on a copy at most this large.
_DETECT_MAX_SIDE = 640


@dataclass(frozen=True)
class _Models:
    detector: Any  # dlib.fhog_object_detector; dlib ships no type stubs
    predictor: Any  # dlib.shape_predictor


_DLIB_LOCK = threading.Lock()


@functools.cache
def _models() -> _Models:
    """Load dlib's detector and 68-point predictor once per process, on first use."""
    return _Models(
        detector=dlib.get_frontal_face_detector(),
        predictor=dlib.shape_predictor(face_recognition_models.pose_predictor_model_location()),
    )


def _landmarks(rgb: ImageArray, role: str) -> FloatArray:
    """The 68 landmarks of the largest face in ``rgb``, as a (68, 2) float32 array of (x, y).

    Raises ValueError naming ``role`` ("source" or "target") when no face is found.
    """
    with _DLIB_LOCK:  # dlib's detector and predictor abort when two threads use them at once
        return _landmarks_locked(rgb, role)


def _landmarks_locked(rgb: ImageArray, role: str) -> FloatArray:
    models = _models()
    height, width = rgb.shape[:2]
    scale = min(1.0, _DETECT_MAX_SIDE / max(height, width))
    small = rgb if scale == 1.0 else cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = np.ascontiguousarray(small)
    rects = list(models.detector(small, 0))
    if not rects and max(small.shape[:2]) < _DETECT_MAX_SIDE:
        # Upsampling once finds faces down to ~40 px; only worth its 4x cost when the plain pass
        # found nothing in an image that is small to begin with.
        rects = list(models.detector(small, 1))
    if not rects:
        raise InvalidArgument(f"no face found in the {role} image")
    best = max(rects, key=lambda r: r.width() * r.height())
    # Landmarks on the full-resolution image: the rectangle scales back exactly, and the predictor
    # is cheap, so the downscale only costs detection precision, never landmark precision.
    rect = dlib.rectangle(
        round(best.left() / scale),
        round(best.top() / scale),
        round(best.right() / scale),
        round(best.bottom() / scale),
    )
    shape = models.predictor(np.ascontiguousarray(rgb), rect)
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def _hull_mask(points: FloatArray, shape: tuple[int, int]) -> ImageArray:
    mask = np.zeros(shape, dtype=np.uint8)
    hull = cv2.convexHull(np.round(points).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 255)
    return mask


def _face_mask(
    target_points: FloatArray, warped_source_points: FloatArray, shape: tuple[int, int]
) -> ImageArray:
    """Binary mask of where the swapped face goes: jaw and brows of both faces, shrunk a little.

    Intersecting with the warped source's outline keeps the source's background out when the
    source face is narrower than the target's; eroding keeps the seam on skin, not on hair or
    background, where Poisson blending would smear the wrong colours inward.
    """
    outline = np.r_[_JAW, _BROWS]
    mask = _hull_mask(target_points[outline], shape) & _hull_mask(warped_source_points[outline], shape)
    face_size = float(np.ptp(target_points[:, 0]))
    radius = max(1, round(face_size * 0.04))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    mask = np.asarray(cv2.erode(mask, kernel), dtype=np.uint8)
    # seamlessClone misbehaves when the mask touches the image border, so keep a 2-pixel frame.
    mask[:2, :] = 0
    mask[-2:, :] = 0
    mask[:, :2] = 0
    mask[:, -2:] = 0
    return mask


def _match_colour(face: ImageArray, target: ImageArray, mask: ImageArray) -> ImageArray:
    """Shift ``face`` so its LAB mean and spread inside ``mask`` match ``target``'s.

    seamlessClone fixes the boundary colour but not the overall tone inside it, so a pale source on
    a tanned target would otherwise keep a pale nose and cheeks.
    """
    inside = mask > 0
    face_lab = cv2.cvtColor(face, cv2.COLOR_RGB2LAB).astype(np.float32)
    target_lab = cv2.cvtColor(target, cv2.COLOR_RGB2LAB).astype(np.float32)
    face_pixels = face_lab[inside]
    target_pixels = target_lab[inside]
    face_mean, face_std = face_pixels.mean(axis=0), face_pixels.std(axis=0)
    target_mean, target_std = target_pixels.mean(axis=0), target_pixels.std(axis=0)
    # Clamp the gain: lighting contrast differs a lot between photos, and an unbounded ratio turns
    # a flat-lit source into a harsh caricature.
    gain = np.clip(target_std / np.maximum(face_std, 1e-3), 0.5, 2.0)
    matched = (face_lab - face_mean) * gain + target_mean
    rgb = cv2.cvtColor(np.clip(matched, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
    return np.asarray(rgb, dtype=np.uint8)


def _as_rgb(image: np.ndarray, role: str) -> ImageArray:
    if image.ndim != 3 or image.shape[2] != 3:
        raise InvalidArgument(f"the {role} image must be an RGB array of shape (H, W, 3), got {image.shape}")
    if image.dtype != np.uint8:
        raise InvalidArgument(f"the {role} image must be uint8, got {image.dtype}")
    return np.ascontiguousarray(image)


def swap_face(source_rgb: np.ndarray, target_rgb: np.ndarray) -> ImageArray:
    """Put the largest face of ``source_rgb`` onto the largest face of ``target_rgb``.

    Both are RGB uint8 arrays of shape (H, W, 3); the result has the target's shape. Pixels away
    from the target's face are returned unchanged.

    Raises ValueError("no face found in the source image") (or "... target image") when either
    image has no face dlib's HOG detector can find.
    """
    source = _as_rgb(source_rgb, "source")
    target = _as_rgb(target_rgb, "target")
    source_points = _landmarks(source, "source")
    target_points = _landmarks(target, "target")

    matrix, _ = cv2.estimateAffinePartial2D(source_points[_INNER], target_points[_INNER], method=cv2.LMEDS)
    if matrix is None:  # degenerate landmarks; cannot happen with a real 68-point fit
        raise InvalidArgument("could not align the source face to the target face")
    height, width = target.shape[:2]
    # Reflecting the border rather than padding with black: if the warped source does not cover
    # the whole mask, the fill is still face-coloured and never bleeds black into the blend.
    warped = np.asarray(
        cv2.warpAffine(
            source, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        ),
        dtype=np.uint8,
    )
    warped_points = cv2.transform(source_points[None], matrix)[0]

    mask = _face_mask(target_points, warped_points, (height, width))
    if not mask.any():
        raise InvalidArgument("the faces do not overlap after alignment")
    warped = _match_colour(warped, target, mask)

    x, y, w, h = cv2.boundingRect(mask)
    # seamlessClone pastes the mask's bounding box centred on ``center``; centring it on that same
    # box puts every pixel back where it was warped to. (x + w // 2 matches OpenCV's own rounding.)
    center = (x + w // 2, y + h // 2)
    cloned = cv2.seamlessClone(warped, target, mask, center, cv2.NORMAL_CLONE)
    # Poisson blending makes the seam invisible but drags the boundary's colours deep inside the
    # face: dark glasses frames or hair on the mask's edge become dark smudges over the eyes. The
    # colour transfer already fits the tone, so keep the Poisson result only near the edge and fade
    # to the colour-corrected face towards the middle.
    distance = cv2.distanceTransform(mask, cv2.DIST_L2, 5)
    ramp = max(1.0, 0.15 * float(np.ptp(target_points[:, 0])))
    weight = np.clip(distance / ramp, 0.0, 1.0)[..., None]
    blended = weight * warped.astype(np.float32) + (1.0 - weight) * cloned.astype(np.float32)
    result: ImageArray = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return result


def process_image(source_paths: list[str], target_path: str, output_path: str) -> str:
    """FaceFusion/roop-style path API: swap the first source's face into the target, write it.

    Reads with OpenCV, so any format it reads works; the output format follows ``output_path``'s
    extension. Returns ``output_path``. Raises ValueError for an unreadable image or no face, and
    OSError when the output cannot be written.
    """
    if not source_paths:
        raise InvalidArgument("no source image given")
    source = _read_rgb(source_paths[0], "source")
    target = _read_rgb(target_path, "target")
    swapped = swap_face(source, target)
    if not cv2.imwrite(output_path, cv2.cvtColor(swapped, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {output_path}")
    return output_path


def _read_rgb(path: str, role: str) -> ImageArray:
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise InvalidArgument(f"could not read the {role} image {path!r}")
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
