"""The demo's classical face swap on two real public-domain photos, with dlib's own models.

Grace Hopper (matplotlib's sample data, US Navy) and the astronaut Eileen Collins (skimage.data,
NASA) swap faces both ways. Identity is judged with dlib's 128-D ResNet embedding, loaded here
directly so the test does not depend on the rest of fusionguard.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import dlib
import face_recognition_models
import numpy as np
import pytest

from fusionguard.demo.swap import process_image, swap_face

skimage_data = pytest.importorskip("skimage.data")
cbook = pytest.importorskip("matplotlib.cbook")


def _astronaut() -> np.ndarray:
    return np.ascontiguousarray(skimage_data.astronaut())


def _grace_hopper() -> np.ndarray:
    with cbook.get_sample_data("grace_hopper.jpg") as file:  # an open binary file, not a path
        encoded = np.frombuffer(file.read(), dtype=np.uint8)
    bgr = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    assert bgr is not None
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


class _Identity:
    """dlib's detector, 68-point predictor and face embedding, for judging the swaps."""

    def __init__(self) -> None:
        self.detector: Any = dlib.get_frontal_face_detector()
        self.predictor: Any = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
        self.encoder: Any = dlib.face_recognition_model_v1(
            face_recognition_models.face_recognition_model_location()
        )

    def box(self, rgb: np.ndarray) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) of the largest face, clipped to the image."""
        rect = max(self.detector(rgb, 1), key=lambda r: r.area())
        height, width = rgb.shape[:2]
        return (
            max(rect.top(), 0),
            min(rect.bottom(), height),
            max(rect.left(), 0),
            min(rect.right(), width),
        )

    def embed(self, rgb: np.ndarray) -> np.ndarray:
        rect = max(self.detector(rgb, 1), key=lambda r: r.area())
        return np.array(self.encoder.compute_face_descriptor(rgb, self.predictor(rgb, rect)))


PAIRS = [("grace_hopper", "astronaut"), ("astronaut", "grace_hopper")]


@pytest.fixture(scope="module")
def identity() -> _Identity:
    return _Identity()


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    return {"astronaut": _astronaut(), "grace_hopper": _grace_hopper()}


@pytest.fixture(scope="module")
def swaps(photos: dict[str, np.ndarray]) -> dict[tuple[str, str], np.ndarray]:
    """(source, target) -> swapped image, both directions, computed once (~0.3 s)."""
    return {(source, target): swap_face(photos[source], photos[target]) for source, target in PAIRS}


def test_importing_loads_no_model() -> None:
    code = "import fusionguard.demo.swap as s; print(s._models.cache_info().currsize)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "0"


@pytest.mark.slow
@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_output_has_the_targets_shape_and_dtype(
    swaps: dict[tuple[str, str], np.ndarray],
    photos: dict[str, np.ndarray],
    source: str,
    target: str,
) -> None:
    out = swaps[source, target]
    assert out.shape == photos[target].shape
    assert out.dtype == np.uint8


@pytest.mark.slow
@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_the_face_changes_and_the_rest_does_not(
    swaps: dict[tuple[str, str], np.ndarray],
    photos: dict[str, np.ndarray],
    identity: _Identity,
    source: str,
    target: str,
) -> None:
    original = photos[target]
    diff = np.abs(swaps[source, target].astype(np.int16) - original.astype(np.int16))
    top, bottom, left, right = identity.box(original)
    assert diff[top:bottom, left:right].mean() > 10  # measured: 17 and 23

    c = 64  # the four 64x64 corners are well away from either face
    corners = np.concatenate([diff[:c, :c], diff[:c, -c:], diff[-c:, :c], diff[-c:, -c:]])
    assert corners.mean() < 2  # measured: exactly 0


@pytest.mark.slow
@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_the_output_face_is_closer_to_the_source_identity(
    swaps: dict[tuple[str, str], np.ndarray],
    photos: dict[str, np.ndarray],
    identity: _Identity,
    source: str,
    target: str,
) -> None:
    source_embedding = identity.embed(photos[source])
    before = np.linalg.norm(identity.embed(photos[target]) - source_embedding)
    after = np.linalg.norm(identity.embed(swaps[source, target]) - source_embedding)
    # Measured: 0.68 before, 0.47 after, both directions. dlib's usual same-person threshold is
    # 0.6, so the swapped face passes as the source person; demand a clear margin, not just "<".
    assert after < before - 0.1


@pytest.mark.slow
def test_large_images_are_detected_on_a_downscaled_copy(photos: dict[str, np.ndarray]) -> None:
    # 1024x1024 target: detection runs on a 640-pixel copy and the face box is mapped back.
    target = cv2.resize(photos["astronaut"], (1024, 1024), interpolation=cv2.INTER_CUBIC)
    out = swap_face(photos["grace_hopper"], target)
    assert out.shape == target.shape
    diff = np.abs(out.astype(np.int16) - target.astype(np.int16))
    assert diff[:128, :128].mean() < 2
    assert diff.mean() > 0.5  # the face, a few percent of the image, changed


@pytest.mark.slow
def test_missing_faces_raise_value_error(photos: dict[str, np.ndarray]) -> None:
    blank = np.full((256, 256, 3), 128, dtype=np.uint8)
    with pytest.raises(ValueError, match="no face found in the source image"):
        swap_face(blank, photos["astronaut"])
    with pytest.raises(ValueError, match="no face found in the target image"):
        swap_face(photos["astronaut"], blank)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((64, 64), dtype=np.uint8), np.zeros((64, 64, 4), dtype=np.uint8), np.zeros((64, 64, 3))],
    ids=["grey", "rgba", "float"],
)
def test_non_rgb_uint8_input_is_rejected(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="source image must be"):
        swap_face(bad, bad)


@pytest.mark.slow
def test_process_image_writes_a_readable_swap(
    tmp_path: Path, photos: dict[str, np.ndarray], swaps: dict[tuple[str, str], np.ndarray]
) -> None:
    source_path, target_path = tmp_path / "grace.png", tmp_path / "astronaut.png"
    # PNG so the round trip is lossless and the file output can be compared to swap_face's.
    cv2.imwrite(str(source_path), cv2.cvtColor(photos["grace_hopper"], cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(target_path), cv2.cvtColor(photos["astronaut"], cv2.COLOR_RGB2BGR))
    output = str(tmp_path / "out.png")

    assert process_image([str(source_path)], str(target_path), output) == output
    written = cv2.imread(output, cv2.IMREAD_COLOR)
    assert written is not None
    assert np.array_equal(cv2.cvtColor(written, cv2.COLOR_BGR2RGB), swaps["grace_hopper", "astronaut"])


def test_process_image_rejects_unreadable_and_empty_inputs(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="could not read the source image"):
        process_image([missing], missing, str(tmp_path / "out.png"))
    with pytest.raises(ValueError, match="no source image given"):
        process_image([], missing, str(tmp_path / "out.png"))
