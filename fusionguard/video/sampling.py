"""Which frames of a clip are checked: at least ``video.sample_fps`` per second, plus every scene cut.

Rule: consecutive sampled frames are never more than ``1 / sample_fps`` seconds apart (measured on the
frames' own timestamps, so variable frame rates are covered), the first and last frames are sampled,
and so is the first frame after each scene cut (mean grey-level change of a 32x32 thumbnail above
``video.scene_cut_threshold``). A face on screen for at least ``1 / sample_fps`` seconds therefore
always lands on a sampled frame: if it covered frames ``a..b`` and no sample fell among them, the two
samples around it would be more than ``b - a + 1`` frame intervals apart, longer than the period.

The sampler looks one frame ahead: a frame is sampled when the *next* one would be too far from the
last sample. It keeps one frame in memory.

    sampler = FrameSampler(1.0, 0.15)
    for frame in frames:
        for picked in sampler.feed(frame): check(picked)
    for picked in sampler.finish(): check(picked)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fusionguard.video.decode import DecodedFrame

__all__ = ["FrameSampler", "Sample"]

_EPSILON = 1e-6


@dataclass(frozen=True)
class Sample:
    """A sampled frame and why it was picked: ``start``, ``interval``, ``scene_cut`` or ``end``."""

    frame: DecodedFrame
    why: str


class FrameSampler:
    def __init__(self, sample_fps: float, scene_cut_threshold: float) -> None:
        self.period = 1.0 / sample_fps
        self.threshold = scene_cut_threshold
        self._previous: DecodedFrame | None = None
        self._previous_sampled = False
        self._last_time = 0.0

    def _take(self, frame: DecodedFrame, why: str) -> Sample:
        self._last_time = frame.time
        return Sample(frame, why)

    def feed(self, frame: DecodedFrame) -> list[Sample]:
        """The samples decided by seeing ``frame`` (``frame`` itself, the one before it, both or none)."""
        picked: list[Sample] = []
        previous = self._previous
        if previous is None:
            picked.append(self._take(frame, "start"))
        elif self._is_cut(previous, frame):
            picked.append(self._take(frame, "scene_cut"))
        elif frame.time - self._last_time > self.period + _EPSILON:
            if not self._previous_sampled:
                picked.insert(0, self._take(previous, "interval"))
            if frame.time - self._last_time > self.period + _EPSILON:  # one frame spans the period
                picked.append(self._take(frame, "interval"))
        self._previous = frame
        self._previous_sampled = bool(picked) and picked[-1].frame is frame
        return picked

    def finish(self) -> list[Sample]:
        """The last frame, unless it was sampled already."""
        if self._previous is None or self._previous_sampled:
            return []
        self._previous_sampled = True
        return [self._take(self._previous, "end")]

    def _is_cut(self, previous: DecodedFrame, frame: DecodedFrame) -> bool:
        change = np.mean(np.abs(previous.thumb.astype(np.int16) - frame.thumb.astype(np.int16))) / 255.0
        return bool(change > self.threshold)
