"""The one seam between video and the watermark: mark a frame, read an ID back from many frames.

Marking uses :class:`fusionguard.watermark.frames.FrameMarker` (the tiled pattern is cached per frame
shape and fixed in the picture, so a detector can add frames up); reading uses
:func:`fusionguard.watermark.frames.detect_frames`, which sums the whitened frames before one geometry
search and bounds the false-alarm probability over every group and hypothesis it tried (<= 1e-10 for
the clip as a whole).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from fusionguard.watermark import WatermarkCodec
from fusionguard.watermark.codec import Detection
from fusionguard.watermark.frames import FRAME_MIN_SIZE, FrameMarker, detect_frames

__all__ = ["MIN_FRAME_SIZE", "detect_clip", "frame_marker"]

#: The smallest frame side the video watermark marks (and so the Guard releases).
MIN_FRAME_SIZE = FRAME_MIN_SIZE


def frame_marker(codec: WatermarkCodec, payload: int) -> Callable[[np.ndarray], np.ndarray]:
    """A function that returns a frame (HxWx3 uint8) carrying ``payload``."""
    return FrameMarker(codec, payload).mark


def detect_clip(codec: WatermarkCodec, frames: Iterable[np.ndarray]) -> Detection | None:
    """The watermark ID carried by a clip's frames at false-alarm probability <= 1e-10, or None."""
    return detect_frames(codec, frames)
