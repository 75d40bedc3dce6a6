"""Tracing leaked clips: by the watermark across frames, by per-second PDQ when the mark is gone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from fusionguard.audit.record import ModelInfo
from fusionguard.guard import Guard, RunInputs
from fusionguard.policy import Policy
from fusionguard.trace import Tracer
from fusionguard.video.decode import decode_frames
from fusionguard.video.probe import probe_video
from fusionguard.video.trace import trace_video
from tests.video.clips import noise_frames, write_clip

pytestmark = pytest.mark.slow
MODEL = ModelInfo("fusionguard-demo-swap", "1.0", "apache-2.0")
RULES = Policy.default().video


def identity(rgb: np.ndarray, index: int, run: RunInputs) -> np.ndarray:
    return rgb


def leak(path: Path, out: Path, *, first: int, last: int, scale: float, crop: float, crf: int) -> Path:
    """An excerpt as it is passed around: trimmed, downscaled, centre-cropped to ``crop`` of its area,
    re-encoded, its audio dropped."""
    frames = [f.rgb for f in decode_frames(probe_video(path, RULES), RULES) if first <= f.index < last]
    height, width = frames[0].shape[:2]
    size = (round(width * scale), round(height * scale))
    side = crop**0.5
    ch, cw = round(size[1] * side) // 2 * 2, round(size[0] * side) // 2 * 2
    top, left = (size[1] - ch) // 2, (size[0] - cw) // 2
    small = [
        cv2.resize(f, size, interpolation=cv2.INTER_AREA)[top : top + ch, left : left + cw] for f in frames
    ]
    return write_clip(out, small, audio=None, metadata=False, crf=crf)


def test_a_leaked_excerpt_is_traced_by_its_watermark(
    video_guard: Guard, portraits: dict[str, Path], scenes: dict[str, Path], tmp_path: Path
) -> None:
    released = video_guard.run_video(
        sources=[portraits["astronaut"]],
        target=scenes["clean"],
        model=MODEL,
        frame_pipeline=identity,
        output_path=tmp_path / "released.mp4",
    )
    excerpt = leak(
        tmp_path / "released.mp4", tmp_path / "excerpt.mp4", first=0, last=50, scale=0.9, crop=1.0, crf=26
    )
    result = trace_video(Tracer(video_guard.log, video_guard.codec), excerpt, RULES)
    assert result.note == "watermark"
    (match,) = result.matches
    assert match.record_id == released.record_id and match.watermark_id == f"{released.watermark_id:016x}"
    assert match.false_alarm_probability is not None and match.false_alarm_probability <= 1e-10

    # The unmarked target looks like the output: found by its per-second fingerprints instead.
    stripped = trace_video(Tracer(video_guard.log, video_guard.codec), scenes["clean"], RULES)
    assert stripped.note == "pdq" and stripped.matches[0].record_id == released.record_id
    assert stripped.matches[0].pdq_distance is not None and stripped.matches[0].pdq_distance <= 31

    unrelated = write_clip(tmp_path / "cat.mp4", noise_frames(25, (320, 240), seed=3), audio=None)
    nothing = trace_video(Tracer(video_guard.log, video_guard.codec), unrelated, RULES)
    assert not nothing.found and nothing.note.startswith("no match")


def test_cli_trace_accepts_a_video(
    video_guard: Guard,
    db_url: str,
    home: Path,
    portraits: dict[str, Path],
    scenes: dict[str, Path],
    tmp_path: Path,
) -> None:
    if "postgresql" in db_url:
        pytest.skip("the CLI dispatch does not depend on the database")
    released = video_guard.run_video(
        sources=[portraits["astronaut"]],
        target=scenes["clean"],
        model=MODEL,
        frame_pipeline=identity,
        output_path=tmp_path / "released.mp4",
    )
    excerpt = leak(
        tmp_path / "released.mp4", tmp_path / "excerpt.mkv", first=0, last=25, scale=1.0, crop=1.0, crf=23
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fusionguard.cli",
            "--home",
            str(home),
            "--db",
            db_url,
            "trace",
            str(excerpt),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    traced = json.loads(done.stdout)
    assert traced["matches"][0]["method"] == "watermark"
    assert traced["matches"][0]["record_id"] == released.record_id


def test_the_console_traces_an_uploaded_clip(
    video_guard: Guard,
    db_url: str,
    home: Path,
    portraits: dict[str, Path],
    scenes: dict[str, Path],
    tmp_path: Path,
) -> None:
    """POST /api/v1/trace with a leaked excerpt: the same verdict as the CLI, nothing left on disk."""
    import tempfile
    from datetime import UTC, datetime

    from starlette.testclient import TestClient

    from fusionguard.config import Settings
    from fusionguard.server import actions
    from fusionguard.server.accounts import Accounts
    from fusionguard.server.app import ConsoleConfig, create_app

    released = video_guard.run_video(
        sources=[portraits["astronaut"]],
        target=scenes["clean"],
        model=MODEL,
        frame_pipeline=identity,
        output_path=tmp_path / "released.mp4",
    )
    excerpt = leak(
        tmp_path / "released.mp4", tmp_path / "excerpt.mp4", first=0, last=25, scale=1.0, crop=1.0, crf=23
    )
    log = video_guard.log
    accounts = Accounts(log.engine)
    now = datetime.now(UTC)
    actions.add_account(log, accounts, "bot", "platform", "test", actor="root", now=now)
    token = actions.issue_token(log, accounts, "bot", "ci", "test", actor="root", now=now)
    before = set(Path(tempfile.gettempdir()).glob("fusionguard-trace-*"))
    app = create_app(ConsoleConfig(settings=Settings.resolve(home, db_url)))
    with TestClient(app, base_url="https://testserver") as client:
        headers = {"authorization": f"Bearer {token}"}
        traced = client.post(
            "/api/v1/trace", files={"image": ("excerpt.mp4", excerpt.read_bytes())}, headers=headers
        )
        assert traced.status_code == 200, traced.text
        body = traced.json()
        assert body["verdict"] == "verified" and body["matches"][0]["record_id"] == released.record_id
        assert body["records"][released.record_id]["decision"] == "allowed"
        truncated = client.post(
            "/api/v1/trace", files={"image": ("cut.mp4", excerpt.read_bytes()[:3000])}, headers=headers
        )
        assert truncated.status_code == 400 and "upload-cut.mp4: unreadable MP4" in truncated.json()["error"]
    assert set(Path(tempfile.gettempdir()).glob("fusionguard-trace-*")) == before
