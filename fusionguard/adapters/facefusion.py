"""Adapters for FaceFusion / roop / Deep-Live-Cam style code. They translate arguments only; the
order of checks, watermarking, recording and release is :meth:`fusionguard.guard.Guard.run`'s.

Paths in, path out — the decorator is told which parameters hold the sources, target and output. The
sources may be one path (roop, Deep-Live-Cam: ``source_path: str``) or a list (FaceFusion); the wrapped
function gets the shape it was called with:

    @protect_paths(guard, model=ModelInfo("inswapper", "128", "other"), sources="source_path")
    def process_image(source_path: str, target_path: str, output_path: str) -> None: ...

The wrapped code reads checked copies of the inputs and writes its output inside the run's private
workspace, under the caller's extensions (``target.jpg`` -> ``output.jpg``); the released file is
encoded in the format of the real output path's extension (JPEG, PNG or WebP). See
:mod:`fusionguard.adapters._staging` for audio sources, nesting and what happens at the destination.

Arrays in, array out (OpenCV code passes BGR frames):

    @protect_arrays(guard, model=ModelInfo("my-swapper"), color_order="BGR")
    def swap_face(source_frame, target_frame): ...

A FaceFusion job step, ``process_step(job_id, step_index, step_args) -> bool``. It returns ``False``
when the run is blocked or fails (the blocked record is in the log), as FaceFusion's job runner
expects, and points FaceFusion's ``temp_path`` into the run's workspace for the call:

    @protect_job_step(guard, model=ModelInfo("inswapper"))
    def process_step(job_id, step_index, step_args): ...
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np

from fusionguard.adapters._staging import Staged, ToolFailed, inside_guarded_call, run_paths
from fusionguard.audit.record import ModelInfo
from fusionguard.errors import BadInput, FusionGuardError
from fusionguard.guard import Guard, RunInputs
from fusionguard.media import ColorOrder

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger("fusionguard.adapters")


def _as_paths(value: object, name: str) -> list[str]:
    if isinstance(value, str | Path):
        return [str(value)]
    if isinstance(value, Sequence) and all(isinstance(v, str | Path) for v in value):
        return [str(v) for v in value]
    raise BadInput(f"argument {name!r} must be a path or a list of paths, got {type(value).__name__}")


def _as_path(value: object, name: str) -> str:
    if isinstance(value, str | Path):
        return str(value)
    raise BadInput(f"argument {name!r} must be a path, got {type(value).__name__}")


def protect_paths(
    guard: Guard,
    *,
    model: ModelInfo,
    sources: str = "source_paths",
    target: str = "target_path",
    output: str = "output_path",
) -> Callable[[F], F]:
    """Guard a function that reads source/target files and writes ``output``.

    Returns what the function returned (a returned staged output path becomes the real one); a block
    raises :class:`~fusionguard.errors.PolicyViolation`.
    """

    def decorate(function: F) -> F:
        signature = inspect.signature(function)
        for name in (sources, target, output):
            if name not in signature.parameters:
                raise BadInput(f"{function.__qualname__} has no parameter {name!r} to guard")

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if inside_guarded_call():  # already inside a guarded run's workspace: one record per output
                return function(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            given = bound.arguments[sources]
            single = isinstance(given, str | Path)
            output_path = _as_path(bound.arguments[output], output)

            def produce(staged: Staged) -> Any:
                call = dict(bound.arguments)
                call[sources] = staged.sources[0] if single else list(staged.sources)
                call[target] = staged.target
                call[output] = staged.output
                return function(**call)

            result, _ = run_paths(
                guard,
                model=model,
                sources=_as_paths(given, sources),
                target=_as_path(bound.arguments[target], target),
                output=output_path,
                produce=produce,
            )
            return output_path if isinstance(result, str) else result

        return wrapper  # type: ignore[return-value]

    return decorate


def protect_arrays(guard: Guard, *, model: ModelInfo, color_order: ColorOrder = "BGR") -> Callable[[F], F]:
    """Guard ``swap_face(source_frame, target_frame) -> frame`` over uint8 arrays in ``color_order``."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(
            source_frame: np.ndarray, target_frame: np.ndarray, *args: Any, **kwargs: Any
        ) -> np.ndarray:
            def pipeline(run: RunInputs) -> np.ndarray:
                src, tgt = run.sources[0], run.target
                assert tgt is not None
                if color_order == "BGR":
                    src, tgt = (cv2.cvtColor(a, cv2.COLOR_RGB2BGR) for a in (src, tgt))
                result: np.ndarray = function(src, tgt, *args, **kwargs)
                return result

            released = guard.run(
                sources=[source_frame],
                target=target_frame,
                model=model,
                pipeline=pipeline,
                color_order=color_order,
            ).output
            return cv2.cvtColor(released, cv2.COLOR_RGB2BGR) if color_order == "BGR" else released

        return wrapper  # type: ignore[return-value]

    return decorate


_FACEFUSION_PATH_KEYS = ("source_paths", "target_path", "output_path", "temp_path")


@contextlib.contextmanager
def facefusion_state(workspace_temp: Path) -> Iterator[None]:
    """Point FaceFusion's ``temp_path`` into the run's workspace for the call (its temp frames and
    ``temp.<ext>`` copies then live and die with the workspace), and give back afterwards the paths
    the step set (sources, target, output, temp) in both of its state contexts ("cli" and "ui"), so
    nothing keeps pointing at deleted workspace files. Does nothing when FaceFusion is not loaded."""
    state_manager = sys.modules.get("facefusion.state_manager")
    state_set: dict[str, dict[str, Any]] | None = getattr(state_manager, "STATE_SET", None)
    if state_set is None:
        yield
        return
    missing = object()
    saved = {
        ctx: {k: state.get(k, missing) for k in _FACEFUSION_PATH_KEYS} for ctx, state in state_set.items()
    }
    workspace_temp.mkdir(mode=0o700, exist_ok=True)
    for state in state_set.values():
        state["temp_path"] = str(workspace_temp)
    try:
        yield
    finally:
        for ctx, values in saved.items():
            for key, value in values.items():
                if value is missing:
                    state_set[ctx].pop(key, None)
                else:
                    state_set[ctx][key] = value


def protect_job_step(guard: Guard, *, model: ModelInfo) -> Callable[[F], F]:
    """Guard a FaceFusion job step whose ``step_args`` hold source_paths, target_path, output_path.

    Returns ``True`` when the guarded output was released at ``output_path``, ``False`` when the run
    was blocked (a signed blocked record is in the log), the step failed, or fusionguard refused the
    inputs; the reason is logged on the ``fusionguard.adapters`` logger.
    """

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(job_id: str, step_index: int, step_args: Mapping[str, Any]) -> bool:
            if inside_guarded_call():
                return bool(function(job_id, step_index, step_args))
            missing = [k for k in ("source_paths", "target_path", "output_path") if k not in step_args]
            if missing:
                raise BadInput(f"job {job_id} step {step_index}: step_args lacks {', '.join(missing)}")

            def produce(staged: Staged) -> None:
                args = {
                    **step_args,
                    "source_paths": list(staged.sources),
                    "target_path": staged.target,
                    "output_path": staged.output,
                }
                with facefusion_state(staged.run.workspace.path / "tmp"):
                    if not function(job_id, step_index, args):
                        raise ToolFailed(f"job {job_id} step {step_index}: the step reported failure")

            try:
                run_paths(
                    guard,
                    model=model,
                    sources=_as_paths(step_args["source_paths"] or [], "source_paths"),
                    target=_as_path(step_args["target_path"], "target_path"),
                    output=_as_path(step_args["output_path"], "output_path"),
                    produce=produce,
                    extra={"job_id": str(job_id), "step_index": int(step_index)},
                )
            except (FusionGuardError, ToolFailed) as error:
                logger.warning("job %s step %s not released: %s", job_id, step_index, error)
                return False
            return True

        return wrapper  # type: ignore[return-value]

    return decorate
