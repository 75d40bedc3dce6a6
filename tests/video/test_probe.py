"""Probing and decoding refuse every bad clip in one line, on real files encoded here with PyAV."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fusionguard.errors import BadInput
from fusionguard.policy import Policy, VideoPolicy
from fusionguard.video.decode import decode_frames
from fusionguard.video.probe import looks_like_video, probe_video
from tests.video.clips import noise_frames, write_clip

RULES = Policy.default().video


def decode_all(path: Path, rules: VideoPolicy = RULES) -> list[float]:
    return [frame.time for frame in decode_frames(probe_video(path, rules), rules)]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", noise_frames(25), faststart=True)


def one_line(error: pytest.ExceptionInfo[BadInput]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_a_good_clip_is_described(clip: Path) -> None:
    info = probe_video(clip, RULES)
    assert (info.container, info.codec, info.width, info.height) == ("mp4", "h264", 160, 120)
    assert (info.frames, info.audio_codecs, info.rotation) == (25, ("aac",), 0)
    assert info.duration_s == pytest.approx(1.0, abs=0.05)
    times = decode_all(clip)
    assert len(times) == 25 and times[1] == pytest.approx(0.04)
    assert looks_like_video(clip)


@pytest.mark.parametrize(
    ("container", "suffix", "codec", "audio"),
    [
        ("mov", ".mov", "libx264", "aac"),
        ("matroska", ".mkv", "libx265", "aac"),
        ("webm", ".webm", "libvpx-vp9", "libopus"),
    ],
)
def test_other_containers_and_codecs(
    tmp_path: Path, container: str, suffix: str, codec: str, audio: str
) -> None:
    path = write_clip(
        tmp_path / f"clip{suffix}", noise_frames(10), container=container, codec=codec, audio=audio
    )
    info = probe_video(path, RULES)
    assert info.container == suffix[1:] and len(decode_all(path)) == 10


def test_animated_gif_webp_and_apng_are_video(tmp_path: Path) -> None:
    frames = [Image.fromarray(f) for f in noise_frames(6)]
    for name in ("anim.gif", "anim.webp", "anim.png"):
        frames[0].save(tmp_path / name, save_all=True, append_images=frames[1:], duration=100, loop=0)
        info = probe_video(tmp_path / name, RULES)
        assert info.frames == 6 and info.duration_s == pytest.approx(0.6)
        assert decode_all(tmp_path / name) == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    frames[0].save(tmp_path / "still.png")
    with pytest.raises(BadInput, match="a still image, not a video") as error:
        probe_video(tmp_path / "still.png", RULES)
    one_line(error)
    assert not looks_like_video(tmp_path / "still.png")


def test_truncated_mp4_is_refused(clip: Path, tmp_path: Path) -> None:
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(BadInput, match=r"only \d+ of the 25 declared frames") as error:
        decode_all(cut)
    one_line(error)
    moov_at_end = write_clip(tmp_path / "plain.mp4", noise_frames(25))
    cut.write_bytes(moov_at_end.read_bytes()[: moov_at_end.stat().st_size // 2])
    with pytest.raises(BadInput, match="unreadable MP4"):
        probe_video(cut, RULES)


def test_an_extension_that_lies_is_named(tmp_path: Path) -> None:
    webm = write_clip(
        tmp_path / "real.webm", noise_frames(5), container="webm", codec="libvpx-vp9", audio=None
    )
    liar = tmp_path / "holiday.mp4"
    liar.write_bytes(webm.read_bytes())
    with pytest.raises(BadInput, match=r"extension '\.mp4' says MP4 but the content is WebM") as error:
        probe_video(liar, RULES)
    one_line(error)
    png = tmp_path / "photo.mp4"
    Image.fromarray(noise_frames(1)[0]).save(png, format="PNG")
    with pytest.raises(BadInput, match="a still image, not a video"):
        probe_video(png, RULES)
    jpeg = tmp_path / "clip.mov"
    Image.fromarray(noise_frames(1)[0]).save(jpeg, format="JPEG")
    with pytest.raises(BadInput, match="a JPEG file, not a video"):
        probe_video(jpeg, RULES)


def test_audio_only_is_refused(tmp_path: Path) -> None:
    import av

    path = tmp_path / "voice.mp4"
    with av.open(str(path), "w") as out:
        sound = out.add_stream("aac", rate=48000)
        sound.layout = "mono"  # type: ignore[union-attr]
        for _ in range(20):
            piece = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            piece.sample_rate = 48000
            for packet in sound.encode(piece):  # type: ignore[union-attr]
                out.mux(packet)
        for packet in sound.encode(None):  # type: ignore[union-attr]
            out.mux(packet)
    with pytest.raises(BadInput, match=r"no video stream \(only audio \(aac\)\)") as error:
        probe_video(path, RULES)
    one_line(error)


def test_zero_frames_and_empty_files_are_refused(tmp_path: Path) -> None:
    import av

    path = tmp_path / "silent-film.mkv"  # a video stream that never gets a frame, beside some audio
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.codec_context.width, stream.codec_context.height = 160, 120  # type: ignore[union-attr]
        stream.codec_context.pix_fmt = "yuv420p"  # type: ignore[union-attr]
        sound = out.add_stream("aac", rate=48000)
        sound.layout = "mono"  # type: ignore[union-attr]
        for _ in range(20):
            piece = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            piece.sample_rate = 48000
            for packet in sound.encode(piece):  # type: ignore[union-attr]
                out.mux(packet)
    with pytest.raises(BadInput, match="zero frames") as error:
        probe_video(path, RULES)
    one_line(error)
    nothing = tmp_path / "nothing.mp4"
    nothing.write_bytes(b"")
    with pytest.raises(BadInput, match="empty file"):
        probe_video(nothing, RULES)


def test_a_ten_hour_clip_is_refused_before_decoding(tmp_path: Path) -> None:
    # Two frames ten hours apart: a real file whose header says 10 h.
    path = write_clip(tmp_path / "long.mkv", noise_frames(2), times=[0.0, 36_000.0], audio=None)
    with pytest.raises(
        BadInput, match=r"3600\d\.\d s long, more than the policy's video.max_duration_s 600"
    ) as e:
        probe_video(path, RULES)
    one_line(e)


def test_an_8k_clip_is_refused_before_decoding(tmp_path: Path) -> None:
    frame = np.full((4320, 7680, 3), 90, np.uint8)
    path = write_clip(tmp_path / "8k.mp4", [frame], audio=None, crf=40)
    with pytest.raises(
        BadInput, match=r"7680x4320 \(33177600 pixels\), more than the policy's video.max_frame"
    ):
        probe_video(path, RULES)


def test_limits_hold_on_what_is_decoded_not_only_on_the_header(clip: Path) -> None:
    tight = replace(RULES, max_frames=10)
    with pytest.raises(BadInput, match="max_frames 10"):
        probe_video(clip, tight)  # the header says 25
    short = replace(RULES, max_duration_s=0.5)
    with pytest.raises(BadInput, match=r"max_duration_s 0\.5"):
        probe_video(clip, short)
    info = probe_video(clip, RULES)
    with pytest.raises(BadInput, match="max_frames 10"):
        list(decode_frames(info, tight))  # a header that lied is caught while decoding


def test_rotated_phone_video_is_turned_upright(tmp_path: Path) -> None:
    import shutil
    import subprocess

    if shutil.which("exiftool") is None:
        pytest.skip("ExifTool is not installed (CI installs it)")
    frame = np.zeros((120, 160, 3), np.uint8)
    frame[:20, :20] = 255  # a white mark top-left
    path = write_clip(tmp_path / "phone.mp4", [frame] * 5, audio=None)
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-Rotation=90", str(path)], check=True)
    info = probe_video(path, RULES)
    assert (info.rotation, info.width, info.height) == (90, 120, 160)
    upright = next(iter(decode_frames(info, RULES))).rgb
    assert upright.shape == (160, 120, 3)
    assert upright[:20, -20:].mean() > 200 and upright[:20, :20].mean() < 50  # turned clockwise


def test_variable_frame_rate_keeps_its_timestamps(tmp_path: Path) -> None:
    times = [0.0, 0.04, 0.08, 0.5, 0.52, 1.3, 1.34]
    path = write_clip(tmp_path / "vfr.mkv", noise_frames(len(times)), times=times, audio=None)
    assert decode_all(path) == pytest.approx(times, abs=1e-3)


def test_a_corrupt_frame_in_the_middle_is_named(clip: Path, tmp_path: Path) -> None:
    data = bytearray(clip.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 1500] = os.urandom(1500)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(data))
    with pytest.raises(BadInput, match=r"corrupt video data after frame \d+|declared frames") as error:
        decode_all(broken)
    one_line(error)


def test_containers_and_codecs_outside_the_policy_are_refused(clip: Path) -> None:
    with pytest.raises(BadInput, match="MP4 is not an accepted container"):
        probe_video(clip, replace(RULES, allowed_containers=("webm",)))
    with pytest.raises(BadInput, match="video codec h264 is not accepted"):
        probe_video(clip, replace(RULES, allowed_codecs=("vp9",)))
