"""Tests for fusionguard.fingerprint (PDQ hash and PdqIndex).

The reference hashes in ``tests/data/pdq_reference.json`` were produced by the ``pdqhash`` package
(the Python binding of ThreatExchange's C++ PDQ). That package is *not* a dependency: to
regenerate them, install it (``pip install pdqhash``) and run
``python tests/test_fingerprint.py --regenerate``.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fusionguard.errors import BadInput
from fusionguard.fingerprint import (
    DIHEDRAL_NAMES,
    MATCH_DISTANCE,
    MIN_QUALITY,
    PdqHash,
    PdqIndex,
    pdq_hash,
    pdq_hash_dihedral,
)

REFERENCE = Path(__file__).parent / "data" / "pdq_reference.json"

skimage_data = pytest.importorskip("skimage.data")

# --------------------------------------------------------------------------------------------------
# Test images: offline, deterministic. Each recipe is stored verbatim in the reference JSON.


def _grace_hopper() -> np.ndarray:
    from matplotlib import cbook

    with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as image:
        return np.asarray(image.convert("RGB"))


def _upscale2(image: np.ndarray) -> np.ndarray:
    # Nearest-neighbour 2x with np.repeat: exact everywhere, unlike a library resize.
    return np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)


CASES: dict[str, tuple[str, Callable[[], np.ndarray]]] = {
    "astronaut": ("skimage.data.astronaut()", lambda: skimage_data.astronaut()),
    "camera": ("skimage.data.camera() (grey, HxW)", lambda: skimage_data.camera()),
    "coffee": ("skimage.data.coffee()", lambda: skimage_data.coffee()),
    "chelsea": ("skimage.data.chelsea()", lambda: skimage_data.chelsea()),
    "grace_hopper": (
        "matplotlib.cbook.get_sample_data('grace_hopper.jpg') decoded by PIL, RGB",
        _grace_hopper,
    ),
    "astronaut_fliplr": ("np.fliplr(astronaut)", lambda: np.fliplr(skimage_data.astronaut())),
    "coffee_flipud": ("np.flipud(coffee)", lambda: np.flipud(skimage_data.coffee())),
    "chelsea_rot90": ("np.rot90(chelsea)", lambda: np.rot90(skimage_data.chelsea())),
    "astronaut_x2": (
        "astronaut upscaled 2x by np.repeat (1024x1024)",
        lambda: _upscale2(skimage_data.astronaut()),
    ),
    "grace_hopper_x2": (
        "grace_hopper upscaled 2x by np.repeat (1200x1024)",
        lambda: _upscale2(_grace_hopper()),
    ),
}


def _pixels_sha256(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()


def _load_reference() -> dict[str, dict[str, object]]:
    with REFERENCE.open() as f:
        cases: dict[str, dict[str, object]] = json.load(f)["cases"]
    return cases


def _image(name: str) -> np.ndarray:
    image = CASES[name][1]()
    expected = _load_reference()[name]["pixels_sha256"]
    if _pixels_sha256(image) != expected:
        # Only possible for the JPEG case, if a different libjpeg decodes it differently.
        pytest.skip(f"{name}: decoded pixels differ from those the reference was made from")
    return image


# --------------------------------------------------------------------------------------------------
# Agreement with the reference implementation

# Our filter is applied as float64 matrix products (float32 for the big product on large images),
# the reference's as float32 running sums. A DCT coefficient within rounding of the median could
# flip, so we allow 2 bits; on all these cases the observed difference is 0 bits and equal quality.
MAX_REFERENCE_BITS = 2


@pytest.mark.parametrize("name", list(CASES))
def test_matches_reference_hash(name: str) -> None:
    reference = _load_reference()[name]
    image = _image(name)
    ours = pdq_hash(image)
    theirs = PdqHash.from_hex(str(reference["hash"]), int(str(reference["quality"])))
    assert ours.distance(theirs) <= MAX_REFERENCE_BITS, (ours.hex(), theirs.hex())
    assert abs(ours.quality - theirs.quality) <= 1


@pytest.mark.parametrize("name", list(CASES))
def test_matches_reference_dihedral(name: str) -> None:
    reference = _load_reference()[name]
    dihedral = pdq_hash_dihedral(_image(name))
    expected = reference["dihedral"]
    assert isinstance(expected, list)
    assert len(dihedral) == len(expected) == 8
    for variant, (ours, hex_text) in zip(DIHEDRAL_NAMES, zip(dihedral, expected, strict=True), strict=True):
        assert ours.distance(PdqHash.from_hex(hex_text)) <= MAX_REFERENCE_BITS, variant
    assert dihedral[0] == pdq_hash(_image(name))


# --------------------------------------------------------------------------------------------------
# Behaviour


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    image: np.ndarray = skimage_data.astronaut()
    return image


@pytest.mark.parametrize(
    ("transform", "variant"),
    [
        (lambda a: np.rot90(a, 1), "rotate90"),
        (lambda a: np.rot90(a, 2), "rotate180"),
        (lambda a: np.rot90(a, 3), "rotate270"),
        (np.flipud, "flip_x"),
        (np.fliplr, "flip_y"),
        (lambda a: a.swapaxes(0, 1), "flip_plus1"),
        (lambda a: np.rot90(a, 2).swapaxes(0, 1), "flip_minus1"),
    ],
)
def test_dihedral_variant_matches_transformed_image(
    astronaut: np.ndarray, transform: Callable[[np.ndarray], np.ndarray], variant: str
) -> None:
    transformed = pdq_hash(np.ascontiguousarray(transform(astronaut)))
    variants = pdq_hash_dihedral(astronaut)
    distances = [transformed.distance(v) for v in variants]
    # The plain hash does not survive a flip or rotation, the right variant does.
    assert distances[0] > MATCH_DISTANCE
    assert DIHEDRAL_NAMES[int(np.argmin(distances))] == variant
    assert min(distances) <= MATCH_DISTANCE


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        return np.asarray(decoded.convert("RGB"))


def _half(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    return np.asarray(Image.fromarray(image).resize((width // 2, height // 2), Image.Resampling.BILINEAR))


def _crop(image: np.ndarray) -> np.ndarray:
    # PDQ is crop-sensitive (so is the reference: same distances to the bit): trimming 1% from each
    # side moves these images 16-22 bits, 2.5% from each side already 42-56 bits, past
    # MATCH_DISTANCE.
    height, width = image.shape[:2]
    return image[height // 100 : height - height // 100, width // 100 : width - width // 100]


@pytest.mark.parametrize("edit", [lambda a: _jpeg(a, 75), _half, _crop], ids=["jpeg75", "half", "crop1%"])
@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "grace_hopper"])
def test_edited_copies_match(name: str, edit: Callable[[np.ndarray], np.ndarray]) -> None:
    image = CASES[name][1]()
    original = pdq_hash(image)
    edited = pdq_hash(edit(image))
    assert original.quality >= MIN_QUALITY
    assert original.distance(edited) <= MATCH_DISTANCE


def test_different_images_do_not_match() -> None:
    names = ["astronaut", "camera", "coffee", "chelsea", "grace_hopper"]
    hashes = {name: pdq_hash(CASES[name][1]()) for name in names}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert hashes[a].distance(hashes[b]) > MATCH_DISTANCE, (a, b)


def test_flat_image_has_low_quality() -> None:
    assert pdq_hash(np.full((100, 80, 3), 128, dtype=np.uint8)).quality == 0
    # A faint gradient is still far below usable quality.
    ramp = np.tile(np.linspace(100, 110, 200).astype(np.uint8), (120, 1))
    assert pdq_hash(ramp).quality < MIN_QUALITY
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert pdq_hash(noise).quality == 100


def test_tiny_image_hashes_to_zero_like_reference() -> None:
    result = pdq_hash(np.zeros((4, 100, 3), dtype=np.uint8))
    assert result == PdqHash(bytes(32), 0)
    assert pdq_hash_dihedral(np.zeros((100, 3), dtype=np.uint8)) == [PdqHash(bytes(32), 0)] * 8


def test_grey_equals_rgb_with_equal_channels(astronaut: np.ndarray) -> None:
    grey = astronaut[..., 1]
    assert pdq_hash(grey).distance(pdq_hash(np.stack([grey] * 3, axis=-1))) <= MAX_REFERENCE_BITS


def test_non_contiguous_views_are_hashed_like_copies(astronaut: np.ndarray) -> None:
    view = astronaut[::2, ::-1]
    assert pdq_hash(view) == pdq_hash(np.ascontiguousarray(view))


def test_module_docstring_examples_run() -> None:
    import doctest

    import fusionguard.fingerprint as module

    assert doctest.testmod(module).failed == 0


def test_hash_hex_round_trip_and_distance() -> None:
    h = pdq_hash(skimage_data.coffee())
    text = h.hex()
    assert len(text) == 64 and text == text.lower() and str(h) == text
    assert PdqHash.from_hex(text.upper(), h.quality) == h
    assert h.distance(h) == 0
    inverted = PdqHash(bytes(b ^ 0xFF for b in h.bits), h.quality)
    assert h.distance(inverted) == 256
    # The reference's bit k is DCT coefficient (k // 16, k % 16) and is printed big-endian: bit 0 is
    # the last hex digit's lowest bit.
    one = PdqHash.from_hex("0" * 63 + "1")
    assert one.words().tolist() == [0, 0, 0, 1]


# --------------------------------------------------------------------------------------------------
# Index


def _flip_bits(h: PdqHash, count: int, rng: np.random.Generator) -> PdqHash:
    value = int.from_bytes(h.bits, "big")
    for bit in rng.choice(256, size=count, replace=False):
        value ^= 1 << int(bit)
    return PdqHash(value.to_bytes(32, "big"), h.quality)


def test_index_search_returns_right_ids_in_order() -> None:
    rng = np.random.default_rng(7)
    raw = rng.integers(0, 256, size=(5000, 32), dtype=np.uint8)
    ids = np.arange(100_000, 105_000)
    index = PdqIndex(ids, raw)
    query = PdqHash(raw[1234].tobytes(), 100)
    near = {900_001: _flip_bits(query, 3, rng), 900_002: _flip_bits(query, 20, rng)}
    for id_, h in near.items():
        index.add(id_, h)
    index.add(7, _flip_bits(query, 3, rng))  # ties with 900_001 at distance 3: smaller id first
    assert len(index) == 5003
    assert index.search(query) == [(101_234, 0), (7, 3), (900_001, 3), (900_002, 20)]
    assert index.search(query, limit=2) == [(101_234, 0), (7, 3)]
    assert index.search(query, max_distance=3) == [(101_234, 0), (7, 3), (900_001, 3)]
    everything = index.search(query, max_distance=256, limit=10_000)
    assert len(everything) == 5003
    assert [d for _, d in everything] == sorted(d for _, d in everything)
    brute = sorted((int(i), query.distance(PdqHash(r.tobytes(), 100))) for i, r in zip(ids, raw, strict=True))
    assert dict(everything).items() >= dict(brute).items()
    np.testing.assert_array_equal(index.distances(query)[:5000], [d for _, d in brute])


def test_index_accepts_words_and_hash_lists_and_grows() -> None:
    hashes = [pdq_hash(CASES[name][1]()) for name in ["astronaut", "coffee", "chelsea"]]
    from_list = PdqIndex([1, 2, 3], hashes)
    from_words = PdqIndex(np.array([1, 2, 3]), np.stack([h.words() for h in hashes]))
    np.testing.assert_array_equal(from_list.words, from_words.words)
    empty = PdqIndex()
    assert empty.search(hashes[0]) == []
    for i in range(1000):  # past the initial capacity, several times
        empty.add(i, hashes[i % 3])
    empty.extend([5000, 5001], hashes[:2])
    assert len(empty) == 1002
    assert empty.ids[-1] == 5001
    assert empty.search(hashes[1], limit=3) == [(1, 0), (4, 0), (7, 0)]


def test_index_search_dihedral_finds_mirrored_copy(astronaut: np.ndarray) -> None:
    index = PdqIndex(
        [1, 2, 3],
        [
            pdq_hash(skimage_data.coffee()),
            pdq_hash(np.fliplr(astronaut)),
            pdq_hash(skimage_data.chelsea()),
        ],
    )
    assert index.search(pdq_hash(astronaut)) == []
    found = index.search_dihedral(astronaut)
    assert [id_ for id_, _ in found] == [2]


# --------------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ([[1, 2], [3, 4]], "got list"),
        (np.zeros((10, 10, 3), dtype=np.float32), "dtype float32"),
        (np.zeros((10, 10, 3, 1), dtype=np.uint8), "4 dimensions"),
        (np.zeros(10, dtype=np.uint8), "1 dimensions"),
        (np.zeros((10, 10, 4), dtype=np.uint8), "4 channels"),
        (np.zeros((0, 10, 3), dtype=np.uint8), "empty"),
    ],
)
def test_bad_images_raise(value: object, fragment: str) -> None:
    for function in (pdq_hash, pdq_hash_dihedral):
        with pytest.raises(BadInput, match=fragment) as caught:
            function(value)  # type: ignore[arg-type]
        assert "\n" not in str(caught.value) and "expected" in str(caught.value)


def test_bad_hashes_and_arguments_raise() -> None:
    with pytest.raises(BadInput, match="expected 64 hex digits"):
        PdqHash.from_hex("abc")
    with pytest.raises(BadInput, match="not hexadecimal"):
        PdqHash.from_hex("z" * 64)
    with pytest.raises(BadInput, match="expected 32 bytes"):
        PdqHash(b"\x00" * 31, 50)
    with pytest.raises(BadInput, match=r"expected 0\.\.100"):
        PdqHash(bytes(32), 101)
    index = PdqIndex([1], [PdqHash(bytes(32), 100)])
    with pytest.raises(BadInput, match="max_distance"):
        index.search(PdqHash(bytes(32), 100), max_distance=300)
    with pytest.raises(BadInput, match="limit"):
        index.search(PdqHash(bytes(32), 100), limit=0)
    with pytest.raises(BadInput, match="expected PdqHash"):
        index.search("00" * 32)  # type: ignore[arg-type]
    with pytest.raises(BadInput, match="expected equal"):
        PdqIndex([1, 2], [PdqHash(bytes(32), 100)])
    with pytest.raises(BadInput, match=r"\(N, 4\) uint64"):
        PdqIndex([1], np.zeros((1, 3), dtype=np.uint64))


# --------------------------------------------------------------------------------------------------
# Regenerating the reference (needs the optional pdqhash package; never run by pytest)


def _regenerate() -> None:  # pragma: no cover - maintenance tool
    import matplotlib
    import pdqhash  # type: ignore[import-not-found]
    import PIL
    import skimage

    def packed(bits: np.ndarray) -> str:
        # pdqhash returns bit 255 first (hash_to_vector reverses), i.e. the reference's hex order.
        return np.packbits(bits.astype(np.uint8)).tobytes().hex()

    cases = {}
    for name, (recipe, make) in CASES.items():
        image = make()
        rgb = np.stack([image] * 3, axis=-1) if image.ndim == 2 else image
        rgb = np.ascontiguousarray(rgb)
        bits, quality = pdqhash.compute(rgb)
        dihedral, _ = pdqhash.compute_dihedral(rgb)
        cases[name] = {
            "recipe": recipe,
            "shape": list(image.shape),
            "pixels_sha256": _pixels_sha256(image),
            "hash": packed(bits),
            "quality": int(quality),
            "dihedral": [packed(v) for v in dihedral],
        }
    document = {
        "how": (
            "pdqhash.compute / compute_dihedral (Python binding of facebook/ThreatExchange "
            "pdq/cpp) on each recipe's image as a C-contiguous HxWx3 uint8 RGB array (grey "
            "images stacked to 3 equal channels), no resizing; hex = np.packbits(bit vector)"
            ".hex(), which is the reference's Hash256::format order. Regenerate with: "
            "python tests/test_fingerprint.py --regenerate"
        ),
        "versions": {
            "pdqhash": pdqhash.__version__,
            "numpy": np.__version__,
            "scikit-image": skimage.__version__,
            "matplotlib": matplotlib.__version__,
            "pillow": PIL.__version__,
        },
        "dihedral_order": list(DIHEDRAL_NAMES),
        "cases": cases,
    }
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {REFERENCE} ({len(cases)} cases)")


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] != ["--regenerate"]:
        sys.exit("usage: python tests/test_fingerprint.py --regenerate   (needs: pip install pdqhash)")
    _regenerate()
