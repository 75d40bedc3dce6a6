"""FrameMarker and detect_frames on real clips: camera motion over test photos, H.264 via PyAV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from fusionguard.errors import BadInput
from fusionguard.watermark import (
    FALSE_ALARM_THRESHOLD,
    FrameMarker,
    WatermarkCodec,
    detect_frames,
    inspect_frames,
)
from fusionguard.watermark.frames import frame_period
from tests import testdata
from tests.support.clips import camera_frames, decode_clip, encode_clip, leak

KEY = b"fusionguard-test-key-frames-0001"
PAYLOAD = 0x0123_4567_89AB_CDEF
Image8 = npt.NDArray[np.uint8]


@pytest.fixture(scope="module")
def codec() -> WatermarkCodec:
    return WatermarkCodec(KEY)


@pytest.fixture(scope="module")
def marker(codec: WatermarkCodec) -> FrameMarker:
    return FrameMarker(codec, PAYLOAD)


def psnr(a: Image8, b: Image8) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return 10 * np.log10(255.0**2 / mse)


def test_leaked_excerpt_gives_the_exact_id(
    codec: WatermarkCodec, marker: FrameMarker, tmp_path: Path
) -> None:
    """The issue's case: a 720p marked clip; 2 s of it downscaled to 360p, cropped to 80 %, CRF 35."""
    frames = camera_frames(testdata.grace_hopper(), (1280, 720), 75, seed=3)
    clip = encode_clip([marker.mark(f) for f in frames], tmp_path / "marked.mp4", crf=18)
    leaked = leak(clip, tmp_path / "leaked.mp4", start=0.5, seconds=2.0, height=360, area=0.8, crf=35)
    assert len(leaked) == 50 and leaked[0].shape[0] < 360
    found = detect_frames(codec, leaked)
    assert found is not None
    assert found.payload == PAYLOAD
    assert found.false_alarm_probability <= FALSE_ALARM_THRESHOLD
    assert found.frames == 50 and found.hypotheses == 16  # one group, two scales, 8 decodes each


def test_unmarked_clip_gives_nothing(codec: WatermarkCodec, tmp_path: Path) -> None:
    frames = camera_frames(testdata.grace_hopper(), (1280, 720), 50, seed=3)
    clip = encode_clip(frames, tmp_path / "plain.mp4", crf=18)
    leaked = leak(clip, tmp_path / "leaked.mp4", seconds=2.0, crf=35)
    assert detect_frames(codec, leaked) is None
    best = inspect_frames(codec, leaked)
    assert best is not None and best.false_alarm_probability > 1e-6


def test_small_live_frames_are_marked_and_read(
    codec: WatermarkCodec, marker: FrameMarker, tmp_path: Path
) -> None:
    """320x240, the size live tools use, which the still codec refuses; through a real encode."""
    frames = camera_frames(testdata.astronaut(), (320, 240), 25, seed=5)
    marked = [marker.mark(f) for f in frames]
    assert all(m.shape == f.shape and m.dtype == np.uint8 for m, f in zip(marked, frames, strict=True))
    assert 33.0 < psnr(frames[0], marked[0]) < 38.0
    clip = encode_clip(marked, tmp_path / "small.mp4", crf=23)
    found = detect_frames(codec, decode_clip(clip))
    assert found is not None and found.payload == PAYLOAD


def test_channel_order_does_not_matter(codec: WatermarkCodec, marker: FrameMarker) -> None:
    """OpenCV tools hand BGR frames: the same change is added to every channel."""
    rgb = camera_frames(testdata.coffee(), (640, 480), 1, seed=1)[0]
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    change_rgb = marker.mark(rgb).astype(np.int16) - rgb
    change_bgr = marker.mark(bgr).astype(np.int16) - bgr
    # Equal on the three channels up to rounding and clipping.
    assert np.mean(np.abs(change_rgb[..., 0] - change_rgb[..., 1])) < 0.1
    # BGR: the same pattern; only the gain map's luma weights differ a little.
    a, b = change_rgb[..., 1].ravel().astype(np.float64), change_bgr[..., 1].ravel().astype(np.float64)
    assert np.corrcoef(a, b)[0, 1] > 0.95


def test_marking_is_deterministic_and_leaves_input(marker: FrameMarker) -> None:
    frame = camera_frames(testdata.coffee(), (640, 480), 1, seed=2)[0]
    before = frame.copy()
    first, second = marker.mark(frame), marker.mark(frame)
    assert np.array_equal(frame, before)
    assert np.array_equal(first, second)
    assert not np.array_equal(first, frame)


def test_grayscale_frames(codec: WatermarkCodec, marker: FrameMarker) -> None:
    frames = [f[..., 1].copy() for f in camera_frames(testdata.chelsea(), (640, 480), 12, seed=4)]
    found = detect_frames(codec, [marker.mark(f) for f in frames])
    assert found is not None and found.payload == PAYLOAD


def test_other_payload_and_wrong_key(codec: WatermarkCodec) -> None:
    frames = camera_frames(testdata.astronaut(), (640, 480), 8, seed=6)
    other = [FrameMarker(codec, 7).mark(f) for f in frames]
    found = detect_frames(codec, other)
    assert found is not None and found.payload == 7
    assert detect_frames(WatermarkCodec(b"another-key-for-the-frames-test"), other) is None


def test_size_change_starts_a_group_and_windows_count(codec: WatermarkCodec, marker: FrameMarker) -> None:
    small = [marker.mark(f) for f in camera_frames(testdata.astronaut(), (320, 240), 6, seed=7)]
    large = [marker.mark(f) for f in camera_frames(testdata.astronaut(), (640, 480), 6, seed=7)]
    found = detect_frames(codec, small + large, window=4)
    assert found is not None and found.payload == PAYLOAD
    # Groups: 2 sizes + the windows shorter than their size run (2 of 4 + 2 each) -> 2 + 4.
    # 320x240 is summed at one scale (its half is under 128 px), 640x480 at two.
    assert found.groups == 6
    assert found.hypotheses == 8 * (1 + 2 + 2 * 1 + 2 * 2)
    assert found.frames == 12


def test_periods() -> None:
    assert frame_period(240, 320) == 64
    assert frame_period(480, 640) == 192
    assert frame_period(720, 1280) == 256
    assert frame_period(1080, 1920) == 384


@pytest.mark.parametrize(
    "frame, message",
    [
        (np.zeros((100, 320, 3), np.uint8), "minimum is 128x128"),
        (np.zeros((240, 320, 4), np.uint8), "4 channels"),
        (np.zeros((240, 320, 3), np.float32), "dtype uint8"),
        ([[0]], "numpy uint8 array"),
    ],
)
def test_bad_frames(marker: FrameMarker, codec: WatermarkCodec, frame: object, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        marker.mark(frame)  # type: ignore[arg-type]
    with pytest.raises(BadInput, match=message):
        detect_frames(codec, [frame])  # type: ignore[list-item]


def test_bad_arguments(codec: WatermarkCodec) -> None:
    with pytest.raises(BadInput, match="payload"):
        FrameMarker(codec, -1)
    with pytest.raises(BadInput, match="strength"):
        FrameMarker(codec, 1, strength=10.0)
    with pytest.raises(BadInput, match="WatermarkCodec"):
        FrameMarker(b"key", 1)  # type: ignore[arg-type]
    with pytest.raises(BadInput, match="threshold"):
        detect_frames(codec, [], threshold=0.5)
    with pytest.raises(BadInput, match="window"):
        detect_frames(codec, [], window=0)
    assert detect_frames(codec, []) is None
