"""What a face backend returns, and how two faces are compared.

A backend (:class:`FaceBackend`) finds faces in an RGB image and describes each with an embedding;
two embeddings of the same person are close under the backend's ``metric`` (``distance <
match_threshold``). Embeddings carry the ``model_id`` of the model that made them, and
:func:`distance` refuses to compare embeddings of different models: their spaces are unrelated, and
a number computed across them would be meaningless yet look plausible.

>>> import numpy as np
>>> a = Embedding("demo-v1", np.array([1.0, 0.0], np.float32))
>>> b = Embedding("demo-v1", np.array([0.0, 1.0], np.float32))
>>> round(distance(a, b, "euclidean"), 4), round(distance(a, b, "cosine"), 4)
(1.4142, 1.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from fusionguard.errors import BadInput

Metric = Literal["euclidean", "cosine"]

#: The landmark order of insightface (and of ArcFace alignment): image-left eye centre, image-right
#: eye centre, nose tip, image-left mouth corner, image-right mouth corner.
INSIGHTFACE_LANDMARKS: tuple[str, ...] = (
    "left_eye",
    "right_eye",
    "nose_tip",
    "mouth_left",
    "mouth_right",
)

#: The landmark order of dlib's 5-point model: the two corners of the image-right eye (outer,
#: inner), the two corners of the image-left eye (outer, inner), and the base of the nose. dlib's
#: 5-point model has no mouth points, so its landmarks are not interchangeable with insightface's.
DLIB_5_LANDMARKS: tuple[str, ...] = (
    "right_eye_outer",
    "right_eye_inner",
    "left_eye_outer",
    "left_eye_inner",
    "nose_base",
)


def _readonly(array: np.ndarray) -> np.ndarray:
    copy = np.array(array, copy=True)
    copy.setflags(write=False)
    return copy


@dataclass(frozen=True)
class Embedding:
    """A face embedding and the model that made it (what a consent registry stores)."""

    model_id: str
    vector: np.ndarray

    def __post_init__(self) -> None:
        vector = np.asarray(self.vector, dtype=np.float32)
        if vector.ndim != 1 or vector.size == 0 or not np.all(np.isfinite(vector)):
            raise BadInput(f"embedding for {self.model_id}: expected a non-empty finite 1-D vector")
        object.__setattr__(self, "vector", _readonly(vector))


@dataclass(frozen=True, eq=False)
class Face:
    """One detected face.

    ``box`` is ``(left, top, right, bottom)`` in pixels of the image given to ``detect``, right and
    bottom exclusive, clipped to the image: ``rgb[top:bottom, left:right]`` is the face. ``score``
    is the detector's confidence (dlib: the HOG SVM margin, unbounded, larger is surer; insightface:
    [0, 1]). ``landmarks`` is a 5x2 float32 array of (x, y) image coordinates named by
    ``landmark_names`` (see :data:`DLIB_5_LANDMARKS` and :data:`INSIGHTFACE_LANDMARKS`).
    ``embedding`` is a float32 vector from model ``model_id``; whether it is L2-normalised depends
    on the backend (dlib: no, its 0.6 threshold is defined on raw descriptors, whose norm is close
    to but not exactly 1; insightface: yes). Arrays are read-only copies, so a Face can be shared
    safely.
    """

    box: tuple[int, int, int, int]
    score: float
    landmarks: np.ndarray
    embedding: np.ndarray
    model_id: str
    landmark_names: tuple[str, ...] = field(default=INSIGHTFACE_LANDMARKS)

    def __post_init__(self) -> None:
        left, top, right, bottom = (int(v) for v in self.box)
        if right <= left or bottom <= top:
            raise BadInput(f"face box {self.box}: right/bottom must exceed left/top")
        object.__setattr__(self, "box", (left, top, right, bottom))
        object.__setattr__(self, "score", float(self.score))
        landmarks = np.asarray(self.landmarks, dtype=np.float32)
        if landmarks.shape != (len(self.landmark_names), 2):
            raise BadInput(
                f"face landmarks: expected shape ({len(self.landmark_names)}, 2), got {landmarks.shape}"
            )
        object.__setattr__(self, "landmarks", _readonly(landmarks))
        object.__setattr__(self, "embedding", Embedding(self.model_id, self.embedding).vector)

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    @property
    def size(self) -> int:
        """The shorter side of the box, in pixels: what enrolment compares with
        ``min_face_size``."""
        return min(self.width, self.height)

    def as_embedding(self) -> Embedding:
        return Embedding(self.model_id, self.embedding)


@runtime_checkable
class FaceBackend(Protocol):
    """A face detector plus recogniser.

    ``model_id`` names the embedding model (embeddings of different ids are never compared),
    ``metric`` says how embeddings are compared, ``match_threshold`` is the distance below which two
    faces are the same person, and ``min_face_size`` is the smallest face (shorter box side, pixels)
    that enrolment should accept: smaller faces give unreliable embeddings.

    ``detect`` must be safe to call from several threads at once: the consent check scans a run's
    sources and target concurrently (a backend that is not can hold a lock around its own model).
    """

    model_id: str
    metric: Metric
    match_threshold: float
    min_face_size: int

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an HxWx3 uint8 RGB image, best score first; ``[]`` when there is none."""
        ...

    def distance(self, a: Face | Embedding, b: Face | Embedding) -> float:
        """The distance between two faces' embeddings (same model only)."""
        ...


def _as_embedding(value: Face | Embedding) -> Embedding:
    if isinstance(value, Face):
        return value.as_embedding()
    if isinstance(value, Embedding):
        return value
    raise BadInput(f"expected a Face or an Embedding, got {type(value).__name__}")


def distance(a: Face | Embedding, b: Face | Embedding, metric: Metric, model_id: str | None = None) -> float:
    """The distance between two embeddings under ``metric``.

    Raises :class:`BadInput` when the embeddings come from different models (or not from
    ``model_id`` when it is given) or have different lengths. Cosine distance is ``1 - cos(a, b)``
    in [0, 2].
    """
    ea, eb = _as_embedding(a), _as_embedding(b)
    if ea.model_id != eb.model_id:
        raise BadInput(f"cannot compare embeddings of different models ({ea.model_id} vs {eb.model_id})")
    if model_id is not None and ea.model_id != model_id:
        raise BadInput(f"embedding is from model {ea.model_id}, this backend is {model_id}")
    if ea.vector.shape != eb.vector.shape:
        raise BadInput(f"embedding lengths differ ({ea.vector.size} vs {eb.vector.size})")
    va, vb = ea.vector.astype(np.float64), eb.vector.astype(np.float64)
    if metric == "euclidean":
        return float(np.linalg.norm(va - vb))
    if metric == "cosine":
        norms = float(np.linalg.norm(va) * np.linalg.norm(vb))
        if norms == 0.0 or not math.isfinite(norms):
            raise BadInput("cannot take the cosine distance of a zero embedding")
        return float(1.0 - np.dot(va, vb) / norms)
    raise BadInput(f"unknown metric {metric!r} (expected 'euclidean' or 'cosine')")


def check_rgb(rgb: object, what: str = "image") -> np.ndarray:
    """Validate a detector input: an HxWx3 uint8 array (made C-contiguous, never copied
    needlessly)."""
    if not isinstance(rgb, np.ndarray):
        raise BadInput(f"{what}: expected a numpy array, got {type(rgb).__name__}")
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise BadInput(
            f"{what}: expected an HxWx3 uint8 RGB array, got shape {rgb.shape} dtype {rgb.dtype} "
            "(use fusionguard.media.from_array to convert)"
        )
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise BadInput(f"{what}: empty image {rgb.shape}")
    return np.ascontiguousarray(rgb)


class MatchingMixin:
    """``distance`` and ``is_match`` for backends that declare ``model_id``, ``metric`` and
    ``match_threshold``: one definition of "same person" for every backend."""

    model_id: str
    metric: Metric
    match_threshold: float

    def distance(self, a: Face | Embedding, b: Face | Embedding) -> float:
        return distance(a, b, self.metric, self.model_id)

    def is_match(self, a: Face | Embedding, b: Face | Embedding) -> bool:
        """True when the two faces are the same person: ``distance < match_threshold``."""
        return self.distance(a, b) < self.match_threshold
