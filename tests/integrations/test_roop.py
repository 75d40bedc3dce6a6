"""roop (archived, commit a13727a), vendored unchanged, guarded by ``fusionguard.integrations.roop``.

roop copies the target to the output path and then lets each frame processor rewrite it in place
(face swapper, then face enhancer); videos go through extracted frames and ffmpeg. Only the model
calls are replaced (tests/integrations/tools.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest

from fusionguard.adapters import protect_paths
from fusionguard.audit.record import ModelInfo
from fusionguard.guard import Guard
from fusionguard.integrations import roop as roop_guard
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
def roop(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with tools.vendored(tools.ROOP, "roop", monkeypatch):
        tools.roop_models(monkeypatch, ["face_swapper", "face_enhancer"])
        yield


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_start_image_releases_what_the_last_processor_wrote(
    roop: None, guard: Guard, photos: dict[str, Path], tmp_path: Path, ext: str
) -> None:
    """Swapper then enhancer rewrite roop's copy; the released file is the recorded one."""
    import roop.core
    import roop.globals

    source, target = tools.still(photos["astronaut"], tmp_path / "source.jpg"), tmp_path / f"target{ext}"
    cv2.imwrite(str(target), cv2.cvtColor(load_image(photos["astronaut"]).rgb, cv2.COLOR_RGB2BGR))
    out = tmp_path / "out"
    out.mkdir()
    output = out / f"swapped{ext}"
    tools.set_paths("roop.globals", source, target, output)
    with roop_guard.install(guard, model=MODEL) as installation:
        assert "roop.core.start" in installation.patched
        roop.core.start()
    record = guard.log.query()[-1].record
    assert record.decision == "allowed" and record.output is not None
    assert hashlib.sha256(output.read_bytes()).hexdigest() == record.output.sha256
    assert load_image(output).format == ("JPEG" if ext == ".jpg" else "PNG")
    assert load_image(output).rgb.mean() < load_image(target).rgb.mean()  # the stand-in swap ran
    assert [p.name for p in out.iterdir()] == [output.name]  # no temp folder, no partial file
    assert (roop.globals.target_path, roop.globals.output_path) == (str(target), str(output))
    assert workspace_empty(guard)
    assert (
        len([r for r in guard.log.query() if r.record.kind == "run"]) == 1
    )  # one record: the nested process_image calls add none


def test_start_blocked_leaves_nothing_at_the_destination(
    roop: None, guard: Guard, photos: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unguarded, roop's ``shutil.copy2(target, output)`` puts the unswapped target at the output."""
    import roop.core

    source = tools.still(photos["astronaut"], tmp_path / "source.jpg")
    target = tools.still(photos["hopper"], tmp_path / "target.jpg")  # no target consent
    output = tmp_path / "swapped.jpg"
    tools.set_paths("roop.globals", source, target, output)
    with roop_guard.install(guard, model=MODEL):
        assert roop.core.start() is None  # roop's convention: a status line, no traceback
    assert not output.exists()
    assert "Not released by fusionguard: blocked: consent" in capsys.readouterr().out
    assert guard.log.query()[-1].record.decision == "blocked"
    assert workspace_empty(guard)


def test_process_image_takes_one_source_path(
    roop: None, guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    from roop.processors.frame import face_swapper

    source = tools.still(photos["astronaut"], tmp_path / "source.jpg")
    target = tools.still(photos["astronaut"], tmp_path / "target.jpg")
    output, blocked = tmp_path / "swapped.jpg", tmp_path / "blocked.jpg"
    with roop_guard.install(guard, model=MODEL):
        assert face_swapper.process_image(str(source), str(target), str(output)) is None
        hopper = tools.still(photos["hopper"], tmp_path / "hopper.jpg")
        assert face_swapper.process_image(str(source), str(hopper), str(blocked)) is None
    record = guard.log.query()[-2].record
    assert hashlib.sha256(output.read_bytes()).hexdigest() == record.output.sha256  # type: ignore[union-attr]
    assert not blocked.exists() and guard.log.query()[-1].record.decision == "blocked"


def test_start_video_goes_through_run_video(
    roop: None, guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    """The tool's own video path (frames or pipes, ffmpeg, audio restored) runs in the workspace;
    the Guard checks, marks every frame and releases the clip it recorded."""
    output = tools.start_on_clip(
        roop_guard.install(guard, model=MODEL), "roop", photos["astronaut"], photos["astronaut"], tmp_path
    )
    record = guard.log.query()[-1].record
    assert record.decision == "allowed" and record.output is not None, record.reasons
    assert hashlib.sha256(output.read_bytes()).hexdigest() == record.output.sha256
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(("temp", ".swapped"))] == []
    assert workspace_empty(guard)


def test_start_video_blocked_leaves_nothing(
    roop: None, guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    installation = roop_guard.install(guard, model=MODEL)
    hopper = photos["hopper"]  # no target consent
    output = tools.start_on_clip(installation, "roop", photos["astronaut"], hopper, tmp_path)
    assert not output.exists()
    assert guard.log.query()[-1].record.decision == "blocked"
    assert workspace_empty(guard)


def test_a_file_written_at_the_real_destination_by_a_failed_run_is_removed(
    guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    """Code that writes the real output path itself (a global it reads, a copy made before the
    processing) and then fails leaves nothing there."""
    output = tmp_path / "swapped.jpg"

    @protect_paths(guard, model=MODEL, sources="source_path")
    def process_image(source_path: str, target_path: str, output_path: str) -> None:
        shutil.copy2(target_path, output)  # the unswapped copy, at the real destination
        raise RuntimeError("the model ran out of memory")

    source = tools.still(photos["astronaut"], tmp_path / "source.jpg")
    with pytest.raises(RuntimeError, match="out of memory"):
        process_image(str(source), str(source), str(output))
    assert not output.exists()
    assert guard.log.query()[-1].record.reasons[0]["check"] == "pipeline"
