"""Deep-Live-Cam (hacksider/Deep-Live-Cam; tested at commit bdeeb3a), guarded as shipped.

    import modules.core
    import fusionguard.integrations.deep_live_cam as dlc_guard
    dlc_guard.install(guard, model=ModelInfo("inswapper", "128", "other"))
    modules.core.run()

What is patched:

* ``modules.core.start()`` (CLI and window): the globals point into the run's private workspace for
  the call, so the tool's ``shutil.copy2(target, output)``, its processors' rewrites and, for videos,
  its ffmpeg pipes and temp frames all stay there; the Guard releases what the last processor left.
  A block prints the tool's status line ("Not released by fusionguard: ...") and returns.
* ``modules.processors.frame.face_swapper.process_image(source_path: str, target_path, output_path)``
  (one source path), for scripts that call it. With ``map_faces`` the tool ignores ``source_path`` and
  swaps from ``modules.globals.source_target_map``: those faces are not the run's checked sources,
  so the output check refuses a face that matches none of them.
* The live webcam loop, ``modules.ui._ProcessingWorker.run`` (patched when the window module is
  loaded, as ``modules.core`` loads it): every frame the loop hands to the preview (its processed
  queue) goes through a live session (:mod:`fusionguard.stream`) opened from
  ``modules.globals.source_path`` when the loop starts and closed, with its record, when it stops;
  the camera frame it took is what the face checks look at. Whatever the processors did to the frame
  (swap, enhancers, mouth mask, ``map_faces``), what leaves is marked, or black after a block. With
  no ``source_path`` (``map_faces`` only) the session cannot open and every frame is black.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from fusionguard.audit.record import ModelInfo
from fusionguard.guard import Guard
from fusionguard.integrations._live import LiveSessions
from fusionguard.integrations._patch import Installation
from fusionguard.integrations._startlike import guard_process_images, guard_start

PROCESSORS = ("modules.processors.frame.face_swapper",)


def install(guard: Guard, *, model: ModelInfo) -> Installation:
    """Guard Deep-Live-Cam's ``start()`` and ``process_image``; returns what to ``uninstall()``."""
    core = importlib.import_module("modules.core")
    settings = importlib.import_module("modules.globals")
    installation = Installation("deep-live-cam")

    def report(message: str) -> None:
        core.update_status(message, "FUSIONGUARD")

    installation.patch(
        core, "start", guard_start(guard, model=model, start=core.start, settings=settings, report=report)
    )
    guard_process_images(installation, guard, model=model, modules=PROCESSORS)
    ui = sys.modules.get("modules.ui")
    worker = getattr(ui, "_ProcessingWorker", None)
    if worker is not None:
        live = LiveSessions(guard, model=model, tool="deep-live-cam", sources=lambda: [settings.source_path])
        installation.patch(worker, "run", _guarded_run(worker.run, live))
        installation.on_uninstall(live.close)
    return installation


class _TakenFrames:
    """The worker's capture queue, remembering the last camera frame taken from it."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue
        self.last: Any = None

    def get(self, *args: Any, **kwargs: Any) -> Any:
        self.last = self._queue.get(*args, **kwargs)
        return self.last

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)


class _ReleasedFrames:
    """The worker's processed queue: every frame put in goes through the live session first."""

    def __init__(self, queue: Any, live: LiveSessions, taken: _TakenFrames) -> None:
        self._queue, self._live, self._taken = queue, live, taken
        self._last: tuple[Any, Any] = (None, None)

    def _release(self, frame: Any) -> Any:
        # The worker puts a frame again after making room in a full queue: release it once.
        if self._last[0] is not frame:
            self._last = (frame, self._live.release(frame, self._taken.last))
        return self._last[1]

    def put_nowait(self, frame: Any) -> None:
        self._queue.put_nowait(self._release(frame))

    def put(self, frame: Any, *args: Any, **kwargs: Any) -> None:
        self._queue.put(self._release(frame), *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)


def _guarded_run(run: Any, live: LiveSessions) -> Any:
    def guarded_run(self: Any) -> None:
        taken_from, put_into = self._cq, self._pq
        taken = _TakenFrames(taken_from)
        self._cq, self._pq = taken, _ReleasedFrames(put_into, live, taken)
        try:
            run(self)
        finally:
            self._cq, self._pq = taken_from, put_into
            live.close()

    return guarded_run
