"""``fusionguard demo --video``: the guarded face swap on a clip, a leaked excerpt traced, a blocked clip.

1. enrol the two demo portraits (as ``fusionguard demo``: the astronaut consents as source and target,
   Grace Hopper as source only);
2. build a 4 s 640x480 25 fps clip offline: a slow camera move (zoom and pan) over the astronaut
   portrait, with a generated two-tone audio track;
3. swap Grace Hopper's face onto every frame through ``Guard.run_video`` (frame-wise): sampled
   NSFW and consent checks, every frame watermarked, audio copied, no metadata, one signed record;
4. leak an excerpt (2 s, downscaled to 480x360, re-encoded at CRF 30, no audio) and trace it;
5. a clip in which Grace Hopper's face (no target consent) is on screen for one second: blocked,
   with the time of the face in the reasons, and nothing written;
6. a strip of frames (``video-strip.jpg``): target, released output, leaked excerpt, blocked clip.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fusionguard.audit.keys import KeyRing
from fusionguard.config import Settings, utc_now
from fusionguard.demo import swap
from fusionguard.demo.run import DEMO_MODEL, _demo_photos, _ensure_person
from fusionguard.errors import PolicyViolation
from fusionguard.guard import Guard, RunInputs
from fusionguard.media import encode_image, load_image
from fusionguard.policy import Policy
from fusionguard.store import db
from fusionguard.trace import Tracer
from fusionguard.video.decode import decode_frames
from fusionguard.video.probe import probe_video
from fusionguard.video.trace import trace_video

FPS = 25
SIZE = (640, 480)


def _write_clip(path: Path, frames: list[np.ndarray], *, audio: bool, crf: int = 18) -> Path:
    """Encode frames (and a generated tone) with PyAV; no metadata is set."""
    import av

    with av.open(str(path), "w") as out:
        stream: Any = out.add_stream("libx264", rate=FPS, options={"crf": str(crf), "preset": "veryfast"})
        context = stream.codec_context
        context.width, context.height = frames[0].shape[1], frames[0].shape[0]
        context.pix_fmt = "yuv420p"
        sound: Any = out.add_stream("aac", rate=48000) if audio else None
        if sound is not None:
            sound.layout = "stereo"
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if sound is not None:
            t = np.arange(int(48000 * len(frames) / FPS)) / 48000
            tone = 0.15 * np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)])
            for start in range(0, t.size - 1024 + 1, 1024):
                piece = av.AudioFrame.from_ndarray(
                    tone[:, start : start + 1024].astype(np.float32), format="fltp", layout="stereo"
                )
                piece.sample_rate = 48000
                for packet in sound.encode(piece):
                    out.mux(packet)
            for packet in sound.encode(None):
                out.mux(packet)
    return path


def camera_move(still: np.ndarray, seconds: float = 4.0) -> list[np.ndarray]:
    """A slow zoom-in and pan over a still photo, as 640x480 frames."""
    width, height = SIZE
    count = round(seconds * FPS)
    frames = []
    for index in range(count):
        progress = index / max(1, count - 1)
        crop_w = int(still.shape[1] * (0.95 - 0.2 * progress))
        crop_h = crop_w * height // width
        x0 = int((still.shape[1] - crop_w) * (0.3 + 0.2 * progress))
        y0 = int((still.shape[0] - crop_h) * 0.2)
        frames.append(
            cv2.resize(still[y0 : y0 + crop_h, x0 : x0 + crop_w], SIZE, interpolation=cv2.INTER_AREA)
        )
    return frames


def _with_intruder(frames: list[np.ndarray], face: np.ndarray, visible: range) -> list[np.ndarray]:
    patch = cv2.resize(face, (170, 190), interpolation=cv2.INTER_AREA)
    out = []
    for index, frame in enumerate(frames):
        frame = frame.copy()
        if index in visible:
            frame[480 - 200 : 480 - 10, 640 - 180 : 640 - 10] = patch
        out.append(frame)
    return out


def _leak(released: Path, out: Path) -> Path:
    """2 s, downscaled to 480x360, re-encoded at CRF 30, audio dropped."""
    video = Policy.default().video
    frames = [
        cv2.resize(f.rgb, (480, 360), interpolation=cv2.INTER_AREA)
        for f in decode_frames(probe_video(released, video), video)
        if 1.0 <= f.time < 3.0
    ]
    return _write_clip(out / "leaked-excerpt.mp4", frames, audio=False, crf=30)


def _frame_at(path: Path, seconds: float) -> np.ndarray:
    video = Policy.default().video
    for frame in decode_frames(probe_video(path, video), video):
        if frame.time >= seconds:
            return frame.rgb
    raise AssertionError(f"{path} is shorter than {seconds} s")


def run_video_demo(settings: Settings, out: Path, echo: Callable[[str], None] = print) -> None:
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not (settings.keys_dir / "ring.json").exists():
        KeyRing.create(settings.keys_dir, now=utc_now())
    db.upgrade(db.open_engine(settings.db_url))
    out.mkdir(parents=True, exist_ok=True)
    guard = Guard.from_policy("default", home=settings.home, db_url=settings.db_url, actor="demo")
    astronaut, hopper = _demo_photos(out)

    echo("== 1. enrol two consenting people (public-domain portraits)")
    collins = _ensure_person(
        guard.registry, guard, "Eileen Collins (NASA portrait)", astronaut, ["source", "target"], echo
    )
    grace = _ensure_person(guard.registry, guard, "Grace Hopper (US Navy portrait)", hopper, ["source"], echo)
    echo(f"   {collins}: source+target consent   {grace}: source consent only")

    echo("== 2. a 4 s 640x480 clip: a camera move over the astronaut portrait, with a generated tone")
    still = load_image(astronaut).rgb
    target = _write_clip(out / "target.mp4", camera_move(still), audio=True)
    echo(f"   wrote {target}")

    echo("== 3. face swap on every frame through Guard.run_video: Grace Hopper onto the astronaut")
    source = load_image(hopper).rgb

    def swap_frame(rgb: np.ndarray, index: int, run: RunInputs) -> np.ndarray:
        return swap.swap_face(source, rgb)

    released = out / "swapped.mp4"
    released.unlink(missing_ok=True)
    result = guard.run_video(
        sources=[hopper], target=target, model=DEMO_MODEL, frame_pipeline=swap_frame, output_path=released
    )
    video = result.video
    echo(
        f"   wrote {released}: {video['output']['frames']} frames, {video['output']['codec']}, audio "
        f"{video['output']['audio_codecs']} copied, every frame watermarked, no metadata"
    )
    echo(
        f"   record {result.record_id} seq {result.seq}: watermark ID {result.watermark_id:016x}, "
        f"{len(video['samples']['target']['samples'])} target and "
        f"{len(video['samples']['output']['samples'])} output frames checked, "
        f"{len(video['vpdq'])} per-second PDQ fingerprints"
    )

    echo("== 4. a leaked excerpt (2 s, 480x360, CRF 30, no audio) is traced back")
    leaked = _leak(released, out)
    traced = trace_video(Tracer(guard.log, guard.codec), leaked, guard.policy.video)
    for match in traced.matches:
        how = (
            f"watermark, false alarm <= {match.false_alarm_probability:.1e}"
            if match.false_alarm_probability is not None
            else f"PDQ distance {match.pdq_distance}"
        )
        echo(f"   {leaked} -> record {match.record_id} ({how})")
    if not traced.matches:
        echo(f"   {leaked}: {traced.note}")

    echo("== 5. a clip where Grace Hopper (no target consent) is on screen for 1 s")
    frames = _with_intruder(camera_move(still), source[110:360, 160:390], range(50, 75))
    intruded = _write_clip(out / "target-with-bystander.mp4", frames, audio=True)
    blocked = out / "blocked.mp4"
    blocked.unlink(missing_ok=True)
    try:
        guard.run_video(
            sources=[hopper],
            target=intruded,
            model=DEMO_MODEL,
            frame_pipeline=swap_frame,
            output_path=blocked,
        )
    except PolicyViolation as violation:
        echo(f"   blocked (record {violation.record_id}); no output written: {not blocked.exists()}")
        for reason in violation.reasons:
            echo(f"   - {reason}")
    else:  # pragma: no cover - the demo's point is that this is refused
        raise AssertionError("the clip with a non-consenting face was not blocked")

    strip = np.concatenate(
        [
            cv2.resize(_frame_at(path, t), (320, 240), interpolation=cv2.INTER_AREA)
            for path, t in ((target, 2.0), (released, 2.0), (leaked, 1.0), (intruded, 2.2))
        ],
        axis=1,
    )
    (out / "video-strip.jpg").write_bytes(encode_image(strip, "jpeg", quality=85))
    echo(f"== frames (target | released | leaked excerpt | blocked clip): {out / 'video-strip.jpg'}")
