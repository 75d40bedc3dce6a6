"""``fusionguard demo --video`` runs end to end as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_video_demo_swaps_traces_and_blocks(tmp_path: Path) -> None:
    home, out = tmp_path / "home", tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "fusionguard.cli", "--home", str(home), "demo", "--video", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "100 frames, h264, audio ['aac'] copied" in text
    assert "leaked-excerpt.mp4 -> record" in text and "(watermark, false alarm <=" in text
    assert "no output written: True" in text and "(on screen at 2.00 s)" in text
    assert (out / "swapped.mp4").exists() and not (out / "blocked.mp4").exists()
    assert (out / "video-strip.jpg").stat().st_size > 10_000
    workspaces = home / "workspaces"
    assert not workspaces.exists() or not any(workspaces.iterdir())
