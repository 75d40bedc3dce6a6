"""Real video clips for tests and benches: camera motion over a still, encoded and re-encoded with PyAV.

    frames = camera_frames(testdata.astronaut(), (640, 480), count=50, seed=1)
    path = encode_clip(frames, tmp_path / "clip.mp4", crf=18)
    leaked = leak(path, start=0.5, seconds=2.0, height=360, area=0.8, crf=35)  # decoded frames

Nothing here is mocked: the clips are H.264 (libx264 from PyAV's bundled FFmpeg) in MP4, decoded again
by PyAV, so the watermark goes through real motion-compensated, quantised coding.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

Image8 = npt.NDArray[np.uint8]


def camera_path(count: int, seed: int, amplitude: float = 1.0) -> npt.NDArray[np.float64]:
    """(count, 3) smooth (dx, dy, zoom) offsets: a slow hand-held pan with a little zoom."""
    rng = np.random.default_rng(seed)
    t = np.arange(count, dtype=np.float64)[:, None]
    freqs = rng.uniform(0.01, 0.05, size=(1, 3))
    phases = rng.uniform(0, 2 * math.pi, size=(1, 3))
    drift = rng.uniform(-1.0, 1.0, size=(1, 3))
    path = np.sin(2 * math.pi * freqs * t + phases) + drift * t / max(count, 1)
    return path * np.array([[0.12, 0.12, 0.06]]) * amplitude


def camera_frames(
    image: Image8,
    size: tuple[int, int],
    count: int,
    seed: int = 0,
    amplitude: float = 1.0,
    *,
    centre: tuple[float, float] = (0.5, 0.5),
    zoom: float = 1.3,
) -> list[Image8]:
    """``count`` RGB frames of ``size`` (width, height): a moving camera filming ``image``.

    The still is scaled to cover the frame ``zoom`` times, the camera looks at ``centre`` (fractions
    of the still's width and height) and pans and zooms along :func:`camera_path` (sub-pixel,
    bicubic), so consecutive frames differ like a real shot.
    """
    width, height = size
    h, w = image.shape[:2]
    base = zoom * max(width / w, height / h)
    out = []
    for dx, dy, dz in camera_path(count, seed, amplitude):
        scale = base * (1.0 + dz)
        # Map frame centre to image centre shifted by the pan (in frame widths/heights).
        cx = w * centre[0] + dx * width / scale
        cy = h * centre[1] + dy * height / scale
        m = np.array([[scale, 0, width / 2 - scale * cx], [0, scale, height / 2 - scale * cy]], np.float64)
        frame = cv2.warpAffine(
            image, m, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT
        )
        out.append(np.asarray(frame, np.uint8))
    return out


def encode_clip(
    frames: Iterable[Image8],
    path: Path,
    *,
    fps: int = 25,
    crf: int = 18,
    preset: str = "veryfast",
    codec: str = "libx264",
) -> Path:
    """Encode RGB frames to an MP4 (yuv420p) at constant quality ``crf``."""
    with av.open(str(path), mode="w") as container:
        stream: av.VideoStream | None = None
        for frame in frames:
            if stream is None:
                stream = container.add_stream(codec, rate=Fraction(fps))
                stream.width, stream.height = frame.shape[1], frame.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(crf), "preset": preset}
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return path


def decode_clip(path: Path, start: float = 0.0, seconds: float | None = None) -> Iterator[Image8]:
    """RGB frames of a clip, from ``start`` for ``seconds`` (all when None)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            t = float(frame.time or 0.0)
            if t < start - 1e-6:
                continue
            if seconds is not None and t >= start + seconds - 1e-6:
                break
            yield frame.to_ndarray(format="rgb24")


def downscale_crop(
    frame: Image8, height: int, area: float, offset: tuple[float, float] = (0.5, 0.5)
) -> Image8:
    """Scale to ``height`` lines (even width), then crop ``area`` of it at ``offset`` (fractions)."""
    h, w = frame.shape[:2]
    width = 2 * round(w * height / h / 2)
    small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    side = math.sqrt(area)
    cw, ch = 2 * int(width * side / 2), 2 * int(height * side / 2)
    left = int((width - cw) * offset[0])
    top = int((height - ch) * offset[1])
    return np.ascontiguousarray(small[top : top + ch, left : left + cw])


def leak(
    path: Path,
    out: Path,
    *,
    start: float = 0.0,
    seconds: float = 2.0,
    height: int = 360,
    area: float = 0.8,
    crf: int = 35,
    fps: int = 25,
    offset: tuple[float, float] = (0.3, 0.6),
) -> list[Image8]:
    """What a leaker does: trim, downscale, crop, re-encode (libx264) -- then decode it again."""
    excerpt = [downscale_crop(f, height, area, offset) for f in decode_clip(path, start, seconds)]
    encode_clip(excerpt, out, fps=fps, crf=crf, preset="medium")
    return list(decode_clip(out))
