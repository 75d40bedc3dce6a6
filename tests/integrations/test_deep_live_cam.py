"""Deep-Live-Cam (commit bdeeb3a), vendored unchanged, guarded by
``fusionguard.integrations.deep_live_cam``. Only the model calls are replaced
(tests/integrations/tools.py): its own alignment-free paste-back, masks and ffmpeg run as shipped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest

from fusionguard.audit.record import ModelInfo
from fusionguard.guard import Guard
from fusionguard.integrations import deep_live_cam as dlc_guard
from fusionguard.media import load_image
from tests.integrations import tools
from tests.test_guard import photos, workspace_empty

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("ffmpeg") is None and os.environ.get("CI") != "true",  # mandatory in CI
        reason="needs ffmpeg (apt-get install ffmpeg)",
    ),
]
MODEL = ModelInfo("stand-in-swapper", "1", "apache-2.0")  # the tests replace the network
_ = photos


@pytest.fixture
def dlc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with tools.vendored(tools.DEEP_LIVE_CAM, "modules", monkeypatch):
        tools.deep_live_cam_models(monkeypatch)
        yield


@pytest.mark.parametrize("ext", [".jpg", ".png"])  # its has_image_extension() knows no .webp
def test_start_image_releases_the_recorded_file(
    dlc: None, guard: Guard, photos: dict[str, Path], tmp_path: Path, ext: str
) -> None:
    import modules.core
    import modules.globals

    source, target = tools.still(photos["astronaut"], tmp_path / "source.jpg"), tmp_path / f"target{ext}"
    cv2.imwrite(str(target), cv2.cvtColor(load_image(photos["astronaut"]).rgb, cv2.COLOR_RGB2BGR))
    out = tmp_path / "out"
    out.mkdir()
    output = out / f"swapped{ext}"
    tools.set_paths("modules.globals", source, target, output)
    with dlc_guard.install(guard, model=MODEL):
        modules.core.start()
    record = guard.log.query()[-1].record
    assert record.decision == "allowed" and record.output is not None
    assert hashlib.sha256(output.read_bytes()).hexdigest() == record.output.sha256
    assert load_image(output).format == ("JPEG" if ext == ".jpg" else "PNG")
    assert load_image(output).rgb.mean() < load_image(target).rgb.mean()  # the stand-in swap ran
    assert [p.name for p in out.iterdir()] == [output.name]
    assert (modules.globals.target_path, modules.globals.output_path) == (str(target), str(output))
    assert len([r for r in guard.log.query() if r.record.kind == "run"]) == 1 and workspace_empty(guard)


def test_start_blocked_leaves_nothing_at_the_destination(
    dlc: None, guard: Guard, photos: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import modules.core

    source = tools.still(photos["astronaut"], tmp_path / "source.jpg")
    target = tools.still(photos["hopper"], tmp_path / "target.jpg")  # no target consent
    output = tmp_path / "swapped.jpg"
    tools.set_paths("modules.globals", source, target, output)
    with dlc_guard.install(guard, model=MODEL):
        assert modules.core.start() is None
    assert not output.exists()
    assert "Not released by fusionguard: blocked: consent" in capsys.readouterr().out
    assert guard.log.query()[-1].record.decision == "blocked"
    assert workspace_empty(guard)


def test_process_image_takes_one_source_path(
    dlc: None, guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    """The tool swallows its own errors: unguarded, a list of sources writes nothing, silently."""
    from modules.processors.frame import face_swapper

    source = tools.still(photos["astronaut"], tmp_path / "source.jpg")
    target = tools.still(photos["astronaut"], tmp_path / "target.jpg")
    output = tmp_path / "swapped.png"
    with dlc_guard.install(guard, model=MODEL):
        assert face_swapper.process_image(str(source), str(target), str(output)) is None
    record = guard.log.query()[-1].record
    assert hashlib.sha256(output.read_bytes()).hexdigest() == record.output.sha256  # type: ignore[union-attr]


def test_start_video_goes_through_run_video(
    dlc: None, guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    """The tool's own video path (frames or pipes, ffmpeg, audio restored) runs in the workspace;
    the Guard checks, marks every frame and releases the clip it recorded."""
    output = tools.start_on_clip(
        dlc_guard.install(guard, model=MODEL), "modules", photos["astronaut"], photos["astronaut"], tmp_path
    )
    record = guard.log.query()[-1].record
    assert record.decision == "allowed" and record.output is not None, record.reasons
    assert hashlib.sha256(output.read_bytes()).hexdigest() == record.output.sha256
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(("temp", ".swapped"))] == []
    assert workspace_empty(guard)


def test_start_video_blocked_leaves_nothing(
    dlc: None, guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    installation = dlc_guard.install(guard, model=MODEL)
    hopper = photos["hopper"]  # no target consent
    output = tools.start_on_clip(installation, "modules", photos["astronaut"], hopper, tmp_path)
    assert not output.exists()
    assert guard.log.query()[-1].record.decision == "blocked"
    assert workspace_empty(guard)


def _live(photos: dict[str, Path], tmp_path: Path, face: str) -> list[Any]:
    """Deep-Live-Cam's own live loop (``modules.ui._ProcessingWorker.run``: detect every few frames,
    swap, post-process, hand to the preview's queue), fed the frames of a clip as a camera would."""
    import queue
    import threading

    import modules.globals
    import modules.ui

    modules.globals.source_path = str(tools.still(photos["astronaut"], tmp_path / "source.jpg"))
    capture = cv2.VideoCapture(str(tools.face_clip(load_image(photos[face]).rgb, tmp_path / "camera.mp4")))
    frames = []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    taken: queue.Queue[Any] = queue.Queue()
    shown: queue.Queue[Any] = queue.Queue()
    stop = threading.Event()
    worker = modules.ui._ProcessingWorker(taken, shown, stop, 10.0)
    for frame in frames:
        taken.put(frame)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        return [shown.get(timeout=120) for _ in frames]
    finally:
        stop.set()
        thread.join()


def _stream_records(guard: Guard) -> list[Any]:
    return [r.record for r in guard.log.query() if "stream" in r.record.extra]


def test_live_loop_frames_are_marked_and_the_session_recorded(
    dlc: None, guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    from fusionguard.watermark import detect_frames

    with dlc_guard.install(guard, model=MODEL) as installation:
        assert "modules.ui._ProcessingWorker.run" in installation.patched
        shown = _live(photos, tmp_path, "astronaut")
    records = _stream_records(guard)
    assert [r.extra["stream"]["phase"] for r in records] == ["start", "close"]
    detail = records[-1].extra["stream"]
    assert detail["frames_released"] + detail["frames_withheld"] == len(shown) == 10
    assert detail["frames_released"] > 0
    found = detect_frames(guard.codec, [f for f in shown if f.mean() > 8])
    assert found is not None and f"{found.payload:016x}" == detail["watermark_id"]


def test_live_loop_with_a_non_consenting_face_goes_black(
    dlc: None, guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    with dlc_guard.install(guard, model=MODEL):
        shown = _live(photos, tmp_path, "hopper")  # Grace Hopper on camera: no target consent
    assert max(float(frame.mean()) for frame in shown) < 8  # black (with the faint watermark)
    phases = [r.extra["stream"]["phase"] for r in _stream_records(guard)]
    assert phases[0] == "start" and "blocked" in phases and phases[-1] == "close"
