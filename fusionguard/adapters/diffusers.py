"""Adapter for Hugging Face ``diffusers`` pipelines (text-to-image and image-to-image).

It translates a pipeline call into :meth:`fusionguard.guard.Guard.run` calls and nothing else: every
output image is its own guarded run (license, NSFW and target-consent checks, then generation, then
the output checks, watermark, signed record and release, in the Guard's order).

    from diffusers import StableDiffusionPipeline
    from fusionguard.guard import Guard
    from fusionguard.adapters.diffusers import guard_pipeline

    pipe = StableDiffusionPipeline.from_pretrained("/models/sd-1.5")  # a local directory
    guarded = guard_pipeline(Guard.from_policy("default"), pipe)       # license from its README.md
    result = guarded("a lighthouse at dusk", num_inference_steps=30)
    result.images[0].save("lighthouse.png")                           # released, watermarked
    result.fusionguard[0].record_id                                    # the signed record

The model's name and license: ``model=ModelInfo(...)`` wins; otherwise the name is the pipeline's
``name_or_path`` and the license is read from a local model card (``model_card=``, or ``README.md``
in the pipeline's directory when ``name_or_path`` is a local directory). Nothing is fetched from the
network; a pipeline whose license cannot be found has license ``"unknown"``, which the default policy
blocks, with an error saying how to declare it.

The init image of an image-to-image call (``image=``) is the run's *target*: its faces need target
consent. Other image inputs (``mask_image``, ``control_image``, IP-Adapter images) would reach the
model unchecked, so they are refused. ``num_images_per_prompt`` and lists of prompts are supported by
running the pipeline once per output image (one record each); the returned images are the released,
watermarked ones. Prompts are recorded as the policy says (``privacy.store_prompts``).

diffusers, transformers and torch are imported only when a pipeline is wrapped: importing this
module does not import torch.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from fusionguard.audit.record import ModelInfo, format_watermark_id
from fusionguard.checks.license import UNKNOWN, license_from_model_card
from fusionguard.errors import (
    BadInput,
    DiffusersNotInstalled,
    LicenseDenied,
    PolicyViolation,
    UndeclaredLicense,
)
from fusionguard.guard import Guard, GuardResult, ImageInput, RunInputs
from fusionguard.media import from_pil

__all__ = [
    "INSTALL_HINT",
    "DiffusersNotInstalled",
    "GuardedPipeline",
    "GuardedPipelineOutput",
    "UndeclaredLicense",
    "guard_pipeline",
    "model_info_for",
]

INSTALL_HINT = "pip install 'fusionguard[diffusers]'"

#: Output types the adapter can hand back after the Guard released the images.
_OUTPUT_TYPES = ("pil", "np")

#: Arguments that carry images (or embeddings of images) the Guard would not check. ``image`` is the
#: target and is checked; anything else image-like is refused, whatever its name.
_UNCHECKED_IMAGE_ARGUMENTS = frozenset(
    {
        "ip_adapter_image",
        "ip_adapter_image_embeds",
        "mask_image",
        "control_image",
        "image_embeds",
        "negative_image_embeds",
        "reference_image",
        "ref_image",
    }
)

UInt8Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class GuardedPipelineOutput:
    """Shaped like diffusers' pipeline output: ``images`` holds the released, watermarked images.

    ``images`` is a list of PIL images (``output_type="pil"``, the default) or a float32 NxHxWx3
    array in 0..1 (``output_type="np"``). ``fusionguard`` holds one :class:`GuardResult` per image,
    in order (record ID, watermark ID, the released uint8 RGB array, receipt).
    """

    images: list[Image.Image] | npt.NDArray[np.float32]
    fusionguard: tuple[GuardResult, ...]
    nsfw_content_detected: None = None  # diffusers' field; the Guard's NSFW check has already passed

    @property
    def record_ids(self) -> tuple[str, ...]:
        return tuple(result.record_id for result in self.fusionguard)

    @property
    def watermark_ids(self) -> tuple[str, ...]:
        return tuple(format_watermark_id(result.watermark_id) for result in self.fusionguard)


def _import_diffusers() -> Any:
    try:
        import diffusers
    except ImportError as error:
        raise DiffusersNotInstalled(
            f"the diffusers adapter needs diffusers, transformers and torch ({error}); "
            f"install them with: {INSTALL_HINT}"
        ) from error
    return diffusers


def _name_or_path(pipeline: Any) -> str | None:
    name = getattr(pipeline, "name_or_path", None)
    if not name:
        config = getattr(pipeline, "config", None)
        name = getattr(config, "_name_or_path", None)
        if name is None and isinstance(config, dict):
            name = config.get("_name_or_path")
    return str(name) if name else None


def model_info_for(pipeline: Any, *, model_card: str | os.PathLike[str] | None = None) -> ModelInfo:
    """The :class:`ModelInfo` the adapter records for ``pipeline`` when no ``model=`` is given.

    Name: ``pipeline.name_or_path`` (or ``config._name_or_path``), else ``<unnamed ClassName>``.
    License: from ``model_card`` (a README.md, or a directory holding one), else from ``README.md`` in
    the pipeline's directory when ``name_or_path`` is a local directory, else ``"unknown"``.
    """
    name = _name_or_path(pipeline)
    card: Path | None = None
    if model_card is not None:
        card = Path(model_card)
        if not (card.is_file() or (card / "README.md").is_file()):
            raise BadInput(f"model card {card} does not exist (expected a README.md or a directory with one)")
    elif name is not None and Path(name).is_dir():
        card = Path(name) / "README.md"
    license_id = license_from_model_card(card) if card is not None else UNKNOWN
    return ModelInfo(name or f"<unnamed {type(pipeline).__name__}>", "", license_id)


def guard_pipeline(
    guard: Guard,
    pipeline: Any,
    *,
    model: ModelInfo | None = None,
    model_card: str | os.PathLike[str] | None = None,
) -> GuardedPipeline:
    """Wrap a ``diffusers.DiffusionPipeline`` so that every call goes through ``guard``.

    ``model`` (name, version, license) wins over anything read from the pipeline; otherwise see
    :func:`model_info_for`. The license is resolved once, here; the check itself runs (and records a
    blocked run) on every call.
    """
    if isinstance(pipeline, GuardedPipeline):
        raise BadInput("this pipeline is already guarded")
    diffusers = _import_diffusers()
    if not isinstance(pipeline, diffusers.DiffusionPipeline):
        raise BadInput(f"expected a diffusers.DiffusionPipeline, got {type(pipeline).__name__}")
    info = model if model is not None else model_info_for(pipeline, model_card=model_card)
    return GuardedPipeline(guard, pipeline, info, diffusers_version=str(diffusers.__version__))


@dataclass(frozen=True)
class _Job:
    """One output image: the pipeline arguments for it, its target and what the record says."""

    kwargs: dict[str, Any]
    target: ImageInput | None
    extra: dict[str, Any]


class GuardedPipeline:
    """A diffusers pipeline whose every output goes through :meth:`Guard.run`.

    Call it like the pipeline (same signature). The wrapped pipeline is ``.pipeline`` (for ``.to()``
    and the like; calling it directly bypasses the Guard). Attributes are not forwarded, so that
    ``guarded.to("cuda")`` cannot silently hand back the unguarded pipeline.
    """

    def __init__(self, guard: Guard, pipeline: Any, model: ModelInfo, *, diffusers_version: str = "") -> None:
        self.guard = guard
        self.pipeline = pipeline
        self.model = model
        self.diffusers_version = diffusers_version
        self._signature = inspect.signature(pipeline.__call__)
        self.__signature__ = self._signature
        self.__doc__ = getattr(pipeline.__call__, "__doc__", None)

    def __repr__(self) -> str:
        return f"GuardedPipeline({type(self.pipeline).__name__}, model={self.model!r})"

    def __call__(self, *args: Any, **kwargs: Any) -> GuardedPipelineOutput:
        call = self._bind(args, kwargs)
        output_type = call.pop("output_type", None) or "pil"
        if output_type not in _OUTPUT_TYPES:
            raise BadInput(
                f"output_type={output_type!r} is not supported by the guarded pipeline "
                f"(expected 'pil' or 'np': only released, watermarked images are returned)"
            )
        if call.pop("return_dict", True) is not True:
            raise BadInput("return_dict=False is not supported by the guarded pipeline; use result.images")
        results: list[GuardResult] = []
        for job in self._plan(call):
            try:
                results.append(self._run(job))
            except Exception as error:
                if results:
                    error.add_note(
                        f"{len(results)} earlier image(s) of this call were released and recorded "
                        f"({', '.join(r.record_id for r in results)}) but are not returned"
                    )
                if isinstance(error, PolicyViolation):
                    raise self._explain(error) from None
                raise
        if output_type == "np":
            stacked = np.stack([r.output for r in results]).astype(np.float32) / np.float32(255)
            return GuardedPipelineOutput(images=stacked, fusionguard=tuple(results))
        return GuardedPipelineOutput(
            images=[Image.fromarray(r.output, mode="RGB") for r in results], fusionguard=tuple(results)
        )

    # -- translating the arguments ----------------------------------------------------------------

    def _bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's explicit arguments by name (a TypeError for a wrong call, as the pipeline gives)."""
        bound = self._signature.bind(*args, **kwargs)
        call: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            kind = self._signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_KEYWORD:
                call.update(value)
            elif kind is inspect.Parameter.VAR_POSITIONAL:
                if value:
                    raise BadInput(f"{type(self.pipeline).__name__}: unexpected extra positional arguments")
            else:
                call[name] = value
        for name, value in call.items():
            if (
                name != "image"
                and value is not None
                and (name in _UNCHECKED_IMAGE_ARGUMENTS or _is_image_like(value))
            ):
                raise BadInput(
                    f"argument {name!r} passes an image the guard does not check; the diffusers adapter "
                    f"supports text-to-image and image-to-image (image=) only"
                )
        if call.get("image") is not None and "image" not in self._signature.parameters:
            raise BadInput(
                f"{type(self.pipeline).__name__} takes no image= (it is not an image-to-image pipeline)"
            )
        return call

    def _default(self, name: str) -> Any:
        parameter = self._signature.parameters.get(name)
        return (
            None if parameter is None or parameter.default is inspect.Parameter.empty else parameter.default
        )

    def _plan(self, call: dict[str, Any]) -> list[_Job]:
        """One job per output image: prompts x num_images_per_prompt, in diffusers' order."""
        prompt = call.get("prompt")
        prompts: list[str | None]
        if prompt is None:
            embeds = call.get("prompt_embeds")
            if embeds is not None and len(embeds) != 1:
                raise BadInput("prompt_embeds: pass one prompt embedding per call (batch size 1)")
            prompts = [None]
        elif isinstance(prompt, str):
            prompts = [prompt]
        elif isinstance(prompt, list | tuple) and prompt and all(isinstance(p, str) for p in prompt):
            prompts = list(prompt)
        else:
            raise BadInput(
                f"prompt: expected a string or a non-empty list of strings, got {type(prompt).__name__}"
            )
        negatives = _per_prompt(call.get("negative_prompt"), len(prompts), "negative_prompt")
        if call.get("negative_prompt_embeds") is not None and len(call["negative_prompt_embeds"]) != 1:
            raise BadInput("negative_prompt_embeds: pass one embedding per call (batch size 1)")

        per_prompt = call.get("num_images_per_prompt")
        per_prompt = 1 if per_prompt is None else per_prompt
        if isinstance(per_prompt, bool) or not isinstance(per_prompt, int) or per_prompt < 1:
            raise BadInput(f"num_images_per_prompt: expected a positive integer, got {per_prompt!r}")
        total = len(prompts) * per_prompt

        image = call.get("image")
        images: list[Any] = [None]
        if image is not None:
            images = list(image) if isinstance(image, list | tuple) else [image]
            if len(images) not in (1, len(prompts)):
                raise BadInput(
                    f"image: got {len(images)} images for {len(prompts)} prompts (expected 1 or one each)"
                )
        targets = [_target_input(item) if item is not None else None for item in images]

        generators = call.get("generator")
        if isinstance(generators, list | tuple) and len(generators) != total:
            raise BadInput(
                f"generator: got {len(generators)} generators for {total} images (expected one each)"
            )
        latents = call.get("latents")
        if latents is not None and total > 1 and len(latents) != total:
            raise BadInput(f"latents: batch of {len(latents)} for {total} images (expected one each)")

        steps = call.get("num_inference_steps", self._default("num_inference_steps"))
        store = self.guard.policy.privacy.store_prompts
        jobs: list[_Job] = []
        for index in range(total):
            p = index // per_prompt
            kwargs = dict(call)
            kwargs.pop("image", None)
            if prompt is not None:
                kwargs["prompt"] = prompts[p]
            if negatives is not None:
                kwargs["negative_prompt"] = negatives[p]
            if "num_images_per_prompt" in self._signature.parameters or "num_images_per_prompt" in call:
                kwargs["num_images_per_prompt"] = 1
            generator = generators[index] if isinstance(generators, list | tuple) else generators
            if generators is not None:
                kwargs["generator"] = generator
            if latents is not None and total > 1:
                kwargs["latents"] = latents[index : index + 1]
            extra: dict[str, Any] = {
                "adapter": "diffusers",
                "pipeline": type(self.pipeline).__name__,
                "diffusers_version": self.diffusers_version or None,
                "image_index": index,
                "images_in_call": total,
            }
            if isinstance(steps, int) and not isinstance(steps, bool):
                extra["steps"] = steps
            seed = getattr(generator, "initial_seed", None)
            if callable(seed):
                extra["seed"] = int(seed())
            _record_prompt(extra, "prompt", prompts[p], store)
            if negatives is not None:
                _record_prompt(extra, "negative_prompt", negatives[p], store)
            if prompts[p] is None and call.get("prompt_embeds") is not None:
                extra["prompt_embeds"] = True
            target = targets[p if len(targets) > 1 else 0]
            jobs.append(_Job(kwargs=kwargs, target=target, extra=extra))
        return jobs

    # -- one guarded run ----------------------------------------------------------------------------

    def _run(self, job: _Job) -> GuardResult:
        def generate(run: RunInputs) -> UInt8Image:
            kwargs = dict(job.kwargs, output_type="np", return_dict=True)
            if run.target is not None:
                kwargs["image"] = Image.fromarray(run.target, mode="RGB")  # the checked pixels
            produced = self.pipeline(**kwargs)
            images = produced.images if hasattr(produced, "images") else produced[0]
            if len(images) != 1:
                raise RuntimeError(f"expected one image from the pipeline, got {len(images)}")
            return _to_uint8(images[0])

        return self.guard.run(
            sources=[], target=job.target, model=self.model, pipeline=generate, extra=job.extra
        )

    def _explain(self, violation: PolicyViolation) -> PolicyViolation:
        """Add how to declare a license when the block is (also) about an unknown license."""
        if not any(r.check == "license" and r.data.get("rule") == "unknown" for r in violation.reasons):
            return violation
        hint = (
            f"declare the model's license: guard_pipeline(guard, pipe, model=ModelInfo({self.model.name!r}, "
            f"license='<license id>')), or model_card='<README.md whose front matter has license: <id>>' "
            f"(a local model directory's README.md is read automatically)"
        )
        if not isinstance(violation, LicenseDenied):
            violation.add_note(hint)
            return violation
        explained = UndeclaredLicense(violation.reasons, violation.record_id, hint=hint)
        for note in getattr(violation, "__notes__", ()):
            explained.add_note(note)
        return explained


def _per_prompt(value: Any, count: int, name: str) -> list[str | None] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value] * count
    if isinstance(value, list | tuple) and len(value) == count and all(isinstance(v, str) for v in value):
        return list(value)
    raise BadInput(f"{name}: expected a string or one string per prompt ({count})")


def _record_prompt(extra: dict[str, Any], key: str, text: str | None, store: str) -> None:
    if text is None or store == "none":
        return
    if store == "plain":
        extra[key] = text
    else:
        extra[f"{key}_sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()


def _is_image_like(value: Any) -> bool:
    if isinstance(value, Image.Image) or (isinstance(value, np.ndarray) and value.ndim >= 2):
        return True
    return isinstance(value, list | tuple) and any(_is_image_like(v) for v in value)


def _target_input(image: Any) -> ImageInput:
    """An init image as the Guard loads it. A PIL image becomes its RGB pixels the way a decoded file
    would (transparency composited onto white), so the record hashes pixels, not an encoding."""
    if isinstance(image, Image.Image):
        # The decoder's own conversion (one definition of "what the checks see"); it is private to
        # fusionguard.media today.
        pixels: UInt8Image = from_pil(image, source="image")
        return pixels
    if isinstance(image, np.ndarray):
        array: npt.NDArray[Any] = image[0] if image.ndim == 4 and image.shape[0] == 1 else image
        if array.dtype == np.uint8:
            return array
        if np.issubdtype(array.dtype, np.floating):  # diffusers' convention: 0..1
            if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
                raise BadInput("image: a float array must hold values in 0..1")
            scaled: UInt8Image = np.rint(array * 255).astype(np.uint8)
            return scaled
        raise BadInput(f"image: expected a uint8 or float (0..1) array, got dtype {array.dtype}")
    if isinstance(image, str | os.PathLike | bytes):
        return image
    raise BadInput(
        f"image: expected a PIL image, an HxWx3 array or a file path, got {type(image).__name__} "
        f"(tensors are not accepted: the guard checks the pixels it is given)"
    )


def _to_uint8(image: Any) -> UInt8Image:
    """One pipeline output (float 0..1 HxWxC array, or a PIL image) as uint8, as diffusers rounds."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    array: npt.NDArray[Any] = np.asarray(image)
    if array.dtype == np.uint8:
        return array
    if not np.all(np.isfinite(array)):
        raise ValueError("the pipeline produced non-finite pixel values (NaN or inf)")
    rounded: UInt8Image = (np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8)
    return rounded
