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
* FaceFusion 3.3.2's processors' ``process_image(source_paths, target_path, output_path)`` run inside
  the guarded step on its temporary copy; the guard is at the step, whose output is the file
  ``finalize_image`` (ffmpeg) writes, so the released file is the one recorded.
"""

from __future__ import annotations

import importlib
import sys

from fusionguard.adapters.facefusion import protect_job_step
from fusionguard.audit.record import ModelInfo
from fusionguard.guard import Guard
from fusionguard.integrations._patch import Installation

UI_RUNNERS = ("facefusion.uis.components.instant_runner", "facefusion.uis.components.job_runner")


def install(guard: Guard, *, model: ModelInfo) -> Installation:
    """Guard every FaceFusion job step (CLI and UI runners); returns what to ``uninstall()``."""
    core = importlib.import_module("facefusion.core")
    installation = Installation("facefusion")
    original = core.process_step
    guarded = protect_job_step(guard, model=model)(original)
    installation.patch(core, "process_step", guarded)
    for name in UI_RUNNERS:
        module = sys.modules.get(name)
        if module is not None and getattr(module, "process_step", None) is original:
            installation.patch(module, "process_step", guarded)
    return installation
