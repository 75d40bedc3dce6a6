"""Robust keyed invisible watermark carrying a 64-bit payload (see :mod:`.codec` for the design).

Frames of videos and live streams: :class:`FrameMarker` and :func:`detect_frames` (:mod:`.frames`).
"""

from .codec import FALSE_ALARM_THRESHOLD, MIN_SIZE, Detection, WatermarkCodec
from .frames import FRAME_MIN_SIZE, FrameMarker, FramesDetection, detect_frames, inspect_frames

__all__ = [
    "FALSE_ALARM_THRESHOLD",
    "FRAME_MIN_SIZE",
    "MIN_SIZE",
    "Detection",
    "FrameMarker",
    "FramesDetection",
    "WatermarkCodec",
    "detect_frames",
    "inspect_frames",
]
