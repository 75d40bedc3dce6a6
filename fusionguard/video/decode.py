"""Decode a probed clip to RGB frames with their presentation times, enforcing the limits as it goes.

Times come from each frame's timestamp (``pts``), so variable-frame-rate clips keep their timing; a
frame without one gets the previous time plus one nominal frame. The rotation found by the probe is
applied to every frame. Decoding fails closed with one line naming the frame: corrupt data in the
middle, more frames or a longer clip than the policy allows (whatever the header claimed), or fewer
frames than the header declares (a truncated file).

    for frame in decode_frames(info, policy.video):
        frame.index, frame.time, frame.rgb.shape
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from fusionguard.errors import BadInput
from fusionguard.policy import VideoPolicy
from fusionguard.video.probe import VideoInfo, _ffmpeg_reason

__all__ = ["DecodedFrame", "decode_frames"]

# A container's declared frame count can be off by a frame or two (edit lists, a trailing
# B-frame); fewer decoded frames than this share of the declared ones means the file is cut short.
_TRUNCATION_TOLERANCE = 2


class DecodedFrame:
    """One decoded frame: its position, its presentation time in seconds, and its pixels.

    ``rgb`` (HxWx3 uint8, rotation applied) is converted on first use, and ``thumb`` (a 32x32 grey
    thumbnail, for scene-cut detection) is scaled straight from the decoder's YUV: a pass that only
    looks for scene cuts never pays for a full-size RGB conversion.
    """

    __slots__ = ("_rgb", "_source", "_thumb", "index", "rotation", "time")

    def __init__(self, index: int, time: float, source: Any, rotation: int = 0) -> None:
        self.index, self.time, self.rotation = index, time, rotation
        self._source = source  # an av.VideoFrame, or an RGB array already
        self._rgb: np.ndarray | None = source if isinstance(source, np.ndarray) else None
        self._thumb: np.ndarray | None = None

    @property
    def rgb(self) -> np.ndarray:
        if self._rgb is None:
            self._rgb = _rotate(self._source.to_ndarray(format="rgb24"), self.rotation)
        return self._rgb

    @property
    def thumb(self) -> np.ndarray:
        if self._thumb is None:
            if self._rgb is None:
                small = self._source.reformat(width=32, height=32, format="gray").to_ndarray()
            else:
                small = cv2.cvtColor(
                    cv2.resize(self._rgb, (32, 32), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY
                )
            self._thumb = np.asarray(small, dtype=np.uint8).reshape(32, 32)
        return self._thumb


def decode_frames(info: VideoInfo, rules: VideoPolicy) -> Iterator[DecodedFrame]:
    """Every frame of ``info``'s clip in presentation order (see the module docstring)."""
    frames = _decode_animation(info) if info.animated_image else _decode_av(info)
    count = 0
    for frame in frames:
        if frame.index >= rules.max_frames:
            raise BadInput(
                f"{info.label}: more than the policy's video.max_frames {rules.max_frames} frames "
                f"(the header said {info.frames})"
            )
        if frame.time > rules.max_duration_s:
            raise BadInput(
                f"{info.label}: frame {frame.index} is at {frame.time:.1f} s, past the policy's "
                f"video.max_duration_s {rules.max_duration_s:g}"
            )
        count += 1
        yield frame
    if count == 0:
        raise BadInput(f"{info.label}: the video stream has zero frames")
    if info.frames and count < info.frames - _TRUNCATION_TOLERANCE:
        raise BadInput(
            f"{info.label}: only {count} of the {info.frames} declared frames could be decoded "
            "(the file is truncated or damaged)"
        )


def _rotate(rgb: np.ndarray, rotation: int) -> np.ndarray:
    if rotation == 0:
        return rgb
    # rotation is clockwise; np.rot90 turns counter-clockwise.
    return np.ascontiguousarray(np.rot90(rgb, k=-(rotation // 90)))


def _decode_av(info: VideoInfo) -> Iterator[DecodedFrame]:
    import av

    step = 1.0 / info.fps if info.fps > 0 else 1.0 / 25
    try:
        handle = av.open(str(info.path), metadata_errors="ignore")
    except av.error.FFmpegError as error:
        raise BadInput(f"{info.label}: unreadable ({_ffmpeg_reason(error)})") from None
    with handle:
        stream = handle.streams.video[0]
        stream.thread_type = "AUTO"
        index, last_time = 0, -step
        decoded = handle.decode(stream)
        while True:
            try:
                frame = next(decoded, None)
            except av.error.FFmpegError as error:
                raise BadInput(
                    f"{info.label}: corrupt video data after frame {index} (t={max(last_time, 0):.2f} s: "
                    f"{_ffmpeg_reason(error)})"
                ) from None
            if frame is None:
                return
            time = float(frame.time) if frame.time is not None else last_time + step
            if time <= last_time:  # a repeated or backwards timestamp: keep the order, nudge forward
                time = last_time + 1e-3
            if frame.width * frame.height != info.width * info.height:
                raise BadInput(
                    f"{info.label}: frame {index} is {frame.width}x{frame.height}, the stream said "
                    f"{info.width}x{info.height} (frame size changes are not supported)"
                )
            yield DecodedFrame(index, time, frame, info.rotation)
            index, last_time = index + 1, time


def _decode_animation(info: VideoInfo) -> Iterator[DecodedFrame]:
    from PIL import Image

    try:
        with Image.open(info.path) as image:
            time = 0.0
            for index in range(info.frames):
                image.seek(index)
                rgb = np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
                yield DecodedFrame(index, time, rgb)
                time += int(image.info.get("duration", 100) or 100) / 1000
    except (OSError, ValueError, EOFError) as error:
        raise BadInput(f"{info.label}: corrupt animation frame ({error})") from None
