"""What roop and Deep-Live-Cam share: a ``start()`` that reads source/target/output paths from a
globals module and copies the target to the output before its processors rewrite it in place, and
processors whose ``process_image(source_path: str, target_path, output_path)`` takes one source.

The guard sits at ``start()``, where the final file is produced: the globals point into the run's
workspace for the call (so the tool's copy, its temp frames and every processor's rewrite happen
there), and the Guard checks, marks, records and releases what the *last* processor left. The
processors' ``process_image`` are guarded too, for callers that use them directly; inside a guarded
``start()`` they run unguarded (one record per output).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
from collections.abc import Callable
from typing import Any

from fusionguard.adapters._staging import Staged, ToolFailed, inside_guarded_call, run_paths
from fusionguard.adapters.facefusion import protect_paths
from fusionguard.audit.record import ModelInfo
from fusionguard.errors import FusionGuardError
from fusionguard.guard import Guard
from fusionguard.integrations._patch import Installation

logger = logging.getLogger("fusionguard.integrations")


def guard_start(
    guard: Guard,
    *,
    model: ModelInfo,
    start: Callable[[], Any],
    settings: Any,
    report: Callable[[str], Any],
) -> Callable[[], None]:
    """A ``start()`` that runs the tool's own inside a guarded run; a block is reported through the
    tool's status line (``report``) and returns, as the tool does when it cannot proceed."""

    @functools.wraps(start)
    def guarded_start() -> None:
        if inside_guarded_call():
            start()
            return
        source, target, output = settings.source_path, settings.target_path, settings.output_path

        def produce(staged: Staged) -> None:
            saved = (settings.source_path, settings.target_path, settings.output_path)
            settings.source_path, settings.target_path = staged.sources[0], staged.target
            settings.output_path = staged.output
            try:
                start()
            finally:
                settings.source_path, settings.target_path, settings.output_path = saved

        try:
            _, result = run_paths(
                guard,
                model=model,
                sources=[str(source)],
                target=str(target),
                output=str(output),
                produce=produce,
            )
        except (FusionGuardError, ToolFailed) as error:
            logger.warning("%s not released: %s", output, error)
            report(f"Not released by fusionguard: {error}")
            return
        report(f"Released by fusionguard: {output} (record {result.record_id})")

    return guarded_start


def guard_process_images(
    installation: Installation,
    guard: Guard,
    *,
    model: ModelInfo,
    modules: tuple[str, ...],
) -> None:
    """Guard ``process_image(source_path(s), target_path, output_path) -> None`` of each processor
    module that imports here and has one (one whose model library is not installed is left alone: the
    tool cannot load it either). The source argument keeps the shape it is given (roop and
    Deep-Live-Cam: one path; FaceFusion 3.3.2: a list, whichever name its modules give it). A block is
    logged and returns None, writing nothing, as the processors do on error."""
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as error:
            logger.info("%s: not guarded, cannot be imported (%s)", name, error)
            continue
        original = getattr(module, "process_image", None)
        if original is None:
            continue
        sources = next(iter(inspect.signature(original).parameters))
        guarded = protect_paths(guard, model=model, sources=sources)(original)

        def process_image(
            source_path: Any,
            target_path: str,
            output_path: str,
            *,
            _guarded: Any = guarded,
            _name: str = name,
        ) -> None:
            try:
                _guarded(source_path, target_path, output_path)
            except (FusionGuardError, ToolFailed) as error:
                logger.warning("%s.process_image: %s not released: %s", _name, output_path, error)

        installation.patch(module, "process_image", functools.wraps(original)(process_image))
