"""What every path-based adapter shares: stage the checked inputs under their own extensions in the
run's private workspace, keep the destination clean, and run the wrapped code once per guarded call.

* **Staging.** Inputs are re-encoded from the *checked* pixels into the run's workspace (a private
  directory named by a random run id), keeping each file's extension: ``source-0.jpg``,
  ``target.webp``, ``output.webp``. Tools that require target and output to share an extension
  (FaceFusion), or that name temporary folders after the target (FaceFusion, roop, Deep-Live-Cam),
  therefore work unchanged, and two concurrent runs never share a name.
* **Audio sources** (FaceFusion takes ``.mp3``/``.wav``/... beside the face images for lip sync) are
  not images to check: their bytes are copied into the workspace as they were read, and their SHA-256s
  go into the run's record (``extra["audio_sources"]``), allowed or blocked.
* **The destination.** The wrapped code never sees the real output path. If something still wrote
  there during a run that is then blocked or fails (a tool's copy-then-process step, a global path the
  caller forgot to redirect), that file is removed: a destination is left as it was before the call
  or holds the guarded output, nothing else.
* **Video targets** go to :meth:`Guard.run_video` as a file-wise pipeline: the tool reads the
  Guard's workspace copy of the validated clip and writes ``result.<ext>`` beside it; the Guard
  checks, marks every frame, re-encodes, records and releases it.
* **Nesting.** A guarded call made while another guarded call runs in the same thread (roop's
  ``start()`` calling each processor's ``process_image``) runs unguarded inside the outer one, whose
  workspace it already works in: one record per output, for the file actually released.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from fusionguard.audit.record import ModelInfo
from fusionguard.guard import Guard, GuardResult, RunInputs
from fusionguard.media import VIDEO_EXTENSIONS, encode_image, load_image

if TYPE_CHECKING:
    from fusionguard.video.run import VideoResult

#: What FaceFusion 3.x takes as audio sources (``facefusion.choices.audio_formats``).
AUDIO_EXTENSIONS = frozenset({".aac", ".flac", ".m4a", ".mp3", ".ogg", ".opus", ".wav", ".wma"})

_local = threading.local()


class ToolFailed(RuntimeError):
    """The wrapped tool reported failure (returned False, wrote nothing). Not a FusionGuardError, so
    the Guard appends a blocked record naming the failure before it propagates."""


def inside_guarded_call() -> bool:
    """True while this thread runs the wrapped code of a guarded call."""
    return bool(getattr(_local, "depth", 0))


@contextlib.contextmanager
def guarded_scope() -> Iterator[None]:
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        yield
    finally:
        _local.depth -= 1


def is_audio_path(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def is_video_path(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


@dataclass(frozen=True)
class Destination:
    """The real output path and what was there before the call (inode, size, mtime), if anything."""

    path: Path
    before: tuple[int, int, int] | None

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> Destination:
        destination = Path(path)
        return cls(destination, _identity(destination))

    def discard_if_written(self) -> None:
        """Remove a file that appeared or changed at the destination during a failed run."""
        now = _identity(self.path)
        if now is not None and now != self.before and not self.path.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        status = path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (status.st_ino, status.st_size, status.st_mtime_ns)


def stage_image(rgb: np.ndarray, path: Path) -> None:
    """Write checked pixels in the format the file name says (lossless where the format allows)."""
    suffix = path.suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        path.write_bytes(encode_image(rgb, "jpeg", quality=100))
    elif suffix == ".webp":
        Image.fromarray(np.ascontiguousarray(rgb)).save(path, format="WEBP", lossless=True)
    else:
        path.write_bytes(encode_image(rgb, "png", png_level=0))


@dataclass(frozen=True)
class Staged:
    """The paths the wrapped code is given, all inside the run's workspace, in the caller's order."""

    sources: list[str]
    target: str
    output: str
    run: RunInputs


Produce = Callable[[Staged], Any]


def run_paths(
    guard: Guard,
    *,
    model: ModelInfo,
    sources: Sequence[str],
    target: str,
    output: str,
    produce: Produce,
    extra: dict[str, Any] | None = None,
) -> tuple[Any, GuardResult | VideoResult]:
    """Guard one paths-in, path-out call; return what ``produce`` returned and the Guard's result."""
    images = [i for i, path in enumerate(sources) if not is_audio_path(path)]
    audio = {i: Path(sources[i]).read_bytes() for i in range(len(sources)) if i not in images}
    extra = dict(extra or {})
    if audio:
        extra["audio_sources"] = ",".join(hashlib.sha256(data).hexdigest() for data in audio.values())
    destination = Destination.of(output)
    returned: list[Any] = []

    def call(run: RunInputs, staged_target: Path, staged_output: Path) -> None:
        staged_sources = []
        for i, path in enumerate(sources):
            staged = run.workspace.file(f"source-{i}{Path(path).suffix.lower() or '.png'}")
            if i in audio:
                staged.write_bytes(audio[i])
            else:
                stage_image(run.sources[images.index(i)], staged)
            staged_sources.append(str(staged))
        with guarded_scope():
            returned.append(produce(Staged(staged_sources, str(staged_target), str(staged_output), run)))
        if not staged_output.is_file():
            raise ToolFailed(f"{Path(output).name}: the wrapped code wrote no output file")

    def pipeline(run: RunInputs) -> np.ndarray:
        staged_target = run.workspace.file("target" + (Path(target).suffix.lower() or ".png"))
        assert run.target is not None
        stage_image(run.target, staged_target)
        staged_output = run.workspace.file("output" + (Path(output).suffix.lower() or ".png"))
        call(run, staged_target, staged_output)
        return load_image(
            staged_output, max_pixels=guard.policy.media.max_pixels, source="pipeline output"
        ).rgb

    def file_pipeline(run: RunInputs) -> Path:
        # The Guard staged the validated clip as run.target_file (its extension kept) and encodes its
        # own marked output as output.<ext>: the tool writes result.<ext> beside it.
        assert run.target_file is not None
        staged_output = run.workspace.file("result" + (Path(output).suffix.lower() or ".mp4"))
        call(run, run.target_file, staged_output)
        return staged_output

    result: GuardResult | VideoResult
    try:
        if is_video_path(target):
            result = guard.run_video(
                sources=[sources[i] for i in images],
                target=target,
                model=model,
                output_path=output,
                file_pipeline=file_pipeline,
                extra=extra,
            )
        else:
            result = guard.run(
                sources=[sources[i] for i in images],
                target=target,
                model=model,
                pipeline=pipeline,
                output_path=output,
                extra=extra,
            )
    except BaseException:
        destination.discard_if_written()
        raise
    return returned[0], result
