"""The sampling rule: no face on screen for 1 / sample_fps seconds can fall between two samples."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fusionguard.video.decode import DecodedFrame
from fusionguard.video.sampling import FrameSampler


def sampled(times: list[float], sample_fps: float = 1.0, cut_at: int | None = None) -> list[int]:
    sampler = FrameSampler(sample_fps, 0.15)
    picked = []
    for index, t in enumerate(times):
        grey = 200 if cut_at is not None and index >= cut_at else 30
        frame = DecodedFrame(index, t, np.full((32, 32, 3), grey, np.uint8))
        picked += [s.frame.index for s in sampler.feed(frame)]
    picked += [s.frame.index for s in sampler.finish()]
    return picked


@pytest.mark.parametrize("fps", [24, 25, 30, 29.97, 60])
def test_every_one_second_window_holds_a_sample(fps: float) -> None:
    times = [i / fps for i in range(int(fps * 6))]
    picked = set(sampled(times))
    window = round(fps)  # frames on screen for one second (or just over)
    for start in range(len(times) - window + 1):
        assert picked & set(range(start, start + window)), f"window at frame {start} escapes"
    assert len(picked) <= 6 * 1 + 2  # about sample_fps per second, not every frame


def test_variable_frame_rate_gaps_are_measured_on_timestamps() -> None:
    times = [0.0, 0.1, 0.2, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.1, 2.6, 2.7, 4.0]
    picked = sampled(times)
    sampled_times = [times[i] for i in picked]
    assert sampled_times[0] == 0.0 and sampled_times[-1] == 4.0
    # Consecutive samples are at most a period apart unless a single frame spans more than that.
    for a, b in itertools.pairwise(picked):
        assert times[b] - times[a] <= 1.0 + 1e-9 or b == a + 1


def test_the_first_frame_after_a_scene_cut_is_sampled() -> None:
    times = [i / 25 for i in range(50)]
    assert 13 in sampled(times, cut_at=13)
    assert 13 not in sampled(times)


def test_sample_rate_follows_the_policy() -> None:
    times = [i / 25 for i in range(100)]
    assert sampled(times, sample_fps=1.0) == [0, 25, 50, 75, 99]
    assert sampled(times, sample_fps=2.0)[:4] == [0, 12, 24, 36]
