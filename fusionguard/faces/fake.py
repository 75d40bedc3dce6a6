"""A fake face backend for unit tests: the test decides which faces an image contains.

Faces are made by :meth:`FakeFaceBackend.face` from an identity name: the same name always gives the
same embedding (distance 0), different names give embeddings about 1.41 apart (random unit vectors
in 128-D), far above the match threshold. Images are recognised by their pixel content.

>>> import numpy as np
>>> backend = FakeFaceBackend()
>>> photo = np.zeros((64, 64, 3), np.uint8)
>>> backend.add(photo, [backend.face("alice")])
>>> [backend.is_match(f, backend.face("alice")) for f in backend.detect(photo)]
[True]
>>> backend.detect(np.ones((64, 64, 3), np.uint8))  # unknown image: the default, no faces
[]
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

import numpy as np

from .base import INSIGHTFACE_LANDMARKS, Face, MatchingMixin, Metric, check_rgb


def _image_key(rgb: np.ndarray) -> str:
    image = check_rgb(rgb)
    digest = hashlib.sha256(str(image.shape).encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


class FakeFaceBackend(MatchingMixin):
    """Returns the faces registered with :meth:`add` for an image, else ``default``."""

    model_id = "fake-face-v1"
    metric: Metric = "euclidean"

    def __init__(
        self,
        default: Sequence[Face] = (),
        *,
        match_threshold: float = 0.5,
        min_face_size: int = 0,
        dim: int = 128,
    ) -> None:
        self.match_threshold = match_threshold
        self.min_face_size = min_face_size
        self.dim = dim
        self._default = list(default)
        self._faces: dict[str, list[Face]] = {}
        self.calls = 0
        self._calls_lock = threading.Lock()

    def face(
        self,
        identity: str,
        *,
        box: tuple[int, int, int, int] = (8, 8, 56, 56),
        score: float = 1.0,
        noise: float = 0.0,
    ) -> Face:
        """A face of ``identity``; ``noise`` > 0 perturbs the embedding (distance ~ ``noise``)."""
        seed = int.from_bytes(hashlib.sha256(identity.encode()).digest()[:8], "big")
        rng = np.random.default_rng(seed)
        vector = rng.standard_normal(self.dim)
        vector /= np.linalg.norm(vector)
        if noise:
            jitter = np.random.default_rng(seed ^ 0x5EED).standard_normal(self.dim)
            vector = vector + noise * jitter / np.linalg.norm(jitter)
        left, top, right, bottom = box
        cx, cy, w, h = (left + right) / 2, (top + bottom) / 2, right - left, bottom - top
        landmarks = np.array(
            [
                [cx - 0.2 * w, cy - 0.15 * h],
                [cx + 0.2 * w, cy - 0.15 * h],
                [cx, cy + 0.05 * h],
                [cx - 0.15 * w, cy + 0.25 * h],
                [cx + 0.15 * w, cy + 0.25 * h],
            ],
            dtype=np.float32,
        )
        return Face(
            box=box,
            score=score,
            landmarks=landmarks,
            embedding=vector.astype(np.float32),
            model_id=self.model_id,
            landmark_names=INSIGHTFACE_LANDMARKS,
        )

    def add(self, rgb: np.ndarray, faces: Sequence[Face]) -> None:
        """Make ``detect`` return ``faces`` for this exact image."""
        self._faces[_image_key(rgb)] = list(faces)

    def detect(self, rgb: np.ndarray) -> list[Face]:
        with self._calls_lock:  # the consent check calls detect from several threads
            self.calls += 1
        return list(self._faces.get(_image_key(rgb), self._default))
