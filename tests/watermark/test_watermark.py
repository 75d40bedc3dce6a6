"""Tests of the keyed robust watermark: round trips, attacks, null behaviour and input checking."""

from __future__ import annotations

import dataclasses
import io

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageEnhance
from skimage import data

from fusionguard.errors import BadInput, WatermarkError
from fusionguard.watermark import FALSE_ALARM_THRESHOLD, Detection, WatermarkCodec

KEY = b"fusionguard-test-key-0123456789"
PAYLOAD = 0xF00D_CAFE_1234_5678
Image8 = npt.NDArray[np.uint8]


def square(image: Image8, size: int) -> Image8:
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = np.ascontiguousarray(image[top : top + side, left : left + side])
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(crop, (size, size), interpolation=interp), dtype=np.uint8)


def jpeg(image: Image8, quality: int) -> Image8:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    return np.array(Image.open(buffer))


def psnr(a: Image8, b: Image8) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return 10 * np.log10(255.0**2 / mse)


@pytest.fixture(scope="module")
def codec() -> WatermarkCodec:
    return WatermarkCodec(KEY)


@pytest.fixture(scope="module")
def astronaut() -> Image8:
    return square(data.astronaut(), 512)


@pytest.fixture(scope="module")
def marked(codec: WatermarkCodec, astronaut: Image8) -> Image8:
    return codec.embed(astronaut, PAYLOAD)


@pytest.mark.parametrize(
    "name, size",
    [("astronaut", 512), ("coffee", 512), ("camera", 512), ("chelsea", 384)],
)
def test_round_trip_on_photos(codec: WatermarkCodec, name: str, size: int) -> None:
    image = square(getattr(data, name)(), size)
    out = codec.embed(image, PAYLOAD)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert psnr(out, image) >= 40.0
    found = codec.detect(out)
    assert found is not None
    assert found.payload == PAYLOAD
    assert found.false_alarm_probability <= FALSE_ALARM_THRESHOLD
    assert not found.mirrored
    assert abs(found.rotation_degrees) < 0.5


def test_embed_leaves_input_untouched(codec: WatermarkCodec, astronaut: Image8) -> None:
    before = astronaut.copy()
    codec.embed(astronaut, 1)
    assert np.array_equal(before, astronaut)


@pytest.mark.parametrize("payload", [0, 1, 2**63, 2**64 - 1])
def test_extreme_payloads(codec: WatermarkCodec, astronaut: Image8, payload: int) -> None:
    found = codec.detect(codec.embed(astronaut, payload))
    assert found is not None and found.payload == payload


def _rotate(image: Image8, degrees: float) -> Image8:
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return np.asarray(cv2.warpAffine(image, matrix, (w, h)), dtype=np.uint8)


def _crop(image: Image8, top: int, left: int, size: int) -> Image8:
    return np.ascontiguousarray(image[top : top + size, left : left + size])


def _resize(image: Image8, factor: float) -> Image8:
    h, w = image.shape[:2]
    size = (round(w * factor), round(h * factor))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


ATTACKS = {
    "jpeg75": lambda im: jpeg(im, 75),
    "centre crop 50%": lambda im: _crop(im, 75, 75, 362),
    "offset crop 25%": lambda im: _crop(im, 211, 37, 256),
    "resize 0.5": lambda im: _resize(im, 0.5),
    "rotate 2": lambda im: _rotate(im, 2.0),
    "brightness 1.5": lambda im: np.array(ImageEnhance.Brightness(Image.fromarray(im)).enhance(1.5)),
    "resize 0.8 + jpeg80": lambda im: jpeg(_resize(im, 0.8), 80),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_survives_attack(codec: WatermarkCodec, marked: Image8, attack: str) -> None:
    attacked = ATTACKS[attack](marked)
    found = codec.detect(attacked)
    assert found is not None, attack
    assert found.payload == PAYLOAD
    assert found.false_alarm_probability <= FALSE_ALARM_THRESHOLD


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_survives_crop_resize_jpeg_chain(seed: int) -> None:
    """Crop 10% off each side, shrink to 0.8, JPEG 75: each alone passes; chained, the far
    autocorrelation peaks are too weak for a peak-by-peak lattice fit (regression)."""
    rng = np.random.default_rng(seed)
    codec = WatermarkCodec(bytes(range(32)) if seed == 0 else rng.bytes(32))
    payload = 0x2F343B8FA3FB8AA7 if seed == 0 else int(rng.integers(0, 2**63))
    marked = codec.embed(np.asarray(data.astronaut()), payload)  # 512x512
    h, w = marked.shape[:2]
    crop = np.ascontiguousarray(marked[h // 10 : h - h // 10, w // 10 : w - w // 10])
    leaked = jpeg(_resize(crop, 0.8), 75)  # 328x328
    found = codec.detect(leaked)
    assert found is not None
    assert found.payload == payload
    assert found.tile_period == pytest.approx(51.2, abs=0.3)
    assert abs(found.rotation_degrees) % 90 < 0.5 or abs(found.rotation_degrees) % 90 > 89.5


def test_lattice_family_is_searched(codec: WatermarkCodec) -> None:
    """1024-px images carry 128-px tiles; half-way autocorrelation peaks (strong on a dark, sparse
    picture) must not make the detector settle on the finer diagonal lattice (regression)."""
    big = codec.embed(square(data.hubble_deep_field(), 1024), PAYLOAD)
    found = codec.detect(_crop(big, 150, 150, 724))
    assert found is not None and found.payload == PAYLOAD
    assert found.tile_period == pytest.approx(128.0, abs=1.0)


def test_horizontal_flip_is_found_and_reported(codec: WatermarkCodec, marked: Image8) -> None:
    found = codec.detect(np.ascontiguousarray(marked[:, ::-1]))
    assert found is not None and found.payload == PAYLOAD
    assert found.mirrored


def test_geometry_is_reported(codec: WatermarkCodec, marked: Image8) -> None:
    found = codec.detect(_rotate(_resize(marked, 0.75), 3.0))
    assert found is not None and found.payload == PAYLOAD
    assert found.tile_period == pytest.approx(48.0, abs=1.0)
    assert abs(abs(found.rotation_degrees) - 3.0) < 0.5


def test_grayscale_round_trip_after_jpeg(codec: WatermarkCodec) -> None:
    image = square(data.camera(), 400)
    found = codec.detect(jpeg(codec.embed(image, PAYLOAD), 75))
    assert image.ndim == 2
    assert found is not None and found.payload == PAYLOAD


def test_unmarked_images_give_no_detection(codec: WatermarkCodec) -> None:
    rng = np.random.default_rng(7)
    sources = [data.astronaut(), data.coffee(), data.chelsea(), data.camera(), data.rocket()]
    for source in sources:
        for _ in range(2):
            h, w = source.shape[:2]
            size = int(rng.integers(256, min(h, w) + 1))
            top, left = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
            crop = _crop(source, top, left, size)
            assert codec.detect(crop) is None
            best = codec.inspect(crop)
            # The best guess exists but is far from the operating point: d ~ Binomial(48, 1/2).
            assert best is None or best.false_alarm_probability > 1e-6


def test_wrong_key_finds_nothing(marked: Image8) -> None:
    other = WatermarkCodec(b"another-key-of-sufficient-length")
    assert other.detect(marked) is None
    assert other.detect(jpeg(marked, 90)) is None


def test_different_payloads_are_distinguished(codec: WatermarkCodec, astronaut: Image8) -> None:
    a = codec.detect(codec.embed(astronaut, 12345))
    b = codec.detect(codec.embed(astronaut, 54321))
    assert a is not None and b is not None
    assert (a.payload, b.payload) == (12345, 54321)


def test_detection_is_frozen(codec: WatermarkCodec, marked: Image8) -> None:
    found = codec.detect(marked)
    assert isinstance(found, Detection)
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.payload = 3  # type: ignore[misc]


def test_verified_embed_reads_back(codec: WatermarkCodec, astronaut: Image8) -> None:
    out = codec.embed(astronaut, PAYLOAD, verify=True)
    found = codec.detect(out)
    assert found is not None and found.payload == PAYLOAD


def test_verified_embed_refuses_unreadable_result(
    codec: WatermarkCodec, astronaut: Image8, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(codec, "detect", lambda image: None)
    with pytest.raises(WatermarkError, match="does not read back"):
        codec.embed(astronaut, PAYLOAD, verify=True)


def test_uniform_images_still_carry_the_mark(codec: WatermarkCodec) -> None:
    for level in (0, 128, 255):
        found = codec.detect(codec.embed(np.full((300, 300, 3), level, np.uint8), 99))
        assert found is not None and found.payload == 99, level


@pytest.mark.parametrize("key", [b"short", b"", bytes(15)])
def test_short_keys_rejected(key: bytes) -> None:
    with pytest.raises(BadInput, match="minimum is 16"):
        WatermarkCodec(key)


def test_non_bytes_key_rejected() -> None:
    with pytest.raises(BadInput, match="expected bytes"):
        WatermarkCodec("a string key that is long enough")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "image, message",
    [
        (np.zeros((255, 400, 3), np.uint8), r"400x255, the minimum is 256x256"),
        (np.zeros((300, 300, 3), np.float32), "dtype uint8, got float32"),
        (np.zeros((300, 300, 3, 1), np.uint8), "got 4 dimensions"),
        (np.zeros(300 * 300, np.uint8), "got 1 dimensions"),
        (np.zeros((300, 300, 4), np.uint8), "got 4 channels .drop the alpha"),
        (np.zeros((300, 300, 2), np.uint8), "got 2 channels"),
        ([[0] * 300] * 300, "numpy uint8 array, got list"),
    ],
)
def test_bad_images_rejected(codec: WatermarkCodec, image: object, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        codec.embed(image, 1)  # type: ignore[arg-type]


def test_detect_rejects_tiny_and_bad_images(codec: WatermarkCodec) -> None:
    with pytest.raises(BadInput, match=r"100x100, the minimum is 192x192"):
        codec.detect(np.zeros((100, 100, 3), np.uint8))
    with pytest.raises(BadInput, match="dtype uint8"):
        codec.detect(np.zeros((300, 300), np.int64))  # type: ignore[arg-type]


@pytest.mark.parametrize("payload", [-1, 2**64, True, 1.5, "7"])
def test_bad_payloads_rejected(codec: WatermarkCodec, astronaut: Image8, payload: object) -> None:
    with pytest.raises(BadInput, match="payload"):
        codec.embed(astronaut, payload)  # type: ignore[arg-type]
