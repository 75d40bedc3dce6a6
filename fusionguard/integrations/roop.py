"""roop (s0md3v/roop, archived; tested at commit a13727a), guarded as shipped.

    import roop.core
    import fusionguard.integrations.roop as roop_guard
    roop_guard.install(guard, model=ModelInfo("inswapper", "128", "other"))
    roop.core.run()

What is patched:

* ``roop.core.start()``, which the CLI (headless) and the Tk window both call: roop's globals point
  into the run's private workspace for the call, so its ``shutil.copy2(target, output)``, every frame
  processor (face swapper, then face enhancer) and, for videos, its temp frames and ffmpeg output all
  happen there; the Guard releases the file the last processor left, so the released file is the
  recorded one. A block prints roop's status line ("Not released by fusionguard: ...") and returns.
* ``process_image(source_path: str, target_path, output_path)`` of the face swapper and face enhancer
  (one source path, as roop declares it), for scripts that call them directly. A block logs and
  returns None without writing, as roop's processors do.
"""

from __future__ import annotations

import importlib

from fusionguard.audit.record import ModelInfo
from fusionguard.guard import Guard
from fusionguard.integrations._patch import Installation
from fusionguard.integrations._startlike import guard_process_images, guard_start

PROCESSORS = ("roop.processors.frame.face_swapper", "roop.processors.frame.face_enhancer")


def install(guard: Guard, *, model: ModelInfo) -> Installation:
    """Guard roop's ``start()`` and its processors' ``process_image``; returns what to ``uninstall()``."""
    core = importlib.import_module("roop.core")
    settings = importlib.import_module("roop.globals")
    installation = Installation("roop")

    def report(message: str) -> None:
        core.update_status(message, "FUSIONGUARD")

    installation.patch(
        core, "start", guard_start(guard, model=model, start=core.start, settings=settings, report=report)
    )
    guard_process_images(installation, guard, model=model, modules=PROCESSORS)
    return installation
