"""FakeFaceBackend: deterministic faces for users' unit tests."""

from __future__ import annotations

import numpy as np

from fusionguard.faces import FaceBackend, FakeFaceBackend


def test_registered_images_return_their_faces() -> None:
    backend = FakeFaceBackend()
    assert isinstance(backend, FaceBackend)
    photo = np.zeros((32, 32, 3), np.uint8)
    other = photo.copy()
    other[0, 0, 0] = 1
    alice, bob = backend.face("alice"), backend.face("bob", box=(0, 0, 10, 10))
    backend.add(photo, [alice, bob])
    assert backend.detect(photo) == [alice, bob]
    assert backend.detect(other) == []  # one pixel differs: another image
    assert backend.calls == 2


def test_identities_match_themselves_only() -> None:
    backend = FakeFaceBackend()
    alice = backend.face("alice")
    assert backend.distance(alice, backend.face("alice")) == 0.0
    assert backend.is_match(alice, backend.face("alice", noise=0.2))
    assert not backend.is_match(alice, backend.face("alice", noise=0.8))
    assert backend.distance(alice, backend.face("bob")) > 1.0
    assert not backend.is_match(alice, backend.face("bob"))


def test_default_faces_for_unknown_images() -> None:
    backend = FakeFaceBackend(default=[FakeFaceBackend().face("anyone")])
    faces = backend.detect(np.ones((8, 8, 3), np.uint8))
    assert len(faces) == 1 and faces[0].model_id == "fake-face-v1"
