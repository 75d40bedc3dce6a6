"""fusionguard.faces.base: the Face and Embedding values and the distance rules."""

from __future__ import annotations

import numpy as np
import pytest

from fusionguard.errors import BadInput
from fusionguard.faces import DLIB_5_LANDMARKS, Embedding, Face, distance


def _face(vector: list[float], model_id: str = "m1", **kwargs: object) -> Face:
    defaults: dict[str, object] = {
        "box": (10, 20, 50, 70),
        "score": 1.5,
        "landmarks": np.zeros((5, 2)),
        "embedding": np.array(vector, np.float64),
        "model_id": model_id,
    }
    defaults.update(kwargs)
    return Face(**defaults)  # type: ignore[arg-type]


def test_face_normalises_types_and_is_read_only() -> None:
    face = _face([3.0, 4.0])
    assert face.embedding.dtype == np.float32 and face.landmarks.dtype == np.float32
    assert (face.width, face.height, face.size) == (40, 50, 40)
    with pytest.raises(ValueError, match="read-only"):
        face.embedding[0] = 1.0
    source = np.array([1.0, 2.0], np.float32)
    copied = _face([0.0, 0.0], embedding=source)
    source[0] = 99.0
    assert copied.embedding[0] == 1.0  # a copy, not a view of the caller's array


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"box": (50, 20, 10, 70)}, "right/bottom"),
        ({"landmarks": np.zeros((68, 2))}, r"expected shape \(5, 2\)"),
        ({"embedding": np.zeros((2, 2))}, "1-D"),
        ({"embedding": np.array([np.nan, 1.0])}, "finite"),
        ({"embedding": np.array([])}, "non-empty"),
    ],
)
def test_face_rejects_malformed_values(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(BadInput, match=match):
        _face([1.0, 0.0], **kwargs)


def test_landmark_names_set_the_expected_shape() -> None:
    face = _face([1.0], landmark_names=DLIB_5_LANDMARKS)
    assert face.landmark_names[0] == "right_eye_outer"


def test_euclidean_and_cosine() -> None:
    a, b = _face([1.0, 0.0]), _face([0.0, 2.0])
    assert distance(a, b, "euclidean") == pytest.approx(5**0.5)
    assert distance(a, b, "cosine") == pytest.approx(1.0)
    assert distance(a, a, "cosine") == pytest.approx(0.0)
    assert distance(a.as_embedding(), b, "euclidean") == pytest.approx(5**0.5)


def test_distance_refuses_mixing_models_lengths_and_junk() -> None:
    with pytest.raises(BadInput, match=r"different models \(m1 vs m2\)"):
        distance(_face([1.0, 0.0]), _face([1.0, 0.0], model_id="m2"), "euclidean")
    with pytest.raises(BadInput, match="this backend is other"):
        distance(_face([1.0]), _face([1.0]), "euclidean", model_id="other")
    with pytest.raises(BadInput, match="lengths differ"):
        distance(_face([1.0, 0.0]), _face([1.0, 0.0, 0.0]), "euclidean")
    with pytest.raises(BadInput, match="zero embedding"):
        distance(_face([0.0, 0.0]), _face([1.0, 0.0]), "cosine")
    with pytest.raises(BadInput, match="unknown metric"):
        distance(_face([1.0]), _face([1.0]), "manhattan")  # type: ignore[arg-type]
    with pytest.raises(BadInput, match="Face or an Embedding"):
        distance(np.zeros(2), _face([1.0, 0.0]), "euclidean")  # type: ignore[arg-type]


def test_embedding_round_trip_as_stored_by_a_registry() -> None:
    face = _face([0.6, 0.8])
    stored = Embedding(face.model_id, np.array(face.embedding.tolist()))
    assert distance(face, stored, "euclidean") == pytest.approx(0.0, abs=1e-7)
