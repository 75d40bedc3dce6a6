"""PDQ perceptual hashing (Meta's ThreatExchange / StopNCII hash) and a fast Hamming index.

PDQ turns an image into 256 bits that survive re-encoding, resizing and small edits: two copies of
one picture are a small Hamming distance apart (``<= MATCH_DISTANCE``), unrelated pictures about 128
bits. This module follows the reference implementation (``pdq/cpp/hashing`` in
facebook/ThreatExchange, which the ``pdqhash`` Python binding wraps) step by step:

1. luminance ``Y = 0.299 R + 0.587 G + 0.114 B`` (a grey image is used as is);
2. a Jarosz tent filter (two passes of 1-D box filters along rows, then columns, window
   ``ceil(dimension / 128)``) followed by decimation to 64x64 at the pixel centres;
3. the quality metric (sum of quantised neighbour gradients of the 64x64, / 90, capped at 100);
4. the 16x16 lowest non-DC coefficients of the 64x64 DCT-II;
5. bit ``k = 16 i + j`` is set when coefficient ``(i, j)`` is above the (lower) median of the 256.

The hexadecimal form is the reference's: the 256-bit number whose bit ``k`` is bit ``k`` above,
written big-endian (``Hash256::format``), so hashes interoperate with ThreatExchange lists.

Faithfulness notes
    * The reference runs the box filters as float32 running sums; here the (linear) filter is
      applied as two small matrix products, exact up to rounding. A DCT coefficient within float32
      rounding of the median can land on the other side of it: agreement with ``pdqhash`` is
      bit-exact on every image in ``tests/data/pdq_reference.json``, but a bit or two can differ on
      contrived images (seen once in 300 synthetic ones), far below ``MATCH_DISTANCE``.
    * The reference's *file* front-ends shrink large images first (the C++ CLI squashes them to
      512x512 with nearest-neighbour, the pure-Python one uses PIL ``thumbnail``) because their box
      filter costs O(pixels) per pass. The core function, which the ``pdqhash`` binding and
      python-threatexchange call on the decoded array, does not resize, and neither does
      :func:`pdq_hash`: the filter here is evaluated only at the 64x64 sample points, so full-size
      hashing is already fast, and not resizing keeps the hash identical to the binding's.
    * Images with a side under 5 pixels hash to all zeros with quality 0, as in the reference.

Example:

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> blocks = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
>>> image = blocks.repeat(16, axis=0).repeat(16, axis=1)  # a 96x128 RGB image
>>> h = pdq_hash(image)
>>> len(h.hex()), h.quality >= MIN_QUALITY
(64, True)
>>> mirrored = pdq_hash(image[:, ::-1])
>>> h.distance(mirrored) > MATCH_DISTANCE  # a mirror image is a different hash ...
True
>>> min(v.distance(mirrored) for v in pdq_hash_dihedral(image)) <= MATCH_DISTANCE  # ... a variant
True
>>> index = PdqIndex()
>>> index.add(7, h)
>>> index.search(h)
[(7, 0)]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from fusionguard.errors import BadInput

__all__ = [
    "DIHEDRAL_NAMES",
    "MATCH_DISTANCE",
    "MIN_QUALITY",
    "PdqHash",
    "PdqIndex",
    "pdq_hash",
    "pdq_hash_dihedral",
]

#: Hamming distance at or below which two PDQ hashes are taken to be the same picture
#: (ThreatExchange's recommended threshold).
MATCH_DISTANCE: Final = 31
#: Hashes of lower quality (flat or nearly flat images) match too much to be trusted; the reference
#: tooling drops them.
MIN_QUALITY: Final = 50
#: Order of :func:`pdq_hash_dihedral`'s result, as in the reference's ``pdqDihedralHash256es``. In
#: numpy terms, variant ``n`` approximates the hash of: the image, ``np.rot90(a, 1)``, ``np.rot90(a,
#: 2)``, ``np.rot90(a, 3)``, ``np.flipud(a)``, ``np.fliplr(a)``, ``a.swapaxes(0, 1)`` and
#: ``np.rot90(a, 2).swapaxes(0, 1)`` (approximates: the 64x64 sampling grid is not exactly
#: symmetric, so a transformed image's own hash is typically 0-20 bits from the variant).
DIHEDRAL_NAMES: Final = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flip_x",
    "flip_y",
    "flip_plus1",
    "flip_minus1",
)

_HASH_BYTES: Final = 32
_MIN_HASHABLE_DIM: Final = 5  # the reference's MIN_HASHABLE_DIM
_LUMA: Final = (0.299, 0.587, 0.114)  # the reference's luma_from_{R,G,B}_coeff

FloatArray = npt.NDArray[np.float64]
U64Array = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class PdqHash:
    """A 256-bit PDQ hash and the quality (0..100) of the image it came from.

    ``bits`` holds the hash big-endian, byte for byte what :meth:`hex` prints.
    """

    bits: bytes
    quality: int

    def __post_init__(self) -> None:
        if not isinstance(self.bits, bytes) or len(self.bits) != _HASH_BYTES:
            found = f"{len(self.bits)} bytes" if isinstance(self.bits, bytes) else type(self.bits).__name__
            raise BadInput(f"PDQ hash: got {found}, expected {_HASH_BYTES} bytes")
        if isinstance(self.quality, bool) or not isinstance(self.quality, int):
            raise BadInput(f"PDQ quality: got {type(self.quality).__name__}, expected int 0..100")
        if not 0 <= self.quality <= 100:
            raise BadInput(f"PDQ quality: got {self.quality}, expected 0..100")

    def hex(self) -> str:
        """The reference's 64-character lowercase hexadecimal form."""
        return self.bits.hex()

    @classmethod
    def from_hex(cls, text: str, quality: int = 100) -> PdqHash:
        """Parse the 64-hex-digit form. The hex form does not carry quality; pass it when known."""
        text = text.strip()
        if len(text) != 2 * _HASH_BYTES:
            raise BadInput(f"PDQ hex: got {len(text)} characters, expected {2 * _HASH_BYTES} hex digits")
        try:
            bits = bytes.fromhex(text)
        except ValueError:
            raise BadInput(f"PDQ hex: {text!r} is not hexadecimal") from None
        return cls(bits, quality)

    def distance(self, other: PdqHash) -> int:
        """Hamming distance (0..256) between two hashes."""
        return (int.from_bytes(self.bits, "big") ^ int.from_bytes(other.bits, "big")).bit_count()

    def words(self) -> U64Array:
        """The hash as four uint64 words (big-endian order), the layout :class:`PdqIndex` stores."""
        return np.frombuffer(self.bits, dtype=">u8").astype(np.uint64)

    def __str__(self) -> str:
        return self.hex()


# --------------------------------------------------------------------------------------------------
# Hashing


def _check_image(image: object) -> npt.NDArray[np.uint8]:
    if not isinstance(image, np.ndarray):
        raise BadInput(f"image: got {type(image).__name__}, expected a numpy array (HxWx3 RGB or HxW)")
    if image.dtype != np.uint8:
        raise BadInput(f"image: got dtype {image.dtype}, expected uint8")
    if image.ndim not in (2, 3):
        raise BadInput(f"image: got {image.ndim} dimensions {image.shape}, expected HxWx3 RGB or HxW")
    if image.ndim == 3 and image.shape[2] != 3:
        raise BadInput(f"image: got {image.shape[2]} channels {image.shape}, expected 3 (RGB)")
    if image.size == 0:
        raise BadInput(f"image: got an empty array {image.shape}, expected at least 1x1 pixels")
    return image


@lru_cache(maxsize=64)
def _tent_decimate_operator(n: int) -> FloatArray:
    """The (64, n) matrix that maps a line of ``n`` samples to the reference's 64 filtered samples.

    The reference blurs the whole image with two passes of a box filter per axis, then keeps only
    the 64x64 pixels nearest the output cells' centres. Both steps are linear and separable, so the
    result equals ``S_rows @ luma @ S_cols.T`` with one such matrix per axis. Building the matrix
    costs O(64 n) once per image size, and applying it touches each pixel once, which is why large
    images need no pre-shrinking here.
    """
    window = (n + 2 * 64 - 1) // (2 * 64)  # computeJaroszFilterWindowSize(n, 64): ceil(n / 128)
    # box1DFloat's window for output k is [k - left, k + right], clipped to the line, and divides by
    # the number of samples actually inside (so edges are averaged, not zero-padded).
    half = (window + 2) // 2
    right = half - 1
    left = window - half
    k = np.arange(n)
    lo = np.maximum(k - left, 0)
    hi = np.minimum(k + right, n - 1)
    count = (hi - lo + 1).astype(np.float64)
    # decimateFloat samples the centres: (int)(((i + 0.5) * n) / 64), computed in double.
    centres = ((np.arange(64) + 0.5) * n / 64).astype(np.int64)
    # Second pass seen from the output: row j averages the box around centre j ...
    first = ((k >= lo[centres, None]) & (k <= hi[centres, None])) / count[centres, None]
    # ... and each of those samples is itself the first pass's box average. Entry (j, m) of the
    # composition sums first[j, k] / count[k] over the k whose box holds m, i.e. k in
    # [m - right, m + left]: a sliding-window sum, done with a cumulative sum.
    cumulative = np.zeros((64, n + 1))
    np.cumsum(first / count, axis=1, out=cumulative[:, 1:])
    a = np.maximum(k - right, 0)
    b = np.minimum(k + left, n - 1)
    operator: FloatArray = cumulative[:, b + 1] - cumulative[:, a]
    operator.setflags(write=False)
    return operator


@lru_cache(maxsize=1)
def _dct_matrix() -> FloatArray:
    # Rows 1..16 of the orthonormal 64-point DCT-II (the DC row 0 is skipped, as in dct_matrix_64).
    i = np.arange(1, 17)[:, None]
    j = np.arange(64)[None, :]
    matrix: FloatArray = np.sqrt(2.0 / 64.0) * np.cos(np.pi / 2.0 / 64.0 * i * (2 * j + 1))
    matrix.setflags(write=False)
    return matrix


def _downsample_64(image: npt.NDArray[np.uint8]) -> FloatArray:
    rows, cols = image.shape[:2]
    s_rows = _tent_decimate_operator(rows)
    s_cols = _tent_decimate_operator(cols)
    if image.ndim == 2:
        flat: npt.NDArray[np.uint8] = image
        weights = s_cols.T
    else:
        # Fold the luma weights into the column operator: reshaped to (rows, cols * 3), the image
        # times a (cols * 3, 64) matrix gives luma @ s_cols.T in one pass over the pixels, without
        # materialising a float copy of the luma plane.
        flat = image.reshape(rows, cols * 3)
        weights = (s_cols.T[:, None, :] * np.asarray(_LUMA)[None, :, None]).reshape(cols * 3, 64)
    # The big product is the only O(pixels) step. On large images float32 halves its memory
    # traffic; its rounding is of the order of the reference's own float32 running sums, and the
    # result agrees with the reference bit for bit on the reference images. Small images use
    # float64, where speed does not matter.
    dtype = np.float32 if rows * cols >= 65536 else np.float64
    partial = flat.astype(dtype) @ weights.astype(dtype)
    result: FloatArray = s_rows @ partial.astype(np.float64)
    return result


def _quality(buffer64: FloatArray) -> int:
    # pdqImageDomainQualityMetric: gradients quantised to percent of full scale, truncated toward
    # zero (C's float-to-int conversion), so that only significant gradients count.
    down = np.trunc((buffer64[:-1, :] - buffer64[1:, :]) * 100.0 / 255.0)
    across = np.trunc((buffer64[:, :-1] - buffer64[:, 1:]) * 100.0 / 255.0)
    gradient_sum = int(np.abs(down).sum() + np.abs(across).sum())
    return min(gradient_sum // 90, 100)


def _dct16(image: npt.NDArray[np.uint8]) -> tuple[FloatArray, int]:
    buffer64 = _downsample_64(image)
    dct = _dct_matrix()
    return dct @ buffer64 @ dct.T, _quality(buffer64)


def _bits_from_dct(dct16: FloatArray) -> bytes:
    flat = dct16.ravel()
    # Torben's median of an even count returns the lower middle value (rank 128 of 256), so exactly
    # half of the (distinct) coefficients are strictly above it.
    median = np.partition(flat, 127)[127]
    # Bit k = 16 i + j of the 256-bit number; big-endian bytes put bit 255 first.
    return np.packbits(flat[::-1] > median).tobytes()


def _dihedral_dcts(dct16: FloatArray) -> list[FloatArray]:
    """The 16x16 DCTs of the other 7 dihedral images, derived from the original's.

    The DCT basis functions are even or odd under reflection (frequency index i + 1 odd flips sign),
    and a transpose swaps the axes, so no re-hashing of transformed pixels is needed.
    """
    odd = np.arange(16) % 2 == 1  # index i is frequency i + 1, so even i means an odd (sign-flipping) one
    sign_rows = np.where(odd, 1.0, -1.0)[:, None]  # -1 where row index i is even
    sign_cols = np.where(odd, 1.0, -1.0)[None, :]
    checker = sign_rows * sign_cols  # +1 where (i + j) is even
    a = dct16
    return [
        (a * sign_cols).T,  # rotate90: B[j][i] = (j odd ? 1 : -1) A[i][j]
        a * checker,  # rotate180: B[i][j] = ((i + j) odd ? -1 : 1) A[i][j]
        (a * sign_rows).T,  # rotate270: B[j][i] = (i odd ? 1 : -1) A[i][j]
        a * sign_rows,  # flip_x: B[i][j] = (i odd ? 1 : -1) A[i][j]
        a * sign_cols,  # flip_y: B[i][j] = (j odd ? 1 : -1) A[i][j]
        a.T,  # flip_plus1: B[j][i] = A[i][j]
        (a * checker).T,  # flip_minus1: B[j][i] = ((i + j) odd ? -1 : 1) A[i][j]
    ]


def pdq_hash(image: np.ndarray[Any, Any]) -> PdqHash:
    """PDQ hash of an HxWx3 uint8 RGB image or an HxW uint8 grey image.

    Raises :class:`~fusionguard.errors.BadInput` for anything else. Convert BGR (OpenCV) to RGB
    first: channel order changes the luminance and so the hash.
    """
    pixels = _check_image(image)
    if min(pixels.shape[:2]) < _MIN_HASHABLE_DIM:
        return PdqHash(bytes(_HASH_BYTES), 0)
    dct16, quality = _dct16(pixels)
    return PdqHash(_bits_from_dct(dct16), quality)


def pdq_hash_dihedral(image: np.ndarray[Any, Any]) -> list[PdqHash]:
    """The 8 PDQ hashes of the image under rotations and flips, in :data:`DIHEDRAL_NAMES` order.

    The first is :func:`pdq_hash` of the image itself. Matching a query against all 8 finds rotated
    or mirrored copies; the reference computes them from one DCT, and so does this.
    """
    pixels = _check_image(image)
    if min(pixels.shape[:2]) < _MIN_HASHABLE_DIM:
        return [PdqHash(bytes(_HASH_BYTES), 0)] * len(DIHEDRAL_NAMES)
    dct16, quality = _dct16(pixels)
    return [PdqHash(_bits_from_dct(d), quality) for d in [dct16, *_dihedral_dcts(dct16)]]


# --------------------------------------------------------------------------------------------------
# Index


def _as_words(hashes: object) -> U64Array:
    """(N, 4) uint64 words from (N, 4) uint64, (N, 32) uint8 or a sequence of PdqHash."""
    if isinstance(hashes, np.ndarray):
        if hashes.ndim == 2 and hashes.shape[1] == 4 and hashes.dtype == np.uint64:
            return hashes
        if hashes.ndim == 2 and hashes.shape[1] == _HASH_BYTES and hashes.dtype == np.uint8:
            big_endian = np.ascontiguousarray(hashes).view(">u8")
            return big_endian.astype(np.uint64)
        raise BadInput(
            f"hashes: got array {hashes.dtype} {hashes.shape}, expected (N, 4) uint64 or (N, 32) uint8"
        )
    if isinstance(hashes, Iterable):
        items = list(hashes)
        if not all(isinstance(h, PdqHash) for h in items):
            raise BadInput("hashes: got a sequence with non-PdqHash items, expected PdqHash objects")
        if not items:
            return np.zeros((0, 4), dtype=np.uint64)
        joined = np.frombuffer(b"".join(h.bits for h in items), dtype=">u8")
        return joined.astype(np.uint64).reshape(-1, 4)
    raise BadInput(f"hashes: got {type(hashes).__name__}, expected an array or PdqHash sequence")


class PdqIndex:
    """In-memory index of (id, PDQ hash) pairs, searched by brute-force Hamming distance.

    Words are kept word-major, as a (4, capacity) uint64 array: each of the four XOR + popcount
    passes of a query then streams one contiguous 8-byte-per-hash row (in cache-sized blocks), which
    makes 1,000,000 hashes searchable in a few milliseconds with plain numpy
    (``np.bitwise_count`` needs numpy >= 2).
    :attr:`words` gives the (N, 4) view. Appends grow the buffers geometrically (amortised O(1)).

    >>> index = PdqIndex([10, 11], [PdqHash(bytes(32), 100), PdqHash(b"\\xff" * 32, 100)])
    >>> index.search(PdqHash(b"\\x01" + bytes(31), 100), max_distance=256)
    [(10, 1), (11, 255)]
    """

    _CHUNK: Final = 1 << 16  # hashes per block: keeps temporaries in cache

    def __init__(self, ids: Iterable[int] = (), hashes: object = ()) -> None:
        id_array = ids if isinstance(ids, np.ndarray) else np.array(list(ids))
        words = _as_words(hashes)
        if id_array.size == 0:
            id_array = id_array.astype(np.int64).reshape(0)
        if id_array.ndim != 1 or not np.issubdtype(id_array.dtype, np.integer):
            raise BadInput(f"ids: got {id_array.dtype} {id_array.shape}, expected a 1-D integer array")
        if len(id_array) != len(words):
            raise BadInput(f"ids and hashes: got {len(id_array)} ids and {len(words)} hashes, expected equal")
        capacity = max(16, len(words))
        self._ids = np.empty(capacity, dtype=np.int64)
        self._words = np.empty((4, capacity), dtype=np.uint64)
        self._size = len(words)
        self._ids[: self._size] = id_array
        self._words[:, : self._size] = words.T

    def __len__(self) -> int:
        return self._size

    @property
    def ids(self) -> npt.NDArray[np.int64]:
        """The ids, in insertion order (read-only view)."""
        view = self._ids[: self._size]
        view.flags.writeable = False
        return view

    @property
    def words(self) -> U64Array:
        """The hashes as an (N, 4) uint64 array (read-only view), rows in insertion order."""
        view = self._words[:, : self._size].T
        view.flags.writeable = False
        return view

    def _reserve(self, extra: int) -> None:
        needed = self._size + extra
        capacity = len(self._ids)
        if needed <= capacity:
            return
        capacity = max(needed, 2 * capacity)
        ids = np.empty(capacity, dtype=np.int64)
        ids[: self._size] = self._ids[: self._size]
        words = np.empty((4, capacity), dtype=np.uint64)
        words[:, : self._size] = self._words[:, : self._size]
        self._ids, self._words = ids, words

    def add(self, id: int, hash: PdqHash) -> None:
        """Append one pair (amortised O(1))."""
        if not isinstance(hash, PdqHash):
            raise BadInput(f"hash: got {type(hash).__name__}, expected PdqHash")
        self._reserve(1)
        self._ids[self._size] = id
        self._words[:, self._size] = hash.words()
        self._size += 1

    def extend(self, ids: Iterable[int], hashes: object) -> None:
        """Append many pairs; ``hashes`` as for the constructor."""
        other = PdqIndex(ids, hashes)
        self._reserve(len(other))
        self._ids[self._size : self._size + len(other)] = other.ids
        self._words[:, self._size : self._size + len(other)] = other._words[:, : len(other)]
        self._size += len(other)

    def distances(self, hash: PdqHash) -> npt.NDArray[np.uint16]:
        """Hamming distance from ``hash`` to every stored hash, in insertion order."""
        return self._distances([hash])

    def _distances(self, hashes: Sequence[PdqHash]) -> npt.NDArray[np.uint16]:
        for h in hashes:
            if not isinstance(h, PdqHash):
                raise BadInput(f"hash: got {type(h).__name__}, expected PdqHash")
        queries = [h.words() for h in hashes]
        out = np.empty(self._size, dtype=np.uint16)
        scratch = np.empty(min(self._size, self._CHUNK), dtype=np.uint64)
        counts = np.empty(min(self._size, self._CHUNK), dtype=np.uint8)
        best = np.empty(min(self._size, self._CHUNK), dtype=np.uint16)
        total = np.empty(min(self._size, self._CHUNK), dtype=np.uint16)
        for start in range(0, self._size, self._CHUNK):
            stop = min(start + self._CHUNK, self._size)
            n = stop - start
            x, c, b, t = scratch[:n], counts[:n], best[:n], total[:n]
            for q_index, query in enumerate(queries):
                # Per word: XOR then popcount, accumulated in uint16 (4 x 64 = 256 does not fit
                # uint8).
                for word in range(4):
                    np.bitwise_xor(self._words[word, start:stop], query[word], out=x)
                    np.bitwise_count(x, out=c)
                    if word == 0:
                        t[...] = c
                    else:
                        np.add(t, c, out=t, casting="unsafe")
                if q_index == 0:
                    b[...] = t
                else:
                    np.minimum(b, t, out=b)
            out[start:stop] = b
        return out

    def search(
        self, hash: PdqHash, max_distance: int = MATCH_DISTANCE, limit: int = 10
    ) -> list[tuple[int, int]]:
        """Up to ``limit`` (id, distance) pairs within ``max_distance``, nearest first.

        Ties are broken by id, so results are deterministic.
        """
        return self.search_any([hash], max_distance, limit)

    def search_dihedral(
        self, image: np.ndarray[Any, Any], max_distance: int = MATCH_DISTANCE, limit: int = 10
    ) -> list[tuple[int, int]]:
        """Search with all 8 dihedral variants of ``image``, to find rotated and mirrored copies."""
        return self.search_any(pdq_hash_dihedral(image), max_distance, limit)

    def search_any(
        self, hashes: Sequence[PdqHash], max_distance: int = MATCH_DISTANCE, limit: int = 10
    ) -> list[tuple[int, int]]:
        """Like :meth:`search`, with each entry's distance the smallest to any of ``hashes``."""
        if isinstance(max_distance, bool) or not isinstance(max_distance, int):
            raise BadInput(f"max_distance: got {type(max_distance).__name__}, expected int 0..256")
        if not 0 <= max_distance <= 256:
            raise BadInput(f"max_distance: got {max_distance}, expected 0..256")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise BadInput(f"limit: got {limit!r}, expected an int >= 1")
        if not hashes:
            raise BadInput("hashes: got an empty sequence, expected at least one PdqHash")
        if self._size == 0:
            return []
        distances = self._distances(hashes)
        hits = np.flatnonzero(distances <= max_distance)
        if len(hits) > limit:
            # Keep only what can make the cut before the (n log n) sort: everything up to the
            # limit-th smallest distance, ties included.
            cutoff = np.partition(distances[hits], limit - 1)[limit - 1]
            hits = hits[distances[hits] <= cutoff]
        hit_ids = self._ids[hits]
        order = np.lexsort((hit_ids, distances[hits]))[:limit]
        return [(int(hit_ids[i]), int(distances[hits[i]])) for i in order]
