"""The one seam between video and the watermark: mark a frame, read an ID back from many frames.

When :mod:`fusionguard.watermark.frames` is present (its ``FrameMarker`` caches the tiled pattern per
frame shape, and ``detect_frames`` adds the evidence of every frame before one geometry search),
both functions use it. Otherwise every frame is marked with :meth:`WatermarkCodec.embed`, and
reading a clip inspects frames one by one and keeps the best, with the false-alarm probability
multiplied by the number of frames tried (a union bound over every frame's hypotheses), so the
1e-10 threshold holds for the clip as a whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

import numpy as np

from fusionguard.errors import BadInput
from fusionguard.watermark import WatermarkCodec
from fusionguard.watermark.codec import FALSE_ALARM_THRESHOLD, Detection

__all__ = ["detect_clip", "frame_marker"]

#: Frames inspected one by one at most, without the multi-frame detector.
_PER_FRAME_LIMIT = 12


def frame_marker(codec: WatermarkCodec, payload: int) -> Callable[[np.ndarray], np.ndarray]:
    """A function that returns a frame (HxWx3 uint8) carrying ``payload``."""
    try:
        from fusionguard.watermark.frames import FrameMarker
    except ImportError:
        return lambda rgb: codec.embed(rgb, payload)
    mark: Callable[[np.ndarray], np.ndarray] = FrameMarker(codec, payload).mark
    return mark


def detect_clip(codec: WatermarkCodec, frames: Iterable[np.ndarray]) -> Detection | None:
    """The watermark ID carried by a clip's frames at false-alarm probability <= 1e-10, or None."""
    try:
        from fusionguard.watermark.frames import detect_frames
    except ImportError:
        return _best_single_frame(codec, frames)
    found: Detection | None = detect_frames(codec, frames)  # a FramesDetection is a Detection
    return found


def _best_single_frame(codec: WatermarkCodec, frames: Iterable[np.ndarray]) -> Detection | None:
    picked = list(frames)
    if len(picked) > _PER_FRAME_LIMIT:  # spread over the clip
        positions = np.linspace(0, len(picked) - 1, _PER_FRAME_LIMIT).round().astype(int)
        picked = [picked[i] for i in positions]
    best: Detection | None = None
    for rgb in picked:
        try:
            found = codec.inspect(rgb)
        except BadInput:  # a frame too small to read
            continue
        if found is not None and (
            best is None or found.false_alarm_probability < best.false_alarm_probability
        ):
            best = found
    if best is None:
        return None
    bound = min(1.0, best.false_alarm_probability * len(picked))
    return replace(best, false_alarm_probability=bound) if bound <= FALSE_ALARM_THRESHOLD else None
