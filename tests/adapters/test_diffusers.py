"""The diffusers adapter over a tiny, randomly initialised Stable Diffusion pipeline (CPU, no hub).

Real store (SQLite and PostgreSQL), real watermark, real NSFW model and the real dlib face backend.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may reach the hub
if os.environ.get("CI") == "true":  # mandatory in CI (.ci/run installs them); optional on a laptop
    import diffusers
    import torch
    import transformers
else:
    diffusers = pytest.importorskip("diffusers")  # typed Any here: diffusers ships no type hints
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")

from fusionguard.adapters.diffusers import (
    INSTALL_HINT,
    DiffusersNotInstalled,
    GuardedPipeline,
    UndeclaredLicense,
    guard_pipeline,
    model_info_for,
)
from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import Filters
from fusionguard.audit.record import AuditRecord, ModelInfo
from fusionguard.audit.verify import verify_log
from fusionguard.checks.nsfw import OpenNsfwOnnx
from fusionguard.errors import BadInput, ConsentRequired, LicenseDenied
from fusionguard.faces import DlibBackend
from fusionguard.guard import Guard
from fusionguard.media import encode_image
from fusionguard.policy import Policy
from fusionguard.registry import enrol_photos
from tests.conftest import FixedClock
from tests.test_guard import make_guard

pytestmark = pytest.mark.slow

LICENSE = "creativeml-openrail-m"
PROMPT = "a lighthouse at dusk"
SIZE = 256  # the watermark's minimum
STEPS = 2


# -- a tiny pipeline, built offline ---------------------------------------------------------------


def _tokenizer(folder: Path) -> Any:
    """A CLIP tokenizer from a hand-written character vocabulary (no download)."""
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for code in range(ord("a"), ord("z") + 1):
        vocab[chr(code)] = len(vocab)
        vocab[chr(code) + "</w>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return transformers.CLIPTokenizer(
        str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77
    )


def _build_pipeline(folder: Path) -> Any:
    torch.manual_seed(0)
    unet = diffusers.UNet2DConditionModel(
        sample_size=32,
        block_out_channels=(32, 64),
        layers_per_block=1,
        cross_attention_dim=32,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    )
    # Four blocks: a scale factor of 8 keeps the latent (and the UNet's attention) at 32x32 for a
    # 256x256 image, so a run takes about a second on a CPU.
    vae = diffusers.AutoencoderKL(
        block_out_channels=[8, 8, 16, 16],
        norm_num_groups=8,
        layers_per_block=1,
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        latent_channels=4,
    )
    # A random decoder paints high-contrast textures with power-of-two periods (8..32 px) that the
    # watermark's lattice search confuses with its own 64 px tile (embedding then fails to verify and
    # the Guard, rightly, releases nothing). Damping the last layer keeps the texture faint.
    with torch.no_grad():
        vae.decoder.conv_out.weight.mul_(0.1)
    text_encoder = transformers.CLIPTextModel(
        transformers.CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=5,
            vocab_size=1000,
        )
    )
    return diffusers.StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=_tokenizer(folder),
        unet=unet,
        scheduler=diffusers.DDIMScheduler(steps_offset=1, clip_sample=False),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local model directory, as ``save_pretrained`` writes it, with a model card."""
    folder = tmp_path_factory.mktemp("tiny-sd")
    scratch = tmp_path_factory.mktemp("tokenizer")
    _build_pipeline(scratch).save_pretrained(folder)
    (folder / "README.md").write_text(f"---\nlicense: {LICENSE}\ntags: [test]\n---\n# tiny-sd\n")
    return folder


def _load(cls_name: str, folder: Path) -> Any:
    pipeline = getattr(diffusers, cls_name).from_pretrained(folder, local_files_only=True)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


@pytest.fixture(scope="session")
def text2img(model_dir: Path) -> Any:
    return _load("StableDiffusionPipeline", model_dir)


@pytest.fixture(scope="session")
def img2img(model_dir: Path) -> Any:
    return _load("StableDiffusionImg2ImgPipeline", model_dir)


# -- the guard --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import cv2

    skimage_data: Any = pytest.importorskip("skimage.data")

    folder = tmp_path_factory.mktemp("photos")
    astronaut = np.asarray(skimage_data.astronaut())
    (folder / "astronaut.png").write_bytes(encode_image(astronaut, "png"))
    # Init images at the output size; the astronaut is cropped around her face first, so that the
    # face stays larger than the consent check's minimum at 256 px.
    face_crop = np.ascontiguousarray(astronaut[0:300, 70:370])
    return {
        "astronaut_file": folder / "astronaut.png",
        "astronaut": cv2.resize(face_crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA),
        "coffee": cv2.resize(np.asarray(skimage_data.coffee()), (SIZE, SIZE), interpolation=cv2.INTER_AREA),
    }


def _guard(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    **policy_changes: dict[str, Any],
) -> Guard:
    policy = None
    if policy_changes:
        data = Policy.default().to_dict()
        for section, values in policy_changes.items():
            data[section].update(values)
        data["name"] = "test-diffusers"
        policy = Policy.from_mapping(data)
    return make_guard(db_url, home, ring, clock, faces, nsfw, policy)


@pytest.fixture
def guard(
    db_url: str, home: Path, ring: KeyRing, clock: FixedClock, faces: DlibBackend, nsfw: OpenNsfwOnnx
) -> Guard:
    return _guard(db_url, home, ring, clock, faces, nsfw)


def _records(guard: Guard, decision: str | None = None) -> list[AuditRecord]:
    filters = Filters(decision=decision) if decision else Filters()
    return [stored.record for stored in guard.log.query(filters)]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- text to image ------------------------------------------------------------------------------------


def test_text_to_image_releases_a_watermarked_image_and_a_signed_record(
    guard: Guard, text2img: Any, model_dir: Path
) -> None:
    guarded = guard_pipeline(guard, text2img)
    assert guarded.model == ModelInfo(str(model_dir), "", LICENSE)

    result = guarded(
        PROMPT,
        height=SIZE,
        width=SIZE,
        num_inference_steps=STEPS,
        generator=torch.Generator().manual_seed(7),
    )

    [image] = result.images
    [released] = result.fusionguard
    pixels = np.asarray(image)
    assert image.size == (SIZE, SIZE) and image.mode == "RGB"
    assert np.array_equal(pixels, released.output)
    detection = guard.codec.detect(pixels)
    assert detection is not None and detection.payload == released.watermark_id

    [record] = _records(guard)
    assert record.record_id == released.record_id == result.record_ids[0]
    assert record.decision == "allowed"
    assert record.output is not None and record.output.watermark_id == result.watermark_ids[0]
    assert record.model == ModelInfo(str(model_dir), "", LICENSE)
    assert record.sources == () and record.targets == ()
    assert record.extra["prompt_sha256"] == _sha256(PROMPT)
    assert "prompt" not in record.extra  # the default policy stores a hash only
    assert record.extra["pipeline"] == "StableDiffusionPipeline"
    assert record.extra["steps"] == STEPS and record.extra["seed"] == 7
    assert verify_log(guard.log, full=True).ok


def test_each_image_of_a_batch_is_its_own_guarded_run(guard: Guard, text2img: Any) -> None:
    result = guard_pipeline(guard, text2img)(
        PROMPT,
        height=SIZE,
        width=SIZE,
        num_inference_steps=STEPS,
        num_images_per_prompt=2,
        output_type="np",
    )
    assert isinstance(result.images, np.ndarray) and result.images.shape == (2, SIZE, SIZE, 3)
    assert result.images.dtype == np.float32 and 0.0 <= result.images.min() <= result.images.max() <= 1.0
    assert len(set(result.watermark_ids)) == 2
    for array, released in zip(result.images, result.fusionguard, strict=True):
        pixels = np.rint(array * 255).astype(np.uint8)
        detection = guard.codec.detect(pixels)
        assert detection is not None and detection.payload == released.watermark_id
    records = _records(guard, "allowed")
    assert [r.record_id for r in records] == list(result.record_ids)
    assert [r.extra["image_index"] for r in records] == [0, 1]
    assert all(r.extra["images_in_call"] == 2 for r in records)


def test_pipeline_without_a_license_is_blocked_and_says_how_to_declare_one(
    guard: Guard, text2img: Any
) -> None:
    unnamed = diffusers.StableDiffusionPipeline(**text2img.components)  # built in memory: no name, no card
    guarded = guard_pipeline(guard, unnamed)
    assert guarded.model.license == "unknown"
    calls: list[int] = []
    handle = unnamed.unet.register_forward_hook(lambda *_: calls.append(1))  # shared with text2img
    try:
        with pytest.raises(LicenseDenied) as blocked:
            guarded(PROMPT, height=SIZE, width=SIZE, num_inference_steps=STEPS)
    finally:
        handle.remove()

    assert isinstance(blocked.value, UndeclaredLicense)
    assert "declare the model's license" in str(blocked.value) and "license='<license id>'" in str(
        blocked.value
    )
    assert calls == []  # the model never ran
    [record] = _records(guard)
    assert record.record_id == blocked.value.record_id
    assert record.decision == "blocked" and record.output is None
    assert [r["check"] for r in record.reasons] == ["license"]
    assert record.reasons[0]["data"]["rule"] == "unknown"
    assert record.model is not None and record.model.name == "<unnamed StableDiffusionPipeline>"


def test_store_prompts_plain_records_each_prompt_of_a_list(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    text2img: Any,
) -> None:
    guard = _guard(db_url, home, ring, clock, faces, nsfw, privacy={"store_prompts": "plain"})
    prompts = [PROMPT, "a red door"]
    result = guard_pipeline(guard, text2img)(
        prompts, negative_prompt="blurry", height=SIZE, width=SIZE, num_inference_steps=STEPS
    )
    assert len(result.images) == 2
    records = _records(guard, "allowed")
    assert [r.extra["prompt"] for r in records] == prompts
    assert all(r.extra["negative_prompt"] == "blurry" for r in records)
    assert not any("prompt_sha256" in r.extra for r in records)


def test_store_prompts_none_records_no_prompt(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    text2img: Any,
) -> None:
    guard = _guard(db_url, home, ring, clock, faces, nsfw, privacy={"store_prompts": "none"})
    guard_pipeline(guard, text2img)(PROMPT, height=SIZE, width=SIZE, num_inference_steps=STEPS)
    [record] = _records(guard, "allowed")
    assert not [key for key in record.extra if "prompt" in key]
    assert record.extra["pipeline"] == "StableDiffusionPipeline"


# -- image to image: the init image is the target ------------------------------------------------------


def test_img2img_with_a_face_that_is_not_enrolled_needs_target_consent(
    guard: Guard, img2img: Any, photos: dict[str, Any]
) -> None:
    from PIL import Image

    calls: list[int] = []
    handle = img2img.unet.register_forward_hook(lambda *_: calls.append(1))
    try:
        with pytest.raises(ConsentRequired) as blocked:
            guard_pipeline(guard, img2img)(
                PROMPT, image=Image.fromarray(photos["astronaut"]), strength=1.0, num_inference_steps=STEPS
            )
    finally:
        handle.remove()
    assert calls == []
    assert [(r.check, r.subject) for r in blocked.value.reasons] == [("consent", "target")]
    [record] = _records(guard)
    assert record.record_id == blocked.value.record_id and record.decision == "blocked"
    assert len(record.targets) == 1 and record.targets[0].faces == 1 and record.targets[0].identities == ()
    assert record.output is None


def test_img2img_with_an_enrolled_target_is_allowed(
    guard: Guard, img2img: Any, photos: dict[str, Any], faces: DlibBackend
) -> None:
    enrol_photos(guard.registry, faces, "Eileen Collins", [photos["astronaut_file"]], roles=["target"])
    result = guard_pipeline(guard, img2img)(
        PROMPT, image=photos["astronaut"], strength=1.0, num_inference_steps=STEPS
    )
    [record] = _records(guard, "allowed")
    assert record.record_id == result.record_ids[0]
    eileen = next(p.identity_id for p in guard.registry.identities() if p.display_name == "Eileen Collins")
    assert record.targets[0].identities == (eileen,)
    assert record.extra["pipeline"] == "StableDiffusionImg2ImgPipeline"


def test_img2img_with_a_face_free_init_image_is_allowed(
    guard: Guard, img2img: Any, photos: dict[str, Any]
) -> None:
    from PIL import Image

    init = Image.fromarray(photos["coffee"])
    result = guard_pipeline(guard, img2img)(PROMPT, image=init, strength=0.75, num_inference_steps=STEPS)
    [image] = result.images
    assert image.size == (SIZE, SIZE)
    detection = guard.codec.detect(np.asarray(image))
    assert detection is not None and detection.payload == result.fusionguard[0].watermark_id
    [record] = _records(guard)
    assert record.decision == "allowed"
    assert len(record.targets) == 1 and record.targets[0].faces == 0
    assert record.targets[0].sha256 == hashlib.sha256(photos["coffee"].tobytes()).hexdigest()


# -- arguments the adapter refuses or translates, before anything runs ---------------------------------


def test_unchecked_inputs_and_unsupported_outputs_are_refused(
    guard: Guard, text2img: Any, img2img: Any, photos: dict[str, Any]
) -> None:
    guarded_t2i, guarded_i2i = guard_pipeline(guard, text2img), guard_pipeline(guard, img2img)
    with pytest.raises(BadInput, match="'ip_adapter_image' passes an image the guard does not check"):
        guarded_t2i(PROMPT, ip_adapter_image=photos["coffee"])
    with pytest.raises(BadInput, match="takes no image="):
        guarded_t2i(PROMPT, image=photos["coffee"])
    with pytest.raises(BadInput, match="output_type='latent' is not supported"):
        guarded_t2i(PROMPT, output_type="latent")
    with pytest.raises(BadInput, match="return_dict=False"):
        guarded_t2i(PROMPT, return_dict=False)
    with pytest.raises(BadInput, match="tensors are not accepted"):
        guarded_i2i(PROMPT, image=torch.zeros(1, 3, SIZE, SIZE))
    with pytest.raises(BadInput, match="2 generators for 3 images"):
        guarded_t2i(PROMPT, num_images_per_prompt=3, generator=[torch.Generator(), torch.Generator()])
    with pytest.raises(TypeError):
        guarded_t2i(*range(40))  # as the pipeline itself: too many positional arguments
    assert _records(guard) == []  # nothing ran, so nothing was recorded
    with pytest.raises(BadInput, match=r"expected a diffusers\.DiffusionPipeline"):
        guard_pipeline(guard, object())
    with pytest.raises(BadInput, match="already guarded"):
        guard_pipeline(guard, guarded_t2i)


def test_model_identity_resolution(text2img: Any, model_dir: Path, tmp_path: Path) -> None:
    assert model_info_for(text2img) == ModelInfo(str(model_dir), "", LICENSE)
    unnamed = diffusers.StableDiffusionPipeline(**text2img.components)
    assert model_info_for(unnamed).license == "unknown"
    card = tmp_path / "README.md"
    card.write_text("---\nlicense: Apache 2.0\n---\n")
    assert model_info_for(unnamed, model_card=card).license == "apache-2.0"
    with pytest.raises(BadInput, match="does not exist"):
        model_info_for(unnamed, model_card=tmp_path / "missing.md")
    declared = ModelInfo("my-sd", "1.5", "openrail")
    guarded = guard_pipeline(cast(Guard, None), unnamed, model=declared, model_card=card)
    assert isinstance(guarded, GuardedPipeline) and guarded.model == declared  # explicit model wins
    assert "num_inference_steps" in inspect.signature(guarded).parameters  # the pipeline's signature


def test_importing_the_adapter_does_not_import_torch() -> None:
    code = (
        "import sys, fusionguard.adapters, fusionguard.adapters.diffusers; "
        "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_diffusers_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "diffusers", None)  # makes "import diffusers" fail
    with pytest.raises(
        DiffusersNotInstalled, match=re.escape(f"install them with: {INSTALL_HINT}")
    ) as missing:
        guard_pipeline(cast(Guard, None), object())
    assert isinstance(missing.value, ImportError)
