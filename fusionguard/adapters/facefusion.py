"""Adapters for FaceFusion / roop / Deep-Live-Cam style code. They translate arguments only; the
order of checks, watermarking, recording and release is :meth:`fusionguard.guard.Guard.run`'s.

Paths in, path out — the decorator is told which parameters hold the sources, target and output:

    @protect_paths(guard, model=ModelInfo("inswapper", "128", "other"))
    def process_image(source_paths: list[str], target_path: str, output_path: str) -> str: ...

Arrays in, array out (OpenCV code passes BGR frames):

    @protect_arrays(guard, model=ModelInfo("my-swapper"), color_order="BGR")
    def swap_face(source_frame, target_frame): ...

A FaceFusion job step, ``process_step(job_id, step_index, step_args) -> bool``:

    @protect_job_step(guard, model=ModelInfo("inswapper"))
    def process_step(job_id, step_index, step_args): ...
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np

from fusionguard.audit.record import ModelInfo
from fusionguard.errors import BadInput
from fusionguard.guard import Guard, RunInputs
from fusionguard.media import ColorOrder, load_image

F = TypeVar("F", bound=Callable[..., Any])


def _as_paths(value: object, name: str) -> list[str]:
    if isinstance(value, str | Path):
        return [str(value)]
    if isinstance(value, Sequence) and all(isinstance(v, str | Path) for v in value):
        return [str(v) for v in value]
    raise BadInput(f"argument {name!r} must be a path or a list of paths, got {type(value).__name__}")


def protect_paths(
    guard: Guard,
    *,
    model: ModelInfo,
    sources: str = "source_paths",
    target: str = "target_path",
    output: str = "output_path",
) -> Callable[[F], F]:
    """Guard a function that reads source/target files and writes ``output``."""

    def decorate(function: F) -> F:
        signature = inspect.signature(function)
        for name in (sources, target, output):
            if name not in signature.parameters:
                raise BadInput(f"{function.__qualname__} has no parameter {name!r} to guard")

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            source_paths = _as_paths(bound.arguments[sources], sources)
            targets = _as_paths(bound.arguments[target], target)
            if len(targets) != 1:
                raise BadInput(f"argument {target!r} must name one target file, got {len(targets)}")
            target_path = targets[0]
            output_path = Path(_as_paths(bound.arguments[output], output)[0])
            returned: list[Any] = []

            def pipeline(run: RunInputs) -> np.ndarray:
                # The wrapped code reads the checked copies and writes into the private workspace.
                staged_output = run.workspace.file("output" + (output_path.suffix or ".png"))
                call = dict(bound.arguments)
                call[sources] = [str(p) for p in run.source_files]
                call[target] = str(run.target_file)
                call[output] = str(staged_output)
                returned.append(function(**call))
                if not staged_output.exists():
                    raise BadInput(f"{function.__qualname__} wrote no output file")
                return load_image(staged_output, source="pipeline output").rgb

            guard.run(
                sources=source_paths,
                target=target_path,
                model=model,
                pipeline=pipeline,
                output_path=output_path,
            )
            result = returned[0]
            return str(output_path) if isinstance(result, str) else result

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


def protect_job_step(guard: Guard, *, model: ModelInfo) -> Callable[[F], F]:
    """Guard a FaceFusion job step whose ``step_args`` hold source_paths, target_path, output_path."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(job_id: str, step_index: int, step_args: Mapping[str, Any]) -> bool:
            missing = [k for k in ("source_paths", "target_path", "output_path") if k not in step_args]
            if missing:
                raise BadInput(f"job {job_id} step {step_index}: step_args lacks {', '.join(missing)}")
            outcome: list[bool] = []

            def process_image(source_paths: list[str], target_path: str, output_path: str) -> None:
                args = {
                    **step_args,
                    "source_paths": source_paths,
                    "target_path": target_path,
                    "output_path": output_path,
                }
                outcome.append(bool(function(job_id, step_index, args)))
                if not outcome[-1]:
                    raise BadInput(f"job {job_id} step {step_index} reported failure")

            protect_paths(guard, model=model)(process_image)(
                step_args["source_paths"], step_args["target_path"], step_args["output_path"]
            )
            return all(outcome)

        return wrapper  # type: ignore[return-value]

    return decorate
