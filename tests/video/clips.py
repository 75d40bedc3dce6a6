"""Real clips for the video tests, encoded with PyAV (tiny: a few hundred pixels, 1-3 s).

``write_clip`` encodes any frames with chosen timestamps, codec and container, optionally with an AAC
(or Opus) tone and with the kinds of metadata a phone or editor leaves (title, comment, creation time,
GPS location, handler names); ``portrait_frames`` pans a camera over the astronaut portrait and can
paste another face into a corner for a chosen range of frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

SECRET_METADATA = {
    "title": "secret-title",
    "comment": "secret-comment",
    "creation_time": "2020-01-01T00:00:00Z",
    "location": "+48.8577+002.2950/",
    "artist": "secret-artist",
}


def write_clip(
    path: Path,
    frames: Iterable[np.ndarray],
    *,
    fps: int = 25,
    times: Sequence[float] | None = None,
    codec: str = "libx264",
    container: str | None = None,
    audio: str | None = "aac",
    metadata: bool = True,
    faststart: bool = False,
    crf: int = 18,
) -> Path:
    """Encode RGB ``frames`` (at ``times`` seconds, default ``i / fps``) into ``path``."""
    frames = list(frames)
    height, width = frames[0].shape[:2]
    options = {"movflags": "+faststart"} if faststart else {}
    time_base = Fraction(1, 1000) if times is not None else Fraction(1, fps)
    with av.open(str(path), "w", format=container, options=options) as out:
        if metadata:
            out.metadata.update(SECRET_METADATA)
        stream = out.add_stream(codec, rate=fps, options={"crf": str(crf)} if codec != "gif" else {})
        context = stream.codec_context
        context.width, context.height = width, height  # type: ignore[union-attr]
        context.pix_fmt = "rgb8" if codec == "gif" else "yuv420p"  # type: ignore[union-attr]
        stream.time_base = context.time_base = time_base
        if metadata:
            stream.metadata["handler_name"] = "secret-video-handler"
        sound = None
        if audio is not None:
            sound = out.add_stream(audio, rate=48000)
            sound.layout = "mono"  # type: ignore[union-attr]
            if metadata:
                sound.metadata["handler_name"] = "secret-audio-handler"
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            seconds = times[index] if times is not None else index / fps
            frame.pts, frame.time_base = round(seconds / time_base), time_base
            for packet in stream.encode(frame):  # type: ignore[union-attr]
                out.mux(packet)
        for packet in stream.encode(None):  # type: ignore[union-attr]
            out.mux(packet)
        if sound is not None:
            duration = (times[-1] + 1 / fps) if times is not None else len(frames) / fps
            samples = 0.2 * np.sin(2 * np.pi * 440 * np.arange(int(48000 * duration)) / 48000)
            block = 960 if audio == "libopus" else 1024
            for start in range(0, samples.size - block + 1, block):
                chunk = samples[start : start + block].astype(np.float32)[None, :]
                piece = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                piece.sample_rate = 48000
                for packet in sound.encode(piece):  # type: ignore[union-attr]
                    out.mux(packet)
            for packet in sound.encode(None):  # type: ignore[union-attr]
                out.mux(packet)
    return path


def astronaut() -> np.ndarray:
    import skimage.data

    return np.asarray(skimage.data.astronaut())


def hopper() -> np.ndarray:
    import matplotlib.cbook

    from fusionguard.media import load_image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        return load_image(handle.read()).rgb


def portrait_frames(
    count: int,
    *,
    size: tuple[int, int] = (384, 288),
    intruder: range = range(0),
) -> list[np.ndarray]:
    """A slow camera pan over the astronaut; Grace Hopper's face pasted bottom-right on ``intruder``."""
    still = astronaut()
    width, height = size
    face = cv2.resize(hopper()[110:360, 160:390], (124, 136), interpolation=cv2.INTER_AREA)
    frames = []
    for index in range(count):
        x0 = 20 + (index % 40) // 2
        frame = still[20 : 20 + height, x0 : x0 + width].copy()
        if index in intruder:
            frame[height - 138 : height - 2, width - 126 : width - 2] = face
        frames.append(frame)
    return frames


def noise_frames(count: int, size: tuple[int, int] = (160, 120), seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    width, height = size
    base = cv2.resize(rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8), (width, height))
    return [np.roll(base, 3 * i, axis=1) for i in range(count)]
