"""FaceFusion 3.8.1 and 3.3.2, vendored unchanged, guarded by ``fusionguard.integrations.facefusion``.

Only the model calls are replaced (tests/integrations/tools.py); FaceFusion's own program parses the
command line, its job manager writes the job files, its workflow copies and finalizes with ffmpeg.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fusionguard.audit.record import ModelInfo
from fusionguard.guard import Guard
from fusionguard.integrations import facefusion as ff_guard
from fusionguard.media import encode_image, load_image
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
_ = photos  # the session fixture, re-exported for this module


@pytest.fixture(params=["3.8.1", "3.3.2"])
def facefusion(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    version: str = request.param
    with tools.vendored(tools.FACEFUSION[version], "facefusion", monkeypatch):
        tools.facefusion_models(version, monkeypatch)
        yield version


def write(photo: Path, path: Path) -> Path:
    rgb = load_image(photo).rgb
    if path.suffix == ".webp":  # lossless: lossy WebP makes dlib see a second face in the astronaut
        from PIL import Image

        Image.fromarray(rgb).save(path, format="WEBP", lossless=True)
    else:
        path.write_bytes(encode_image(rgb, "jpeg" if path.suffix == ".jpg" else "png"))
    return path


def headless(tmp_path: Path, sources: list[Path], target: Path, output: Path, *extra: str) -> int:
    from facefusion import core

    args = tools.facefusion_args(sources, target, output, tmp_path / "jobs", tmp_path / "temp", *extra)
    code: int = core.process_headless(args)
    return code


@pytest.mark.parametrize("ext", [".jpg", ".webp", ".png"])
def test_headless_step_releases_the_recorded_file(
    facefusion: str, guard: Guard, photos: dict[str, Path], tmp_path: Path, ext: str
) -> None:
    source = write(photos["astronaut"], tmp_path / "source.jpg")
    target = write(photos["astronaut"], tmp_path / f"target{ext}")
    output = tmp_path / f"swapped{ext}"
    (tmp_path / "temp").mkdir()
    with ff_guard.install(guard, model=MODEL) as installation:
        assert installation.patched[0] == "facefusion.core.process_step"
        assert headless(tmp_path, [source], target, output) == 0
    from facefusion import core, state_manager

    assert core.process_step.__module__ == "facefusion.core"  # uninstalled
    released = output.read_bytes()
    record = guard.log.query()[-1].record
    assert record.decision == "allowed" and record.output is not None
    assert hashlib.sha256(released).hexdigest() == record.output.sha256
    assert load_image(released).format == {".jpg": "JPEG", ".webp": "WEBP", ".png": "PNG"}[ext]
    detection = guard.codec.detect(load_image(released).rgb)
    assert detection is not None and f"{detection.payload:016x}" == record.output.watermark_id
    # The swap happened (the stand-in darkens the face) and nothing was left anywhere.
    assert load_image(released).rgb.mean() < load_image(target).rgb.mean()
    assert workspace_empty(guard)
    assert list((tmp_path / "temp").rglob("*")) in ([], [tmp_path / "temp" / "facefusion"])
    assert sorted(p.name for p in (tmp_path / "jobs" / "completed").iterdir())[0].startswith("headless")
    # FaceFusion's state points at the caller's files again, not at the deleted workspace.
    assert state_manager.get_item("target_path") == str(target)
    assert state_manager.get_item("temp_path") == str(tmp_path / "temp")


def test_blocked_step_returns_false_with_a_blocked_record(
    facefusion: str, guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    source = write(photos["astronaut"], tmp_path / "source.jpg")
    target = write(photos["hopper"], tmp_path / "target.jpg")  # Grace Hopper gave no target consent
    output = tmp_path / "swapped.jpg"
    with ff_guard.install(guard, model=MODEL):
        assert headless(tmp_path, [source], target, output) == 1
        from facefusion import core

        step_args: dict[str, Any] = {"source_paths": [str(source)], "target_path": str(target)}
        step_args["output_path"] = str(output)
        assert core.process_step("direct", 0, step_args) is False  # False, not a traceback
    assert not output.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".swapped")] == []
    records = [r.record for r in guard.log.query()]
    assert [r.decision for r in records[-2:]] == ["blocked", "blocked"]
    assert records[-1].reasons[0]["check"] == "consent"
    assert records[-1].extra["job_id"] == "direct"
    assert list((tmp_path / "jobs" / "failed").iterdir())
    assert workspace_empty(guard)


def test_audio_source_is_recorded_not_refused(
    facefusion: str, guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    source = write(photos["astronaut"], tmp_path / "source.jpg")
    target = write(photos["astronaut"], tmp_path / "target.png")
    voice = tmp_path / "voice.wav"
    voice.write_bytes(_wav(np.sin(np.linspace(0, 440 * 2 * np.pi, 8000)).astype(np.float32)))
    output = tmp_path / "swapped.png"
    with ff_guard.install(guard, model=MODEL):
        assert headless(tmp_path, [source, voice], target, output) == 0
    record = guard.log.query()[-1].record
    assert record.decision == "allowed" and len(record.sources) == 1
    assert record.extra["audio_sources"] == hashlib.sha256(voice.read_bytes()).hexdigest()
    assert output.exists()


def _wav(samples: np.ndarray, rate: int = 8000) -> bytes:
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((samples * 32000).astype("<i2").tobytes())
    return buffer.getvalue()


def test_ui_instant_runner_and_preview_are_guarded(
    facefusion: str, guard: Guard, photos: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The UI's runner imported ``process_step`` by name before ``install``: it is patched too (and
    put back); the preview's frames are marked by a session of their own."""
    if facefusion != "3.8.1":
        pytest.skip("only FaceFusion 3.8.1's UI modules are vendored")
    tools.class_placeholders(monkeypatch, ["gradio", "gradio.themes"])  # the web UI is never served
    from facefusion.args import collect_step_args
    from facefusion.audio import create_empty_audio_frame
    from facefusion.uis.components import instant_runner, preview
    from facefusion.vision import read_static_image, read_static_images

    from fusionguard.watermark import detect_frames

    original = instant_runner.process_step
    source = write(photos["astronaut"], tmp_path / "source.jpg")
    target = write(photos["astronaut"], tmp_path / "target.jpg")
    output = tmp_path / "swapped.jpg"
    tools.facefusion_args([source], target, output, tmp_path / "jobs", tmp_path)
    with ff_guard.install(guard, model=MODEL) as installation:
        assert "facefusion.uis.components.instant_runner.process_step" in installation.patched
        assert instant_runner.create_and_run_job(collect_step_args()) is True
        record = guard.log.query()[-1].record
        assert record.output is not None
        assert hashlib.sha256(output.read_bytes()).hexdigest() == record.output.sha256
        empty = create_empty_audio_frame()
        frames = [
            preview.process_preview_frame(
                read_static_image(str(target)),
                read_static_images([str(source)]),
                empty,
                empty,
                [read_static_image(str(target), "rgba")],
                "default",
                "512x512",
            )
            for _ in range(4)
        ]
    assert instant_runner.process_step is original
    sessions = [r.record for r in guard.log.query() if r.record.extra.get("tool") == "facefusion-preview"]
    assert [r.extra["stream"]["phase"] for r in sessions] == ["start", "close"]
    found = detect_frames(guard.codec, [np.ascontiguousarray(f[:, :, :3]) for f in frames])
    assert found is not None and f"{found.payload:016x}" == sessions[-1].extra["stream"]["watermark_id"]
    assert os.getcwd() == str(tools.FACEFUSION[facefusion])


def test_two_concurrent_jobs_with_the_same_target_name(
    facefusion: str, guard: Guard, photos: dict[str, Path], tmp_path: Path, db_url: str, home: Path
) -> None:
    """Two FaceFusion processes, one shared temp_path, both targets named ``target.jpg``: unguarded,
    both would use ``<temp>/facefusion/target/``; guarded, each works in its own workspace."""
    import subprocess
    import sys

    from tests.integrations import facefusion_child

    temp, start = tmp_path / "temp", tmp_path / "start"
    temp.mkdir()
    children = []
    for i in range(2):
        folder = tmp_path / f"job{i}"
        folder.mkdir()
        source = write(photos["astronaut"], folder / "source.jpg")
        target = write(photos["astronaut"], folder / "target.jpg")
        argv = [facefusion, db_url, str(home), str(folder / "witness"), str(start), str(source)]
        argv += [str(target), str(folder / "out.jpg"), str(tmp_path / f"jobs{i}"), str(temp)]
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", facefusion_child.__name__, *argv],
                stdout=subprocess.PIPE,
                text=True,
                cwd=Path(__file__).resolve().parents[2],
            )
        )
    start.touch()
    codes = [child.communicate(timeout=300)[0].split()[-1] for child in children]
    assert codes == ["0", "0"]
    outputs = [tmp_path / f"job{i}" / "out.jpg" for i in range(2)]
    records = {r.record.output.sha256: r.record for r in guard.log.query() if r.record.output}
    for output in outputs:
        assert hashlib.sha256(output.read_bytes()).hexdigest() in records
    assert len({hashlib.sha256(o.read_bytes()).hexdigest() for o in outputs}) == 2
    assert not list(temp.rglob("target*"))
    assert workspace_empty(guard)


def test_video_step_goes_through_run_video(
    facefusion: str, guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    """FaceFusion's own video workflow (frames extracted into its temp folder, processed one by one,
    merged, audio restored, all by ffmpeg) runs in the workspace; the released clip is the recorded one."""

    source = write(photos["astronaut"], tmp_path / "source.jpg")
    target = tools.face_clip(load_image(photos["astronaut"]).rgb, tmp_path / "target.mp4")
    output = tmp_path / "swapped.mp4"
    (tmp_path / "temp").mkdir()
    with ff_guard.install(guard, model=MODEL):
        # FaceFusion's default audio encoder (FLAC) into MP4 fails with Debian's ffmpeg, and FaceFusion
        # then drops the audio itself; AAC restores it.
        assert headless(tmp_path, [source], target, output, "--output-audio-encoder", "aac") == 0
    record = guard.log.query()[-1].record
    assert record.decision == "allowed" and record.output is not None
    assert hashlib.sha256(output.read_bytes()).hexdigest() == record.output.sha256
    import av

    with av.open(str(output)) as clip:
        assert [s.type for s in clip.streams] == ["video", "audio"]  # the audio FaceFusion restored
        assert clip.streams.video[0].frames == 10
    assert list((tmp_path / "temp").rglob("*.*")) == []
    assert workspace_empty(guard)


class Camera:
    """A webcam stand-in for OpenCV's VideoCapture: the frames of a clip, over and over."""

    def __init__(self, clip: Path) -> None:
        import cv2

        capture = cv2.VideoCapture(str(clip))
        self.frames = []
        while (frame := capture.read()[1]) is not None:
            self.frames.append(frame)
        capture.release()
        self.count = 0

    def isOpened(self) -> bool:
        return True

    def read(self) -> tuple[bool, Any]:
        import time

        time.sleep(0.04)  # a 25 fps camera
        self.count += 1
        return True, self.frames[(self.count - 1) % len(self.frames)].copy()


def _stream(tmp_path: Path, photos: dict[str, Path], face: str, frames: int = 10) -> list[Any]:
    """FaceFusion's own webcam loop (``multi_process_capture``: 3.8.1's ``streamer``, 3.3.2's UI
    ``webcam`` component; a thread pool calling ``process_stream_frame`` per frame) on a camera."""
    import itertools

    source = write(photos["astronaut"], tmp_path / "source.jpg")
    clip = tools.face_clip(load_image(photos[face]).rgb, tmp_path / "camera.mp4")
    tools.facefusion_args([source], clip, tmp_path / "unused.mp4", tmp_path / "jobs", tmp_path)
    camera = Camera(clip)
    try:
        from facefusion import streamer

        shown = streamer.multi_process_capture(camera, 10)  # type: ignore[arg-type]
    except ImportError:  # 3.3.2
        from facefusion.face_analyser import get_average_face, get_many_faces
        from facefusion.uis.components import webcam
        from facefusion.vision import read_static_images

        source_face = get_average_face(get_many_faces(read_static_images([str(source)])))
        shown = webcam.multi_process_capture(source_face, camera, 10)  # type: ignore[arg-type]
    try:
        return list(itertools.islice(shown, frames))
    finally:
        shown.close()  # a camera never ends: the UI stops the generator


def _stream_records(guard: Guard) -> list[Any]:
    return [r.record for r in guard.log.query() if "stream" in r.record.extra]


def ui_webcam(version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """3.3.2 keeps its webcam loop in the UI's webcam component: load it (Gradio's widgets replaced)
    before ``install``, as FaceFusion's UI does before a webcam starts."""
    if version == "3.3.2":
        tools.class_placeholders(monkeypatch, ["gradio", "gradio.themes"])
        import facefusion.uis.components.webcam  # noqa: F401


def test_webcam_stream_frames_are_marked_and_the_session_recorded(
    facefusion: str, guard: Guard, photos: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fusionguard.watermark import detect_frames

    ui_webcam(facefusion, monkeypatch)
    with ff_guard.install(guard, model=MODEL) as installation:
        assert any(p.endswith(".process_stream_frame") for p in installation.patched)
        shown = _stream(tmp_path, photos, "astronaut")
    assert len(shown) == 10 and all(frame.shape == shown[0].shape for frame in shown)
    records = _stream_records(guard)
    assert [r.extra["stream"]["phase"] for r in records] == ["start", "close"]
    close = records[-1]
    released = close.extra["stream"]["frames_released"]
    # Every frame the loop processed left marked (or withheld), including the few in flight at stop.
    assert released + close.extra["stream"]["frames_withheld"] >= 10 and released > 0
    found = detect_frames(guard.codec, [f for f in shown if f.mean() > 8])
    assert found is not None and f"{found.payload:016x}" == close.extra["stream"]["watermark_id"]


def test_webcam_stream_with_a_non_consenting_face_goes_black(
    facefusion: str, guard: Guard, photos: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ui_webcam(facefusion, monkeypatch)
    with ff_guard.install(guard, model=MODEL):
        shown = _stream(tmp_path, photos, "hopper")  # Grace Hopper on camera: no target consent
    # Nothing of her face left the stream: black frames (carrying only the faint watermark).
    assert max(float(frame.mean()) for frame in shown) < 8, [float(f.mean()) for f in shown]
    phases = [r.extra["stream"]["phase"] for r in _stream_records(guard)]
    assert phases[0] == "start" and "blocked" in phases and phases[-1] == "close"


def test_processor_process_image_called_directly(
    facefusion: str, guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    """FaceFusion 3.3.2's ``process_image(source_paths: List[str], ...)``, called by a script: guarded,
    given a list as declared. (3.4.0 removed it: guard the job step there.)"""
    if facefusion != "3.3.2":
        pytest.skip("FaceFusion 3.4.0 removed the processors' process_image")
    from facefusion.processors.modules import face_swapper

    source = write(photos["astronaut"], tmp_path / "source.jpg")
    target = write(photos["astronaut"], tmp_path / "target.png")
    output = tmp_path / "swapped.png"
    tools.facefusion_args(
        [source], target, output, tmp_path / "jobs", tmp_path, "--face-selector-mode", "one"
    )
    with ff_guard.install(guard, model=MODEL) as installation:
        assert "facefusion.processors.modules.face_swapper.process_image" in installation.patched
        assert face_swapper.process_image([str(source)], str(target), str(output)) is None
    record = guard.log.query()[-1].record
    assert record.decision == "allowed" and record.output is not None
    assert hashlib.sha256(output.read_bytes()).hexdigest() == record.output.sha256
    assert load_image(output).rgb.mean() < load_image(target).rgb.mean()  # the stand-in swap ran


def test_a_step_facefusion_refuses_is_false_and_recorded(
    facefusion: str, guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    """FaceFusion refuses a target and output whose extensions differ: the step returns False, the
    run leaves a signed record of the failure and nothing at the destination."""
    source = write(photos["astronaut"], tmp_path / "source.jpg")
    target = write(photos["astronaut"], tmp_path / "target.jpg")
    output = tmp_path / "swapped.png"
    with ff_guard.install(guard, model=MODEL):
        assert headless(tmp_path, [source], target, output) == 1
    record = guard.log.query()[-1].record
    assert record.decision == "blocked" and record.reasons[0]["check"] == "pipeline"
    assert "reported failure" in record.reasons[0]["detail"]
    assert not output.exists() and workspace_empty(guard)
