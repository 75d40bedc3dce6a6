"""The edits of issue 10's robustness additions that the codec reads, at a small scale, on real
photos: aspect-ratio changes (general lattices), a perspective warp and a collage (the half-size
windows). bench/watermark/robustness.py measures every addition on 37 photos at 512² and 1024²."""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from skimage import data

from fusionguard.watermark import FALSE_ALARM_THRESHOLD, WatermarkCodec
from fusionguard.watermark.codec import IMAGE_HYPOTHESES
from fusionguard.watermark.geometry import _reduce, _same
from tests import testdata
from tests.watermark.test_watermark import square

KEY = b"fusionguard-robustness-test-key-1"
PAYLOAD = 0x0DD5_EED5_2026_1203
Image8 = npt.NDArray[np.uint8]


@pytest.fixture(scope="module")
def codec() -> WatermarkCodec:
    return WatermarkCodec(KEY)


@pytest.fixture(scope="module")
def photos() -> dict[str, Image8]:
    return {
        "astronaut": square(np.asarray(data.astronaut()), 512),
        "coffee": square(np.asarray(data.coffee()), 512),
        "grace_hopper": square(testdata.grace_hopper(), 512),
    }


def reads(codec: WatermarkCodec, image: Image8) -> bool:
    found = codec.detect(image)
    return (
        found is not None
        and found.payload == PAYLOAD
        and found.false_alarm_probability <= FALSE_ALARM_THRESHOLD
    )


@pytest.mark.parametrize("factor", [1.3, 0.8])
@pytest.mark.parametrize("name", ["astronaut", "coffee", "grace_hopper"])
def test_an_aspect_ratio_change_is_read(
    codec: WatermarkCodec, photos: dict[str, Image8], name: str, factor: float
) -> None:
    """The width alone scaled: the tiles become rectangles, found by pairing autocorrelation peaks."""
    marked = codec.embed(photos[name], PAYLOAD)
    interp = cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA
    stretched = np.asarray(cv2.resize(marked, (round(512 * factor), 512), interpolation=interp), np.uint8)
    found = codec.detect(stretched)
    assert found is not None and found.payload == PAYLOAD
    assert found.tile_period == pytest.approx(64 * math.sqrt(factor), rel=0.02)


def test_a_perspective_warp_is_read(codec: WatermarkCodec, photos: dict[str, Image8]) -> None:
    marked = codec.embed(photos["astronaut"], PAYLOAD)
    corners = np.float32([[0, 0], [512, 0], [512, 512], [0, 512]])
    moved = np.float32([[20, 8], [497, 22], [505, 490], [12, 500]])  # up to 5 % of the side
    warped = cv2.warpPerspective(marked, cv2.getPerspectiveTransform(moved, corners), (512, 512))
    assert reads(codec, np.asarray(warped, np.uint8))


@pytest.mark.parametrize(("top", "left"), [(0, 0), (0, 256), (256, 256)])
def test_a_collage_at_half_scale_is_read(
    codec: WatermarkCodec, photos: dict[str, Image8], top: int, left: int
) -> None:
    """The marked picture at 50 % pasted into another photo: a quarter of the pixels carry the
    mark; the half-size window that covers it reads it. (Pasted across windows, or exactly
    inside the centre one whose every edge is then a paste seam, it is read less often: about
    70 % of random placements, bench/results/watermark_robustness.md.)"""
    marked = codec.embed(photos["astronaut"], PAYLOAD)
    small = cv2.resize(marked, (256, 256), interpolation=cv2.INTER_AREA)
    collage = photos["coffee"].copy()
    collage[top : top + 256, left : left + 256] = small
    assert reads(codec, collage)


def test_a_perfect_read_reports_the_union_bound_over_every_hypothesis(
    codec: WatermarkCodec, photos: dict[str, Image8]
) -> None:
    found = codec.detect(codec.embed(photos["coffee"], PAYLOAD))
    assert found is not None and found.check_errors == 0
    assert IMAGE_HYPOTHESES == 18
    assert found.false_alarm_probability == pytest.approx(IMAGE_HYPOTHESES / 2**48)


def test_unmarked_collages_give_no_detection(codec: WatermarkCodec, photos: dict[str, Image8]) -> None:
    """The windows are searched on every image without a detection; unmarked ones stay unmarked."""
    for name, other in (("astronaut", "coffee"), ("coffee", "grace_hopper"), ("grace_hopper", "astronaut")):
        collage = photos[name].copy()
        collage[100:356, 100:356] = cv2.resize(photos[other], (256, 256), interpolation=cv2.INTER_AREA)
        assert codec.detect(collage) is None
        best = codec.inspect(collage)
        assert best is not None and best.false_alarm_probability > FALSE_ALARM_THRESHOLD


def test_a_sheared_basis_reduces_to_the_tile_layout() -> None:
    """(a, b - a) and (a, b + 2a) span the lattice of (a, b) but fold the tile sheared; the reduced
    basis is the orthogonal one the tile was laid out on."""
    a, b = np.array([83.2, 0.0]), np.array([0.0, 64.0])
    for other in (b - a, b + 2 * a, -b + a):
        reduced = _reduce(np.stack([a, other], axis=1))
        assert _same(reduced, np.stack([a, b], axis=1))
        assert abs(float(reduced[:, 0] @ reduced[:, 1])) < 1e-6
        assert np.linalg.det(reduced) > 0
