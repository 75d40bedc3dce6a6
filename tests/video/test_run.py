"""Guard.run_video end to end: real clips, real models, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from fusionguard.audit.log import Filters
from fusionguard.audit.record import ModelInfo
from fusionguard.audit.verify import verify_log
from fusionguard.checks.nsfw import FakeNsfw
from fusionguard.demo import swap
from fusionguard.errors import BadInput, ConsentRequired, NsfwContent
from fusionguard.guard import Guard, RunInputs
from fusionguard.policy import Policy
from fusionguard.video.decode import decode_frames
from fusionguard.video.marking import detect_clip
from fusionguard.video.probe import probe_video
from tests.test_guard import make_guard

pytestmark = pytest.mark.slow
MODEL = ModelInfo("fusionguard-demo-swap", "1.0", "apache-2.0")


def identity(rgb: np.ndarray, index: int, run: RunInputs) -> np.ndarray:
    return rgb


def nothing_left(guard: Guard, out_dir: Path, name: str) -> None:
    root = guard.workspaces.root
    assert not root.exists() or not any(root.iterdir())
    assert not [p.name for p in out_dir.iterdir() if p.name.startswith((name, f".{name}"))]


def frames_of(path: Path, limit: int = 8) -> list[np.ndarray]:
    rules = Policy.default().video
    frames = []
    for frame in decode_frames(probe_video(path, rules), rules):
        frames.append(frame.rgb)
        if len(frames) == limit:
            break
    return frames


def test_frame_wise_swap_is_marked_recorded_and_released(
    video_guard: Guard, portraits: dict[str, Path], scenes: dict[str, Path], tmp_path: Path
) -> None:
    source = swap._read_rgb(str(portraits["hopper"]), "source")

    def swap_every_frame(rgb: np.ndarray, index: int, run: RunInputs) -> np.ndarray:
        return swap.swap_face(source, rgb)

    output = tmp_path / "swapped.mp4"
    result = video_guard.run_video(
        sources=[portraits["hopper"]],
        target=scenes["clean"],
        model=MODEL,
        frame_pipeline=swap_every_frame,
        output_path=output,
    )
    info = probe_video(output, video_guard.policy.video)
    assert (info.frames, info.width, info.height, info.audio_codecs) == (50, 384, 288, ("aac",))
    found = detect_clip(video_guard.codec, frames_of(output))
    assert found is not None and found.payload == result.watermark_id
    stored = video_guard.log.get(result.record_id).record
    video = stored.extra["video"]
    assert stored.output is not None and stored.output.sha256 == result.output_sha256
    assert video["output"]["frames"] == 50 and video["output"]["codec"] == "h264"
    assert [s["why"] for s in video["samples"]["output"]["samples"]][:2] == ["start", "interval"]
    assert len(video["vpdq"]) == len(video["samples"]["output"]["samples"]) >= 3
    hopper_id = stored.sources[0].identities[0]
    assert [t["identity"] for t in video["samples"]["output"]["tracks"]] == [hopper_id]
    assert stored.targets[0].identities and stored.targets[0].identities[0] != hopper_id
    verify_log(video_guard.log)
    nothing_left(video_guard, tmp_path, "nothing")


def test_a_face_on_screen_for_one_second_cannot_escape_consent(
    video_guard: Guard, portraits: dict[str, Path], scenes: dict[str, Path], tmp_path: Path
) -> None:
    calls = []

    def pipeline(rgb: np.ndarray, index: int, run: RunInputs) -> np.ndarray:
        calls.append(index)
        return rgb

    with pytest.raises(
        ConsentRequired, match=r"face track 2 \(on screen at 2\.00 s\) is id-\w+, who has no"
    ) as error:
        video_guard.run_video(
            sources=[portraits["astronaut"]],
            target=scenes["intruder"],
            model=MODEL,
            frame_pipeline=pipeline,
            output_path=tmp_path / "out.mp4",
        )
    assert not calls, "the pipeline must not run on a clip that failed its pre-checks"
    blocked = video_guard.log.get(error.value.record_id or "").record
    assert blocked.decision == "blocked" and blocked.reasons[0]["data"]["times"] == [2.0]
    nothing_left(video_guard, tmp_path, "out.mp4")


def test_file_wise_process_video_written_like_facefusion_runs_unchanged(
    video_guard: Guard, portraits: dict[str, Path], scenes: dict[str, Path], tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    def process_video(source_paths: list[str], target_path: str, output_path: str) -> None:
        """FaceFusion 3.3's shape: frames into a temp dir, processed one by one, merged, audio restored."""
        temp = os.path.join(tempfile.gettempdir(), "facefusion", Path(target_path).stem)
        os.makedirs(temp, exist_ok=True)
        seen["temp"] = temp
        source = swap._read_rgb(source_paths[0], "source")
        with av.open(target_path) as clip:
            rate = clip.streams.video[0].average_rate
            for number, frame in enumerate(clip.decode(video=0)):
                frame.to_image().save(os.path.join(temp, f"{number:04d}.png"))
        names = sorted(os.listdir(temp))
        for name in names:  # process_frames
            path = os.path.join(temp, name)
            rgb = swap._read_rgb(path, "target")
            av.VideoFrame.from_ndarray(swap.swap_face(source, rgb), format="rgb24").to_image().save(path)
        silent = os.path.join(temp, "temp.mp4")
        with av.open(silent, "w") as merged:  # merge_video
            stream = merged.add_stream("libx264", rate=rate)
            stream.codec_context.width, stream.codec_context.height = 384, 288  # type: ignore[union-attr]
            stream.codec_context.pix_fmt = "yuv420p"  # type: ignore[union-attr]
            for name in names:
                image = av.VideoFrame.from_image(Image.open(os.path.join(temp, name)))
                for packet in stream.encode(image):  # type: ignore[union-attr]
                    merged.mux(packet)
            for packet in stream.encode(None):  # type: ignore[union-attr]
                merged.mux(packet)
        with (
            av.open(silent) as video,
            av.open(target_path) as audio,
            av.open(output_path, "w") as out,
        ):  # restore_audio
            v_out = out.add_stream_from_template(video.streams.video[0])
            a_out = out.add_stream_from_template(audio.streams.audio[0])
            for packet in video.demux(video.streams.video[0]):
                if packet.dts is not None:
                    packet.stream = v_out
                    out.mux(packet)
            for packet in audio.demux(audio.streams.audio[0]):
                if packet.dts is not None:
                    packet.stream = a_out
                    out.mux(packet)

    def pipeline(run: RunInputs) -> Path:
        out = run.workspace.file("facefusion-output.mp4")
        process_video([str(p) for p in run.source_files], str(run.target_file), str(out))
        return out

    output = tmp_path / "tool.mp4"
    result = video_guard.run_video(
        sources=[portraits["hopper"]],
        target=scenes["clean"],
        model=MODEL,
        file_pipeline=pipeline,
        output_path=output,
    )
    assert Path(seen["temp"]).is_relative_to(video_guard.workspaces.root)  # the tool's temp dir was ours
    assert not Path(seen["temp"]).exists()
    found = detect_clip(video_guard.codec, frames_of(output))
    assert found is not None and found.payload == result.watermark_id
    assert result.video["pipeline"] == "file" and probe_video(
        output, video_guard.policy.video
    ).audio_codecs == ("aac",)
    nothing_left(video_guard, tmp_path, "nothing")


def test_sampled_nsfw_scores_name_frame_times(
    video_guard: Guard, portraits: dict[str, Path], scenes: dict[str, Path], tmp_path: Path
) -> None:
    video_guard.policy = replace(
        video_guard.policy, nsfw=replace(video_guard.policy.nsfw, threshold_inputs=0.0, check_sources=False)
    )
    with pytest.raises(
        NsfwContent,
        match=r"target: 3 of 3 sampled frames score at or above the threshold 0\.0 "
        r"\(any sampled frame blocks\): 0\.00 s \(0\.\d+\), 1\.00 s",
    ):
        video_guard.run_video(
            sources=[portraits["astronaut"]],
            target=scenes["clean"],
            model=MODEL,
            frame_pipeline=identity,
            output_path=tmp_path / "out.mp4",
        )
    nothing_left(video_guard, tmp_path, "out.mp4")


def test_a_failing_pipeline_is_recorded_and_leaves_nothing(
    video_guard: Guard, portraits: dict[str, Path], scenes: dict[str, Path], tmp_path: Path
) -> None:
    def broken(rgb: np.ndarray, index: int, run: RunInputs) -> np.ndarray:
        if index == 30:
            raise RuntimeError("model crashed")
        return rgb

    with pytest.raises(RuntimeError, match="model crashed"):
        video_guard.run_video(
            sources=[portraits["astronaut"]],
            target=scenes["clean"],
            model=MODEL,
            frame_pipeline=broken,
            output_path=tmp_path / "out.mp4",
        )
    (last,) = video_guard.log.query(Filters(decision="blocked"))
    assert "model crashed" in last.record.reasons[0]["detail"]
    nothing_left(video_guard, tmp_path, "out.mp4")

    def outside(run: RunInputs) -> str:
        return str(run.target_file.parent.parent.parent / "elsewhere.mp4") if run.target_file else ""

    with pytest.raises(BadInput, match="outside its workspace"):
        video_guard.run_video(
            sources=[portraits["astronaut"]],
            target=scenes["clean"],
            model=MODEL,
            file_pipeline=outside,
            output_path=tmp_path / "out.mp4",
        )
    nothing_left(video_guard, tmp_path, "out.mp4")

    def truncating(run: RunInputs) -> Path:
        assert run.target_file is not None
        out = run.workspace.file("cut.mp4")
        out.write_bytes(run.target_file.read_bytes()[:5000])
        return out

    with pytest.raises(BadInput, match="pipeline output: unreadable MP4"):
        video_guard.run_video(
            sources=[portraits["astronaut"]],
            target=scenes["clean"],
            model=MODEL,
            file_pipeline=truncating,
            output_path=tmp_path / "out.mp4",
        )
    details = [r.record.reasons[0]["detail"] for r in video_guard.log.query(Filters(decision="blocked"))]
    assert details[-1].startswith("the wrapped pipeline's video was refused: pipeline output: unreadable")
    nothing_left(video_guard, tmp_path, "out.mp4")


def _child(home: Path, db_url: str, body: str) -> str:
    return textwrap.dedent(f"""
        import os, resource, signal, sys, time
        from pathlib import Path
        import numpy as np
        from fusionguard.audit.keys import KeyRing
        from fusionguard.audit.record import ModelInfo
        from fusionguard.checks.nsfw import FakeNsfw
        from fusionguard.faces import DlibBackend
        from tests.conftest import FixedClock
        from tests.test_guard import make_guard
        home = Path({str(home)!r})
        clock = FixedClock()
        guard = make_guard({db_url!r}, home, KeyRing.load(home / "keys"), clock, DlibBackend(), FakeNsfw())
        guard.policy = guard.policy.__class__.from_mapping(
            {{"name": "t", "version": 1, "consent": {{"required": False}}}})
        args = sys.argv[1:]
    """) + textwrap.dedent(body)


def test_sigkill_in_the_middle_of_an_encode_leaves_nothing_after_the_next_start(
    db_url: str, home: Path, ring: Any, clock: Any, faces: Any, portraits: dict[str, Path], tmp_path: Path
) -> None:
    if "postgresql" in db_url:
        pytest.skip("the workspace sweep does not depend on the database")
    from tests.video.clips import portrait_frames, write_clip

    long_clip = write_clip(tmp_path / "long.mp4", portrait_frames(750))  # 30 s
    script = _child(
        home,
        db_url,
        """
        def slow(rgb, index, run):
            if index == 40:
                print(run.workspace.path, flush=True)
            time.sleep(0.01)
            return rgb
        guard.run_video(sources=[args[0]], target=args[1], model=ModelInfo("m", "1", "apache-2.0"),
                        frame_pipeline=slow, output_path=args[2])
    """,
    )
    output = tmp_path / "out.mp4"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(portraits["astronaut"]), str(long_clip), str(output)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    workspace = Path(child.stdout.readline().strip())
    assert any(workspace.iterdir())  # target copy, sources, the half-written output
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    guard = make_guard(db_url, home, ring, clock, faces, FakeNsfw())
    assert not workspace.exists()
    nothing_left(guard, tmp_path, "out.mp4")


def test_the_disk_filling_during_the_encode_releases_nothing(
    db_url: str,
    home: Path,
    ring: Any,
    clock: Any,
    faces: Any,
    portraits: dict[str, Path],
    scenes: dict[str, Path],
    tmp_path: Path,
) -> None:
    if "postgresql" in db_url:
        pytest.skip("the encoder's failure does not depend on the database")
    make_guard(db_url, home, ring, clock, faces, FakeNsfw())
    # RLIMIT_FSIZE makes every write past 1.5 MB fail with EFBIG, as a full disk fails with ENOSPC:
    # the inputs fit, the noisy output does not.
    script = _child(
        home,
        db_url,
        """
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_500_000, 1_500_000))
        noisy = lambda rgb, index, run: np.random.default_rng(index).integers(0, 256, rgb.shape, np.uint8)
        try:
            guard.run_video(sources=[args[0]], target=args[1], model=ModelInfo("m", "1", "apache-2.0"),
                            frame_pipeline=noisy, output_path=args[2])
        except Exception as error:
            print(type(error).__name__, str(error))
    """,
    )
    output = tmp_path / "out.mp4"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", script, str(portraits["astronaut"]), str(scenes["clean"]), str(output)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert done.stdout.startswith("FusionGuardError writing the video output output.mp4 failed"), done.stdout
    assert "\n" not in done.stdout.strip()
    guard = make_guard(db_url, home, ring, clock, faces, FakeNsfw())
    nothing_left(guard, tmp_path, "out.mp4")


def test_small_frames_and_bgr_pipelines(
    video_guard: Guard, portraits: dict[str, Path], tmp_path: Path, db_url: str
) -> None:
    if "postgresql" in db_url:
        pytest.skip("frame size does not depend on the database")
    from tests.video.clips import portrait_frames, write_clip

    small = write_clip(tmp_path / "small.mp4", portrait_frames(25, size=(320, 240)))
    reds = []

    def opencv_style(bgr: np.ndarray, index: int, run: RunInputs) -> np.ndarray:
        reds.append(float(bgr[:, :, 2].mean() - bgr[:, :, 0].mean()))  # the orange suit: R > B
        return bgr

    result = video_guard.run_video(
        sources=[portraits["astronaut"]],
        target=small,
        model=MODEL,
        frame_pipeline=opencv_style,
        output_path=tmp_path / "small-out.mp4",
        color_order="BGR",
    )
    assert min(reds) > 10
    rgb = frames_of(tmp_path / "small-out.mp4", 1)[0]
    assert rgb[:, :, 0].mean() - rgb[:, :, 2].mean() > 10  # back in RGB order in the file
    found = detect_clip(video_guard.codec, frames_of(tmp_path / "small-out.mp4", 25))
    assert found is not None and found.payload == result.watermark_id
