"""FaceFusion 3.x (tested on 3.8.1 and 3.3.2), guarded as shipped.

    import facefusion.core
    import fusionguard.integrations.facefusion as ff_guard
    ff_guard.install(guard, model=ModelInfo("hyperswap_1a_256", license="other"))

What is patched:

* ``facefusion.core.process_step(job_id, step_index, step_args) -> bool``, which every CLI route
  (``headless-run``, ``batch-run``, ``job-run``, ``job-run-all``, ``job-retry``...) looks up at call
  time: every job step runs in a private workspace (FaceFusion's ``temp_path`` points there for the
  step) and its output is checked, watermarked, recorded and released at the step's ``output_path``.
  A blocked step returns ``False`` (FaceFusion marks the step and job failed; the signed blocked
  record is in the log), never a traceback.
* The UI's ``instant_runner`` and ``job_runner`` components bind ``process_step`` by name when they
  are imported: those already imported are patched too, and those imported after ``install`` get the
  guarded function. Install before the UI starts.
* ``facefusion.jobs.job_runner.concat_video``: after the steps, FaceFusion joins each output's step
  clips with ffmpeg (stream copy, which still rewrites the container). For an output made by one
  step the guarded clip is moved into place instead, byte for byte, so the released file is the
  recorded one; an output joined from several steps' clips is still concatenated by ffmpeg: every
  frame keeps its step's watermark and record, but the joined file's own hash is in no record.
* The webcam stream: 3.8.1's ``facefusion.streamer.process_stream_frame(source_vision_frames,
  target_vision_frame)`` (3.3.2: ``facefusion.uis.components.webcam.process_stream_frame``, patched
  when that UI module is loaded) returns each frame through a live session
  (:mod:`fusionguard.stream`: sources checked at start, faces and NSFW sampled, every frame marked,
  black frames after a block), and ``multi_process_capture`` (also where the UI's webcam component
  bound it) closes the session, with its close record, when the capture ends.
* The UI preview, ``facefusion.uis.components.preview.process_preview_frame`` when that module is
  loaded: every preview image goes through a live session of its own (marked; black after a
  block), closed at ``uninstall``.
* FaceFusion 3.3.2's processors' ``process_image(source_paths, target_path, output_path)`` (a list of
  sources) are guarded for scripts that call them directly; inside a guarded step they run on its
  temporary copy, unguarded: the guard is at the step, whose output is the file
  ``finalize_image`` (ffmpeg) writes, so the released file is the one recorded.
"""

from __future__ import annotations

import importlib
import logging
import shutil
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from fusionguard.adapters.facefusion import protect_job_step
from fusionguard.audit.record import ModelInfo
from fusionguard.guard import Guard
from fusionguard.integrations._live import LiveSessions, guard_frame
from fusionguard.integrations._patch import Installation
from fusionguard.integrations._startlike import guard_process_images

logger = logging.getLogger("fusionguard.integrations")
PROCESSORS_3_3 = ("face_swapper", "face_enhancer", "frame_enhancer", "face_editor", "lip_syncer")
UI_RUNNERS = ("facefusion.uis.components.instant_runner", "facefusion.uis.components.job_runner")


def install(guard: Guard, *, model: ModelInfo) -> Installation:
    """Guard every FaceFusion job step (CLI and UI runners); returns what to ``uninstall()``."""
    core = importlib.import_module("facefusion.core")
    installation = Installation("facefusion")
    original = core.process_step
    guarded = protect_job_step(guard, model=model)(original)
    installation.patch(core, "process_step", guarded)
    job_runner = importlib.import_module("facefusion.jobs.job_runner")
    installation.patch(job_runner, "concat_video", _move_single_clip(job_runner.concat_video))
    for name in UI_RUNNERS:
        module = sys.modules.get(name)
        if module is not None and getattr(module, "process_step", None) is original:
            installation.patch(module, "process_step", guarded)
    _guard_live(installation, guard, model)
    # 3.3.2 and earlier: the processors' process_image(source_paths, target_path, output_path), for
    # scripts that call one directly (inside a guarded step they run unguarded on the temp copy).
    processors = [f"facefusion.processors.modules.{name}" for name in PROCESSORS_3_3]
    guard_process_images(installation, guard, model=model, modules=tuple(processors))
    return installation


def _guard_live(installation: Installation, guard: Guard, model: ModelInfo) -> None:
    state_manager = importlib.import_module("facefusion.state_manager")
    live = LiveSessions(
        guard, model=model, tool="facefusion", sources=lambda: state_manager.get_item("source_paths") or []
    )
    webcam = sys.modules.get("facefusion.uis.components.webcam")  # 3.3.2 keeps its loop in the UI
    try:
        streamer: Any = importlib.import_module("facefusion.streamer")  # 3.4 and later
    except ImportError:
        streamer = None
    for owner in (streamer, webcam):
        if owner is not None and hasattr(owner, "process_stream_frame"):
            frame = guard_frame(live, owner.process_stream_frame, frame_arg=1)
            installation.patch(owner, "process_stream_frame", frame)
    loop = streamer if streamer is not None else webcam
    capture = getattr(loop, "multi_process_capture", None)
    if capture is not None:
        guarded_capture = _closing_capture(live, capture)
        for owner in (loop, webcam):
            if owner is not None and getattr(owner, "multi_process_capture", None) is capture:
                installation.patch(owner, "multi_process_capture", guarded_capture)
    installation.on_uninstall(live.close)
    preview = sys.modules.get("facefusion.uis.components.preview")
    if preview is not None and hasattr(preview, "process_preview_frame"):
        shown = LiveSessions(
            guard,
            model=model,
            tool="facefusion-preview",
            sources=lambda: state_manager.get_item("source_paths") or [],
        )
        installation.patch(
            preview, "process_preview_frame", _guarded_preview(shown, preview.process_preview_frame)
        )
        installation.on_uninstall(shown.close)


def _guarded_preview(live: LiveSessions, process_preview_frame: Callable[..., Any]) -> Callable[..., Any]:
    """The UI preview's frame (BGR or BGRA, the output or target|output side by side) through a live
    session of its own: marked, or black after a block; its alpha channel kept."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        produced = process_preview_frame(*args, **kwargs)
        marked = live.release(np.ascontiguousarray(produced[:, :, :3]), None)
        return np.dstack([marked, produced[:, :, 3]]) if produced.shape[2] == 4 else marked

    return guarded


def _closing_capture(
    live: LiveSessions, capture: Callable[..., Iterator[Any]]
) -> Callable[..., Iterator[Any]]:
    """The capture generator, closing the live session (its close record) when the capture ends."""

    def multi_process_capture(*args: Any, **kwargs: Any) -> Iterator[Any]:
        try:
            yield from capture(*args, **kwargs)
        finally:
            live.close()

    return multi_process_capture


def _move_single_clip(concat_video: Callable[[str, list[str]], bool]) -> Callable[[str, list[str]], bool]:
    """FaceFusion's ``concat_video(output_path, temp_output_paths)``, moving a lone clip unchanged."""

    def guarded_concat_video(output_path: str, temp_output_paths: list[str]) -> bool:
        if len(temp_output_paths) == 1:
            try:
                shutil.move(temp_output_paths[0], output_path)
            except OSError as error:
                logger.warning("could not move %s to %s: %s", temp_output_paths[0], output_path, error)
                return False
            return True
        logger.warning(
            "%s joins %d guarded clips; the joined file's hash is in no record",
            output_path,
            len(temp_output_paths),
        )
        return concat_video(output_path, temp_output_paths)

    return guarded_concat_video
