"""Robust keyed invisible watermark carrying a 64-bit payload (see :mod:`.codec` for the design)."""

from .codec import FALSE_ALARM_THRESHOLD, MIN_SIZE, Detection, WatermarkCodec

__all__ = ["FALSE_ALARM_THRESHOLD", "MIN_SIZE", "Detection", "WatermarkCodec"]
