"""Load the vendored real tools (tests/third_party/) and replace only their model calls.

The tools' code runs unchanged. Their model-loading and inference functions (face detection,
landmarks, recognition, classification, NSFW, the swapper network) need weights that cannot be
downloaded here; each is replaced by monkeypatching with a small real operation: dlib's HOG detector
and 68-point predictor for faces (5 points taken from the 68), a constant identity embedding (so
"reference" face selection matches), and for the swapper network a darkening of the aligned face
crop it is given. The rest (alignment, masks, paste-back, ffmpeg, temp folders, job files) is the
tool's own. Python packages the tools import only for models or their desktop UI (insightface,
tensorflow, opennsfw2, customtkinter, ...) are not installed: placeholders go into ``sys.modules``.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import cv2
import dlib
import face_recognition_models
import numpy as np
import pytest

from fusionguard.media import load_image

THIRD_PARTY = Path(__file__).resolve().parent.parent / "third_party"
FACEFUSION = {"3.8.1": THIRD_PARTY / "facefusion-3.8.1", "3.3.2": THIRD_PARTY / "facefusion-3.3.2"}


_per_thread = threading.local()


def _dlib() -> tuple[Any, Any]:
    """dlib's detector and landmark predictor for this thread. The tools call their face models from
    a thread pool (FaceFusion's video workers); the ONNX sessions they stand in for allow that, one
    dlib detector shared by several threads does not (it aborted the process in a CI run)."""
    if not hasattr(_per_thread, "models"):
        _per_thread.models = (
            dlib.get_frontal_face_detector(),
            dlib.shape_predictor(face_recognition_models.pose_predictor_model_location()),
        )
    models: tuple[Any, Any] = _per_thread.models
    return models


def detect(frame_bgr: np.ndarray) -> list[tuple[np.ndarray, float, np.ndarray]]:
    """(box x1,y1,x2,y2; score; 5 landmarks: eyes, nose tip, mouth corners) per face, by dlib."""
    detector, predictor = _dlib()
    rgb = np.ascontiguousarray(cv2.cvtColor(frame_bgr[:, :, :3].astype(np.uint8), cv2.COLOR_BGR2RGB))
    faces = []
    for rect in detector(rgb, 1):
        shape = predictor(rgb, rect)
        points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
        five = np.stack(
            [points[36:42].mean(0), points[42:48].mean(0), points[30], points[48], points[54]]
        ).astype(np.float32)
        box = np.array([rect.left(), rect.top(), rect.right(), rect.bottom()], dtype=np.float32)
        faces.append((box, 0.9, five))
    return faces


def darken(crop: np.ndarray) -> np.ndarray:
    """The stand-in for a swapper network: the aligned crop, 10 % darker."""
    return (crop * 0.9).astype(crop.dtype)


def purge(package: str) -> None:
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]


def placeholder_modules(monkeypatch: pytest.MonkeyPatch, names: Sequence[str]) -> None:
    """Empty modules for model/UI libraries a tool imports at module level but the tests never use."""
    for name in names:
        module = types.ModuleType(name)
        module.__getattr__ = lambda attr, _name=name: _missing(_name, attr)  # type: ignore[method-assign]
        monkeypatch.setitem(sys.modules, name, module)


def _missing(module: str, attr: str) -> Any:
    if attr.startswith("__"):
        raise AttributeError(attr)
    return types.SimpleNamespace(name=f"{module}.{attr} (placeholder)")


@contextlib.contextmanager
def vendored(root: Path, package: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Import ``package`` from ``root`` (working directory there, as the tools expect), then forget it."""
    purge(package)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.chdir(root)
    try:
        yield
    finally:
        purge(package)


def facefusion_models(version: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace FaceFusion's model calls (the modules must be importable from the vendored tree)."""
    import importlib

    def detect_faces(frame: np.ndarray) -> tuple[list[Any], list[float], list[Any]]:
        found = detect(frame)
        return [f[0] for f in found], [f[1] for f in found], [f[2] for f in found]

    embedding = np.ones(512, dtype=np.float32)
    analyser = importlib.import_module(
        "facefusion.face_creator" if version == "3.8.1" else "facefusion.face_analyser"
    )
    monkeypatch.setattr(analyser, "detect_faces", detect_faces)
    monkeypatch.setattr(analyser, "detect_face_landmark", lambda *_: (np.zeros((68, 2), np.float32), 0.0))
    monkeypatch.setattr(analyser, "estimate_face_landmark_68_5", lambda five: np.resize(five, (68, 2)))
    monkeypatch.setattr(analyser, "classify_face", lambda *_: ("female", range(20, 30), "white"))
    recognize = "calculate_face_embedding" if version == "3.8.1" else "calc_embedding"
    monkeypatch.setattr(analyser, recognize, lambda *_: (embedding, embedding / np.linalg.norm(embedding)))
    content_analyser = importlib.import_module("facefusion.content_analyser")
    monkeypatch.setattr(content_analyser, "detect_nsfw", lambda *_: False)
    for name in ("content_analyser", "face_classifier", "face_detector", "face_landmarker", "face_masker"):
        # model downloads (3.3.2 checks them before every step)
        monkeypatch.setattr(importlib.import_module(f"facefusion.{name}"), "pre_check", lambda: True)
    for name in ("face_recognizer", "voice_extractor"):
        monkeypatch.setattr(importlib.import_module(f"facefusion.{name}"), "pre_check", lambda: True)
    swapper = importlib.import_module(
        "facefusion.processors.modules.face_swapper.core"
        if version == "3.8.1"
        else "facefusion.processors.modules.face_swapper"
    )
    monkeypatch.setattr(swapper, "pre_check", lambda: True)

    def forward_swap_face(*args: Any) -> np.ndarray:
        crop = args[-1][0]  # (3, H, W), normalised as the model expects; back the same way
        options = swapper.get_model_options()
        mean = np.asarray(options.get("mean", [0.0] * 3), np.float32).reshape(3, 1, 1)
        std = np.asarray(options.get("standard_deviation", [1.0] * 3), np.float32).reshape(3, 1, 1)
        unit = darken(crop * std + mean)
        if options.get("type") in ("ghost", "hififace", "hyperswap", "uniface"):
            return (unit - mean) / std
        return unit

    monkeypatch.setattr(swapper, "forward_swap_face", forward_swap_face)


def facefusion_args(
    sources: Sequence[Path], target: Path, output: Path, jobs: Path, temp: Path, *extra: str
) -> dict[str, Any]:
    """A ``headless-run`` command line parsed by FaceFusion's own program, applied to its state."""
    from facefusion import state_manager
    from facefusion.args import apply_args
    from facefusion.jobs import job_manager
    from facefusion.program import create_program

    argv = ["headless-run", "-t", str(target), "-o", str(output), "--jobs-path", str(jobs)]
    argv += ["--temp-path", str(temp), "-s", *map(str, sources), *extra]
    args: dict[str, Any] = vars(create_program().parse_args(argv))
    apply_args(args, state_manager.init_item)
    assert job_manager.init_jobs(state_manager.get_item("jobs_path"))
    return args


# --- roop and Deep-Live-Cam (insightface-based) ---------------------------------------------------

ROOP = THIRD_PARTY / "roop-a13727a"


class InsightFace(dict[str, Any]):
    """What ``insightface.app.common.Face`` is: a dict whose keys read as attributes."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name)


def insightface_faces(frame_bgr: np.ndarray) -> list[InsightFace]:
    unit = np.ones(512, np.float32) / np.sqrt(512)
    return [
        InsightFace(bbox=box, kps=five, det_score=score, embedding=unit * 20, normed_embedding=unit)
        for box, score, five in detect(frame_bgr)
    ]


class StandInSwapper:
    """``insightface.model_zoo`` INSwapper's ``get``: here, darken the target face's box."""

    def get(
        self, frame: np.ndarray, target_face: InsightFace, source_face: Any, paste_back: bool = True
    ) -> Any:
        x1, y1, x2, y2 = (int(v) for v in target_face["bbox"])
        out = frame.copy()
        out[max(y1, 0) : y2, max(x1, 0) : x2] = darken(out[max(y1, 0) : y2, max(x1, 0) : x2])
        return out


class StandInEnhancer:
    """GFPGANer's ``enhance``: here, an unsharp mask of the face region it is given."""

    def enhance(self, face: np.ndarray, paste_back: bool = True) -> tuple[None, None, np.ndarray]:
        blurred = cv2.GaussianBlur(face, (0, 0), 2.0)
        return None, None, cv2.addWeighted(face, 1.3, blurred, -0.3, 0)


def insightface_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    placeholder_modules(
        monkeypatch,
        [
            *("insightface", "insightface.app", "insightface.model_zoo", "tensorflow", "keras", "opennsfw2"),
            *("gfpgan", "gfpgan.utils", "customtkinter", "tkinterdnd2"),
        ],
    )
    common = types.ModuleType("insightface.app.common")
    common.Face = InsightFace  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "insightface.app.common", common)


def roop_models(monkeypatch: pytest.MonkeyPatch, processors: Sequence[str]) -> None:
    """Import roop from the vendored tree with its models replaced, headless, with CLI defaults."""
    import importlib

    insightface_placeholders(monkeypatch)
    ui = types.ModuleType("roop.ui")  # the Tk window (not vendored): headless runs never open it
    ui.update_status = lambda message: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "roop.ui", ui)
    core = importlib.import_module("roop.core")
    settings = importlib.import_module("roop.globals")
    defaults = dict(
        headless=True, frame_processors=list(processors), keep_fps=True, keep_frames=False,
        skip_audio=False, many_faces=False, reference_face_position=0, reference_frame_number=0,
        similar_face_distance=0.85, temp_frame_format="png", temp_frame_quality=0,
        output_video_encoder="libx264", output_video_quality=35, max_memory=None,
        execution_providers=["CPUExecutionProvider"], execution_threads=1,
    )  # fmt: skip
    for key, value in defaults.items():
        monkeypatch.setattr(settings, key, value)
    monkeypatch.setattr(core, "predict_image", lambda path: False)  # opennsfw2
    monkeypatch.setattr(core, "predict_video", lambda path: False)
    analyser = importlib.import_module("roop.face_analyser")
    monkeypatch.setattr(analyser, "get_face_analyser", lambda: types.SimpleNamespace(get=insightface_faces))
    swapper = importlib.import_module("roop.processors.frame.face_swapper")
    monkeypatch.setattr(swapper, "get_face_swapper", StandInSwapper)
    enhancer = importlib.import_module("roop.processors.frame.face_enhancer")
    monkeypatch.setattr(enhancer, "get_face_enhancer", StandInEnhancer)


def make_clip(frame_bgr: np.ndarray, path: Path, seconds: float = 1.0, fps: int = 10) -> Path:
    """A short H.264 clip with an AAC tone, of the still panning slightly (a 1 px shift per frame of a
    window as wide as the still less the frame count), made with ffmpeg."""
    import subprocess
    import tempfile

    count = int(seconds * fps)
    height, width = (d - d % 2 for d in (frame_bgr.shape[0], frame_bgr.shape[1] - count))
    with tempfile.TemporaryDirectory() as folder:
        for i in range(count):
            cv2.imwrite(f"{folder}/{i:04d}.png", frame_bgr[:height, i : i + width])
        subprocess.run(
            [
                *("ffmpeg", "-v", "error", "-y", "-framerate", str(fps), "-i", f"{folder}/%04d.png"),
                *("-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"),
                *("-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)),
            ],
            check=True,
        )
    return path


DEEP_LIVE_CAM = THIRD_PARTY / "deep-live-cam-bdeeb3a"
_ARCFACE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


class StandInAlignedSwapper:
    """INSwapper's ``get(..., paste_back=False)``: the 128 px aligned face (darkened) and its matrix."""

    input_size = (128, 128)

    def get(
        self, frame: np.ndarray, target_face: InsightFace, source_face: Any, paste_back: bool = True
    ) -> Any:
        matrix, _ = cv2.estimateAffinePartial2D(target_face["kps"], _ARCFACE * (128 / 112))
        return darken(cv2.warpAffine(frame, matrix, self.input_size)), matrix


def deep_live_cam_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Import Deep-Live-Cam's modules from the vendored tree with its models replaced, headless."""
    import importlib

    insightface_placeholders(monkeypatch)
    placeholder_modules(monkeypatch, ["sklearn", "sklearn.cluster"])
    monkeypatch.setitem(sys.modules, "torch", None)  # type: ignore[arg-type]  # the CPU path, without torch
    # The window is never shown: placeholder Qt classes let the module define its widgets.
    class_placeholders(monkeypatch, ["PySide6", "PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets"])
    placeholder_modules(monkeypatch, ["requests"])
    settings = importlib.import_module("modules.globals")
    defaults = dict(
        headless=True, frame_processors=["face_swapper"], keep_fps=True, keep_audio=True,
        many_faces=False, map_faces=False, nsfw_filter=False, video_encoder="libx264", video_quality=18,
        execution_providers=["CPUExecutionProvider"], execution_threads=1,
    )  # fmt: skip
    for key, value in defaults.items():
        monkeypatch.setattr(settings, key, value)
    analyser = importlib.import_module("modules.face_analyser")
    monkeypatch.setattr(analyser, "_analyse_faces", insightface_faces)
    monkeypatch.setattr(analyser, "get_face_analyser", StandInFaceAnalysis)  # the live loop's detector
    swapper = importlib.import_module("modules.processors.frame.face_swapper")
    monkeypatch.setattr(swapper, "get_face_swapper", StandInAlignedSwapper)
    monkeypatch.setattr(swapper, "pre_start", lambda: True)  # checks that the model file is on disk


def face_clip(photo_rgb: np.ndarray, path: Path) -> Path:
    """A 1 s clip of a 320 px square around the photo's one face (dlib sees no stray faces in it)."""
    x1, y1, x2, y2 = detect(cv2.cvtColor(photo_rgb, cv2.COLOR_RGB2BGR))[0][0].astype(int)
    side = 320 + 10  # the pan takes 10 px of width
    left = int(np.clip((x1 + x2) // 2 - side // 2, 0, photo_rgb.shape[1] - side))
    top = int(np.clip((y1 + y2) // 2 - side // 2, 0, photo_rgb.shape[0] - side))
    crop = photo_rgb[top : top + side, left : left + side]
    return make_clip(cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), path)


def still(photo: Path, path: Path) -> Path:
    """The photo written by OpenCV, as roop and Deep-Live-Cam write their files."""
    cv2.imwrite(str(path), cv2.cvtColor(load_image(photo).rgb, cv2.COLOR_RGB2BGR))
    return path


def set_paths(globals_module: str, source: Path, target: Path, output: Path) -> None:
    """Point a roop-style tool's globals (``roop.globals``; Deep-Live-Cam's fork: ``modules.globals``)
    at these files, as its CLI or window does before ``start()``."""
    tool = importlib.import_module(globals_module)
    tool.source_path, tool.target_path, tool.output_path = str(source), str(target), str(output)


def start_on_clip(
    installation: contextlib.AbstractContextManager[Any],
    package: str,
    source_photo: Path,
    face_photo: Path,
    tmp_path: Path,
) -> Path:
    """Run a roop-style tool's own ``<package>.core.start()`` on a 1 s clip of ``face_photo``'s face
    with ``source_photo`` as the source, inside ``installation``; returns the output path."""
    source = still(source_photo, tmp_path / "source.jpg")
    target = face_clip(load_image(face_photo).rgb, tmp_path / "target.mp4")
    output = tmp_path / "swapped.mp4"
    set_paths(f"{package}.globals", source, target, output)
    with installation:
        importlib.import_module(f"{package}.core").start()
    return output


class StandInFaceAnalysis:
    """insightface's FaceAnalysis as the live loop uses it: ``det_model.detect`` (boxes, 5 points)."""

    class _Detector:
        def detect(self, frame: np.ndarray, max_num: int = 0, metric: str = "default") -> Any:
            found = detect(frame)
            boxes = np.array([[*box, score] for box, score, _ in found], np.float32).reshape(-1, 5)
            return boxes, np.array([five for _, _, five in found], np.float32).reshape(-1, 5, 2)

    det_model = _Detector()
    models: ClassVar[dict[str, Any]] = {}


def class_placeholders(monkeypatch: pytest.MonkeyPatch, names: Sequence[str]) -> None:
    """Modules whose every attribute is a class (UI toolkits: Qt, Gradio) that a module under test
    subclasses or instantiates at import, but whose widgets the tests never show."""
    for name in names:
        monkeypatch.setitem(sys.modules, name, _QtPlaceholder(name))


class _QtClass(type):
    def __getattr__(cls, name: str) -> Any:
        return _QtObject()


class _QtObject(metaclass=_QtClass):
    """Any Qt class or value: constructible with anything, usable as a base class or a decorator."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return args[0] if len(args) == 1 and callable(args[0]) else _QtObject()

    def __getattr__(self, name: str) -> Any:
        return _QtObject()


class _QtPlaceholder(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _QtClass(name, (_QtObject,), {})
