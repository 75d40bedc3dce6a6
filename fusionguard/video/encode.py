"""Encode RGB frames into a clip with the policy's codec, copy audio unchanged, and carry no metadata.

What is written, and nothing else:

* one video stream (H.264 by default; HEVC or VP9 per ``video.codec``) at ``video.crf`` /
  ``video.preset``, with each frame at the timestamp it was given (variable frame rate kept);
* the audio streams of ``audio_from``, their packets copied as they are (no re-encoding);
* no metadata: no title, comment, creation time, GPS or handler name from any input, no "encoder"
  tag (the muxer runs bit-exact) and no encoder version string in the bitstream (the SEI NAL units
  in which x264/x265 write their version and settings are filtered out of the H.264/HEVC stream).

The container follows the output file's extension (``.mp4``, ``.mov``, ``.mkv``, ``.webm``).

    with VideoEncoder(path, rules, width=640, height=480, fps=25, audio_from=target) as encoder:
        encoder.write(rgb, time_s)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from fusionguard.errors import BadInput, FusionGuardError
from fusionguard.policy import VideoPolicy

__all__ = ["OUTPUT_CONTAINERS", "VideoEncoder", "output_container"]

#: Output extension -> PyAV (FFmpeg) muxer name.
OUTPUT_CONTAINERS: dict[str, str] = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mov",
    ".mkv": "matroska",
    ".webm": "webm",
}
_ENCODERS = {"h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9"}
# The SEI NAL unit types x264 (6) and x265 (39, prefix SEI) write their version string into.
_SEI_FILTERS = {"h264": "filter_units=remove_types=6", "hevc": "filter_units=remove_types=39"}
_WEBM_AUDIO = frozenset({"opus", "vorbis"})
_VP9_CPU_USED = {
    "ultrafast": 8,
    "superfast": 7,
    "veryfast": 6,
    "faster": 5,
    "fast": 4,
    "medium": 3,
    "slow": 2,
    "slower": 1,
    "veryslow": 0,
}
TIME_BASE = Fraction(1, 90_000)


def output_container(path: Path, rules: VideoPolicy) -> str:
    """The muxer for ``path``'s extension, refusing combinations that cannot be written."""
    muxer = OUTPUT_CONTAINERS.get(path.suffix.lower())
    if muxer is None:
        raise BadInput(
            f"output {path.name}: a video output must end in one of {', '.join(OUTPUT_CONTAINERS)} "
            f"(got {path.suffix or 'no extension'!r})"
        )
    if muxer == "webm" and rules.codec != "vp9":
        raise BadInput(f"output {path.name}: WebM holds VP9, not the policy's video.codec {rules.codec}")
    if muxer != "webm" and rules.codec == "vp9" and muxer == "mov":
        raise BadInput(f"output {path.name}: write VP9 to .webm, .mkv or .mp4, not .mov")
    return muxer


class VideoEncoder:
    """Writes one clip (see the module docstring). Use as a context manager; an error leaves the
    partial file for the caller to delete (it lives in the run's workspace)."""

    def __init__(
        self,
        path: Path,
        rules: VideoPolicy,
        *,
        width: int,
        height: int,
        fps: float,
        audio_from: Path | None = None,
    ) -> None:
        import av

        if width % 2 or height % 2:
            raise BadInput(f"video output is {width}x{height}: width and height must be even for 4:2:0")
        self.path = path
        self._muxer = output_container(path, rules)
        self._codec = rules.codec
        options = {"crf": str(rules.crf)}
        if rules.codec == "vp9":
            options |= {"b": "0", "cpu-used": str(_VP9_CPU_USED[rules.preset]), "deadline": "good"}
            options |= {"row-mt": "1"}
        else:
            options["preset"] = rules.preset
        if rules.codec == "hevc":
            options["x265-params"] = "log-level=error"
        self._audio_source: Any = None
        self._audio_map: dict[int, Any] = {}
        self._pending_audio: Iterator[Any] | None = None
        self._next_audio: Any = None
        try:
            self._out = av.open(str(path), "w", format=self._muxer, container_options={"fflags": "+bitexact"})
        except (av.error.FFmpegError, OSError) as error:
            raise FusionGuardError(f"cannot create video output {path.name}: {error}") from error
        try:
            rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(25)
            stream: Any = self._out.add_stream(
                _ENCODERS[rules.codec], rate=rate, options=options, width=width, height=height
            )
            context: Any = stream.codec_context
            context.width, context.height, context.pix_fmt = width, height, "yuv420p"
            stream.time_base = context.time_base = TIME_BASE
            context.flags |= av.codec.context.Flags.bitexact
            stream.metadata.clear()
            self._stream = stream
            self._bsf = (
                av.bitstream.BitStreamFilterContext(_SEI_FILTERS[rules.codec], self._stream, self._stream)
                if rules.codec in _SEI_FILTERS
                else None
            )
            if audio_from is not None:
                self._open_audio(audio_from)
            self._out.metadata.clear()
        except BaseException:
            self._close_quietly()
            raise
        self._last_pts = -1

    def _open_audio(self, source: Path) -> None:
        import av

        self._audio_source = av.open(str(source), metadata_errors="ignore")
        for stream in self._audio_source.streams.audio:
            name = stream.codec_context.name
            if self._muxer == "webm" and name not in _WEBM_AUDIO:
                raise BadInput(
                    f"output {self.path.name}: the audio ({name}) cannot be copied into WebM unchanged; "
                    "write .mkv or .mp4 instead"
                )
            copy = self._out.add_stream_from_template(stream)
            copy.metadata.clear()
            self._audio_map[stream.index] = copy
        if self._audio_map:
            self._pending_audio = iter(self._audio_source.demux(*self._audio_source.streams.audio))

    def __enter__(self) -> VideoEncoder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self._close_quietly()

    def write(self, rgb: np.ndarray, time_s: float) -> None:
        """Encode one RGB frame shown at ``time_s`` seconds (times must increase)."""
        import av

        pts = max(round(time_s / TIME_BASE), self._last_pts + 1)
        self._last_pts = pts
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts, frame.time_base = pts, TIME_BASE
        try:
            self._mux_video(self._stream.encode(frame))
            self._mux_audio_until(float(pts * TIME_BASE))
        except (av.error.FFmpegError, OSError) as error:
            raise FusionGuardError(f"writing the video output {self.path.name} failed: {error}") from error

    def _mux_video(self, packets: list[Any]) -> None:
        for packet in packets:
            for filtered in self._bsf.filter(packet) if self._bsf is not None else [packet]:
                self._out.mux(filtered)

    def _mux_audio_until(self, seconds: float | None) -> None:
        """Copy audio packets up to ``seconds`` (all of them when None), interleaving with the video."""
        while self._pending_audio is not None:
            packet = self._next_audio or next(self._pending_audio, None)
            self._next_audio = None
            if packet is None:
                self._pending_audio = None
                return
            if packet.dts is None:  # a demuxer's flush packet
                continue
            if (
                seconds is not None
                and packet.time_base is not None
                and packet.dts * packet.time_base > seconds
            ):
                self._next_audio = packet
                return
            packet.stream = self._audio_map[packet.stream.index]
            self._out.mux(packet)

    def close(self) -> None:
        """Flush the encoder, copy the rest of the audio, finish the file (and fsync it)."""
        import av

        try:
            self._mux_video(self._stream.encode(None))
            if self._bsf is not None:
                for packet in self._bsf.filter(None):
                    self._out.mux(packet)
            self._mux_audio_until(None)
            self._out.close()
        except (av.error.FFmpegError, OSError) as error:
            self._close_quietly()
            raise FusionGuardError(f"writing the video output {self.path.name} failed: {error}") from error
        finally:
            if self._audio_source is not None:
                self._audio_source.close()
        with open(self.path, "rb") as handle:
            os.fsync(handle.fileno())

    def _close_quietly(self) -> None:
        for handle in (getattr(self, "_out", None), self._audio_source):
            if handle is not None:
                # Already failing: the caller reports the first error.
                with contextlib.suppress(Exception):
                    handle.close()
