"""Encoding: the policy's codec, audio copied unchanged, timestamps kept, no metadata at all."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import av
import pytest

from fusionguard.errors import BadInput
from fusionguard.policy import Policy, VideoPolicy
from fusionguard.video.decode import decode_frames
from fusionguard.video.encode import VideoEncoder
from fusionguard.video.probe import probe_video
from tests.video.clips import SECRET_METADATA, noise_frames, write_clip

RULES = Policy.default().video


def reencode(source: Path, output: Path, rules: VideoPolicy = RULES) -> Path:
    info = probe_video(source, rules)
    with VideoEncoder(
        output,
        rules,
        width=info.width,
        height=info.height,
        fps=info.fps,
        audio_from=source if info.audio_codecs else None,
    ) as encoder:
        for frame in decode_frames(info, rules):
            encoder.write(frame.rgb, frame.time)
    return output


def audio_payloads(path: Path) -> list[bytes]:
    with av.open(str(path)) as handle:
        return [bytes(p) for p in handle.demux(handle.streams.audio[0]) if p.size]


def exiftool(path: Path) -> dict[str, object]:
    if shutil.which("exiftool") is None:
        pytest.skip("ExifTool is not installed (CI installs it)")
    out = subprocess.run(["exiftool", "-j", "-a", "-G1", "-ee", str(path)], capture_output=True, check=True)
    found: dict[str, object] = json.loads(out.stdout)[0]
    return found


def test_no_metadata_from_the_input_reaches_the_output(tmp_path: Path) -> None:
    source = write_clip(tmp_path / "phone.mp4", noise_frames(10, (320, 240)))
    before = json.dumps(exiftool(source))
    assert "secret-title" in before and "secret-audio-handler" in before and "GPS" in before
    output = reencode(source, tmp_path / "out.mp4")
    tags = exiftool(output)
    text = json.dumps(tags)
    for value in (*SECRET_METADATA.values(), "secret-video-handler", "secret-audio-handler"):
        assert value not in text
    for key in tags:
        assert not any(word in key for word in ("GPS", "Title", "Comment", "Artist", "Encoder", "Location"))
    assert tags.get("QuickTime:CreateDate") in (None, "0000:00:00 00:00:00")
    raw = output.read_bytes()
    assert b"x264" not in raw and b"Lavf" not in raw  # no encoder strings in the container or video
    # The copied AAC frames keep the source encoder's own tag inside their compressed data (ExifTool
    # does not see it); "copied unchanged" wins there, and nothing else carries one.
    assert raw.count(b"Lavc") == b"".join(audio_payloads(source)).count(b"Lavc")


def test_audio_packets_are_copied_unchanged(tmp_path: Path) -> None:
    source = write_clip(tmp_path / "talk.mov", noise_frames(25), container="mov")
    output = reencode(source, tmp_path / "out.mkv")
    assert audio_payloads(output) == audio_payloads(source)
    assert probe_video(output, RULES).audio_codecs == ("aac",)


def test_variable_frame_rate_survives_encoding(tmp_path: Path) -> None:
    times = [0.0, 0.04, 0.08, 0.5, 0.52, 1.3, 1.34]
    source = write_clip(tmp_path / "vfr.mkv", noise_frames(len(times), (320, 240)), times=times, audio=None)
    output = reencode(source, tmp_path / "vfr.mp4")
    decoded = [f.time for f in decode_frames(probe_video(output, RULES), RULES)]
    assert decoded == pytest.approx(times, abs=2e-3)


def test_webm_output_uses_vp9_and_opus_is_copied(tmp_path: Path) -> None:
    rules = replace(RULES, codec="vp9")
    source = write_clip(
        tmp_path / "in.webm",
        noise_frames(8, (320, 240)),
        container="webm",
        codec="libvpx-vp9",
        audio="libopus",
    )
    output = reencode(source, tmp_path / "out.webm", rules)
    info = probe_video(output, RULES)
    assert (info.container, info.codec, info.audio_codecs) == ("webm", "vp9", ("opus",))


def test_impossible_outputs_are_refused_before_encoding(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="WebM holds VP9"):
        VideoEncoder(tmp_path / "x.webm", RULES, width=320, height=240, fps=25)
    with pytest.raises(BadInput, match="must end in one of"):
        VideoEncoder(tmp_path / "x.avi", RULES, width=320, height=240, fps=25)
    with pytest.raises(BadInput, match="must be even"):
        VideoEncoder(tmp_path / "x.mp4", RULES, width=321, height=240, fps=25)
    source = write_clip(tmp_path / "aac.mp4", noise_frames(3, (320, 240)))
    with pytest.raises(BadInput, match=r"audio \(aac\) cannot be copied into WebM"):
        VideoEncoder(
            tmp_path / "y.webm", replace(RULES, codec="vp9"), width=320, height=240, fps=25, audio_from=source
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aac.mp4"]
