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
"""

from __future__ import annotations

import importlib

from fusionguard.audit.record import ModelInfo
from fusionguard.guard import Guard
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
    return installation
