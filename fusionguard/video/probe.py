"""Probe and validate a video before anything runs: what it really is, and whether the policy allows it.

A clip is refused in one line (:class:`~fusionguard.errors.BadInput`) when its extension lies about its
content, its container or codec is not on the policy's allow-lists, it has no video stream, its declared
duration, frame count, frame size or total pixels exceed the policy's limits, or its first frame cannot
be decoded. Animated GIF, WebP and PNG (APNG) files are video too (decoded with Pillow); a still image
is not a video and is refused here (the image path handles it).

The declared figures can lie: :mod:`fusionguard.video.decode` enforces the same limits again on what it
actually decodes, and refuses a clip with fewer frames than it declares (truncated).

    info = probe_video("clip.mp4", Policy.default().video)
    info.container, info.codec, info.width, info.height, info.duration_s
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from fusionguard.errors import BadInput
from fusionguard.policy import VideoPolicy

__all__ = [
    "ANIMATED_IMAGE_CONTAINERS",
    "VIDEO_SUFFIXES",
    "VideoInfo",
    "looks_like_video",
    "probe_video",
    "sniff",
]

#: File-name suffixes taken as video (an animated .gif/.webp/.png is recognised by content instead).
VIDEO_SUFFIXES: dict[str, str] = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mov",
    ".qt": "mov",
    ".mkv": "mkv",
    ".webm": "webm",
    ".gif": "gif",
    ".webp": "webp",
    ".png": "apng",
    ".apng": "apng",
}
ANIMATED_IMAGE_CONTAINERS = frozenset({"gif", "webp", "apng"})
# Containers that are one family: an .mp4 holding a QuickTime brand, or an .mkv holding WebM, is normal.
_FAMILY = {"mp4": "iso", "mov": "iso", "mkv": "matroska", "webm": "matroska"}
_NAMES = {
    "mp4": "MP4",
    "mov": "QuickTime MOV",
    "mkv": "Matroska",
    "webm": "WebM",
    "gif": "GIF",
    "webp": "WebP",
    "apng": "PNG",
}
# Decoder names (PyAV) -> the policy's codec names.
_CODEC_ALIASES = {
    "libdav1d": "av1",
    "libaom-av1": "av1",
    "libvpx-vp9": "vp9",
    "libvpx": "vp8",
    "h265": "hevc",
}
_HEAD_BYTES = 4096


@dataclass(frozen=True)
class VideoInfo:
    """What a clip is, as probed (declared figures; decoding checks them again).

    ``width``/``height`` are as displayed (after ``rotation``, the clockwise degrees applied to every
    decoded frame). ``frames`` is the declared frame count (0 when the container does not say),
    ``duration_s`` the declared duration. ``time_base`` is the stream's, for re-encoding with the
    same timestamps.
    """

    path: Path
    container: str
    codec: str
    width: int
    height: int
    rotation: int
    frames: int
    duration_s: float
    fps: float
    time_base: Fraction
    audio_codecs: tuple[str, ...]

    @property
    def animated_image(self) -> bool:
        return self.container in ANIMATED_IMAGE_CONTAINERS

    @property
    def label(self) -> str:
        return self.path.name

    def to_json(self) -> dict[str, Any]:
        return {
            "container": self.container,
            "codec": self.codec,
            "width": self.width,
            "height": self.height,
            "rotation": self.rotation,
            "frames": self.frames,
            "duration_s": round(self.duration_s, 3),
            "fps": round(self.fps, 3),
            "audio_codecs": list(self.audio_codecs),
        }


def sniff(head: bytes) -> str | None:
    """The video container the bytes show (``mp4``, ``mov``, ``mkv``, ``webm``, ``gif``, ``webp``,
    ``apng``), ``"image"`` for a still PNG/WebP, or None when it is none of these."""
    if head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head[:64] else "mkv"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        idat, actl = head.find(b"IDAT"), head.find(b"acTL")
        return "apng" if actl != -1 and (idat == -1 or actl < idat) else "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        # An animated WebP is VP8X with the animation flag (bit 1 of the flags byte) and ANIM chunks.
        return "webp" if head[12:16] == b"VP8X" and head[20] & 0x02 else "image"
    return None


def looks_like_video(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a video by content (animated images included), or by name if unreadable."""
    try:
        with open(path, "rb") as handle:
            kind = sniff(handle.read(_HEAD_BYTES))
    except OSError:
        return Path(path).suffix.lower() in {s for s, c in VIDEO_SUFFIXES.items() if c in _FAMILY}
    return kind is not None and kind != "image"


def _read_head(path: Path, label: str) -> bytes:
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise BadInput(f"{label}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{label}: is a directory, not a video file") from None
    except OSError as error:
        raise BadInput(f"{label}: cannot open ({error.strerror or error})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BadInput(f"{label}: is not a regular file")
        if info.st_size == 0:
            raise BadInput(f"{label}: empty file (0 bytes)")
        return os.read(fd, _HEAD_BYTES)
    finally:
        os.close(fd)


def _describe_other(head: bytes) -> str:
    from fusionguard.media import _sniff as sniff_image

    found = sniff_image(head)
    if found is None:
        return "not a recognised video or image format"
    if found == "video":
        return "a video container that is not accepted (expected MP4, MOV, MKV, WebM or an animation)"
    return f"a {found} file, not a video"


def _container_of(path: Path, label: str, head: bytes) -> str:
    found = sniff(head)
    claimed = VIDEO_SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise BadInput(f"{label}: {_describe_other(head)}")
    if found == "image":
        raise BadInput(f"{label}: a still image, not a video (guard it with Guard.run)")
    if claimed is not None and _FAMILY.get(claimed, claimed) != _FAMILY.get(found, found):
        raise BadInput(
            f"{label}: the extension {path.suffix!r} says {_NAMES[claimed]} but the content is "
            f"{_NAMES[found]}; rename the file to match its content"
        )
    return found


def _check_limits(
    label: str, width: int, height: int, frames: int, duration: float, rules: VideoPolicy
) -> None:
    if width * height > rules.max_frame_pixels:
        raise BadInput(
            f"{label}: frames are {width}x{height} ({width * height} pixels), more than the policy's "
            f"video.max_frame_pixels {rules.max_frame_pixels}"
        )
    if duration > rules.max_duration_s:
        raise BadInput(
            f"{label}: {duration:.1f} s long, more than the policy's video.max_duration_s "
            f"{rules.max_duration_s:g}"
        )
    if frames > rules.max_frames:
        raise BadInput(
            f"{label}: {frames} frames, more than the policy's video.max_frames {rules.max_frames}"
        )
    if frames * width * height > rules.max_total_pixels:
        raise BadInput(
            f"{label}: {frames} frames of {width}x{height} are {frames * width * height} pixels, more "
            f"than the policy's video.max_total_pixels {rules.max_total_pixels}"
        )


def probe_video(path: str | os.PathLike[str], rules: VideoPolicy, *, label: str | None = None) -> VideoInfo:
    """Validate ``path`` against ``rules`` (see the module docstring); return what it is."""
    file = Path(path)
    label = label or file.name
    head = _read_head(file, label)
    container = _container_of(file, label, head)
    if container not in rules.allowed_containers:
        raise BadInput(
            f"{label}: {_NAMES[container]} is not an accepted container "
            f"(policy video.allowed_containers: {', '.join(rules.allowed_containers)})"
        )
    if container in ANIMATED_IMAGE_CONTAINERS:
        info = _probe_animation(file, label, container)
    else:
        info = _probe_av(file, label, container, rules)
    if info.codec not in rules.allowed_codecs:
        raise BadInput(
            f"{label}: video codec {info.codec} is not accepted "
            f"(policy video.allowed_codecs: {', '.join(rules.allowed_codecs)})"
        )
    _check_limits(label, info.width, info.height, info.frames, info.duration_s, rules)
    return info


def _probe_av(file: Path, label: str, container: str, rules: VideoPolicy) -> VideoInfo:
    import av

    try:
        handle = av.open(str(file), metadata_errors="ignore")
    except av.error.FFmpegError as error:
        raise BadInput(
            f"{label}: unreadable {_NAMES[container]} ({_ffmpeg_reason(error)}; truncated?)"
        ) from None
    with handle:
        audio = tuple(_codec_name(s.codec_context.name) for s in handle.streams.audio)
        if not handle.streams.video:
            has = f"only audio ({', '.join(audio)})" if audio else "no audio or video stream"
            raise BadInput(f"{label}: no video stream ({has})")
        stream = handle.streams.video[0]
        codec = _codec_name(stream.codec_context.name)
        time_base = stream.time_base or Fraction(1, 90000)
        duration = 0.0
        if stream.duration is not None:
            duration = float(stream.duration * time_base)
        elif handle.duration is not None:
            duration = handle.duration / 1_000_000
        frames = int(stream.frames or 0)
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else (frames / duration if duration > 0 else 0.0)
        # Matroska/WebM store no frame count: the limits use an estimate, `frames` stays 0 (unknown).
        estimate = frames or (round(duration * fps) if duration > 0 and fps > 0 else 0)
        width, height = stream.codec_context.width, stream.codec_context.height
        if width <= 0 or height <= 0:
            raise BadInput(f"{label}: the video stream has no frame size (corrupt header)")
        # Refuse over-limit sizes and lengths before decoding even one frame of them.
        _check_limits(label, width, height, estimate, duration, rules)
        try:
            first = next(handle.decode(stream), None)
        except av.error.FFmpegError as error:
            raise BadInput(f"{label}: the first frame cannot be decoded ({_ffmpeg_reason(error)})") from None
        if first is None:
            raise BadInput(f"{label}: the video stream has zero frames")
        rotation = (-round(float(first.rotation or 0) / 90) * 90) % 360
    if rotation in (90, 270):
        width, height = height, width
    return VideoInfo(file, container, codec, width, height, rotation, frames, duration, fps, time_base, audio)


def _probe_animation(file: Path, label: str, container: str) -> VideoInfo:
    from PIL import Image

    try:
        with Image.open(file) as image:
            frames = int(getattr(image, "n_frames", 1))
            width, height = image.size
            durations = []
            for index in range(min(frames, 100_000)):
                image.seek(index)
                durations.append(int(image.info.get("duration", 100) or 100))
    except (OSError, ValueError, EOFError) as error:
        raise BadInput(f"{label}: unreadable {_NAMES[container]} animation ({error})") from None
    if frames < 2:
        raise BadInput(f"{label}: a still image, not a video (guard it with Guard.run)")
    duration = sum(durations) / 1000
    fps = frames / duration if duration > 0 else 10.0
    return VideoInfo(
        file, container, container, width, height, 0, frames, duration, fps, Fraction(1, 1000), ()
    )


def _codec_name(name: str) -> str:
    return _CODEC_ALIASES.get(name, name)


def _ffmpeg_reason(error: Exception) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return str(text).split(":")[0].strip().rstrip(".").lower() or "invalid data"
