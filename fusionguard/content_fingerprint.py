"""Crop-tolerant content fingerprints: what a trace checks an image's content against.

A watermark says which record an image claims to come from; only the content can say whether it
does (a mark can be copied onto another picture). Every released output therefore gets a compact
fingerprint, stored beside its record (``trace_fingerprints``, the record carries its SHA-256):

* the output's whole-image PDQ hash (finds resized, re-encoded, rotated or mirrored copies);
* up to :data:`KEYPOINTS` (192) ORB keypoints, spread over a 4x4 grid so that every quarter of the
  picture keeps some: positions (pixels) and 256-bit binary descriptors. PDQ moves by 24 bits when a
  window shifts by 1 % of its width, so PDQ of fixed regions cannot find a crop taken at an arbitrary
  offset; local features are translation-, scale- and rotation-tolerant, and a RANSAC similarity fit
  between a query's features and a record's says both *that* and *where* the query lies in the output;
* for a face swap, the target's whole-image PDQ and, where output and target differ (the swapped
  region's bounding box), the PDQ of that box in the output and in the target. A swap keeps most of
  the target's pixels, so a copy of the output and the untouched target photo match the output's
  features alike; the changed box is what tells them apart (:meth:`ContentFingerprint.compare`).

* the PDQ of 25 fixed regions (a 4x4 grid and 3x3 half-size windows): once the features have
  located a query in the output, its pixels over the regions it shows must agree at low
  frequencies too; a copied mark brings the output's edges (and features) but not those.

About 7.8 KB per record; no face embeddings, and 192 intensity-comparison descriptors plus three 256-bit
hashes are far too little to rebuild the picture from.

    fingerprint = ContentFingerprint.compute(marked_output, target_rgb)
    blob = fingerprint.to_bytes()                   # what the database stores
    comparison = fingerprint.compare(QueryFeatures.of(leaked_rgb))
    comparison.content_match, comparison.matched   # True, "output"
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Any, Final, Literal

import cv2
import numpy as np
import numpy.typing as npt

from fusionguard.errors import BadInput
from fusionguard.fingerprint import MATCH_DISTANCE, MIN_QUALITY, PdqHash, pdq_hash, pdq_hash_dihedral

__all__ = [
    "KEYPOINTS",
    "MIN_INLIERS",
    "Comparison",
    "ContentFingerprint",
    "QueryFeatures",
]

#: Keypoints stored per output (a 4x4 grid of up to 12 each, topped up from the strongest elsewhere).
KEYPOINTS: Final = 192
#: RANSAC inliers of a similarity fit that make a content match. Unrelated images give 0-6 (450
#: pairs of 10 photos, text and coins included); 25 %-area crops of the same photo (resized, JPEG)
#: a median of 14.5, 80 % of them 8 or more.
MIN_INLIERS: Final = 8
#: Descriptor matches farther than this (of 256 bits) are not considered.
DESCRIPTOR_DISTANCE: Final = 80
#: The changed box must differ between output and target by more than this for the box comparison
#: to decide; the query's box must be this much nearer one side than the other.
BOX_MARGIN: Final = 16
#: Median PDQ distance between the stored region hashes and the located query's pixels at or below
#: which the regions agree.
REGION_DISTANCE: Final = 48
#: ... and the 80th percentile of those distances at or below which nearly all of them agree.
#: Genuine copies (crops, JPEG 20-90, blur, gamma, rotation, NLM, thumbnails; 28 photos) reach at
#: most 54; residual-copy forgeries that pass the median reach 76 and more
#: (bench/results/trace_verdicts.md).
REGION_SPREAD: Final = 64

_GRID: Final = 4
_MAGIC: Final = b"FGC1"
_FEATURE_SIDE: Final = 1024  # features are computed on the image shrunk to this longest side
_QUERY_MIN_SIDE: Final = 320  # small queries (thumbnails) are enlarged to this shorter side first
_QUERY_FEATURES: Final = 1000
Matched = Literal["output", "target", "either"]
UInt8Array = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float64]


def _grey(rgb: np.ndarray[Any, Any]) -> UInt8Array:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise BadInput("content fingerprint: expected an HxWx3 uint8 RGB array")
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    return np.asarray(grey, dtype=np.uint8)


def _orb(grey: UInt8Array, count: int) -> tuple[FloatArray, UInt8Array, FloatArray]:
    """ORB keypoints (positions in ``grey``'s pixels), descriptors and responses."""
    orb = cv2.ORB_create(nfeatures=count, fastThreshold=10)  # type: ignore[attr-defined]
    keypoints, descriptors = orb.detectAndCompute(grey, None)
    if descriptors is None or not keypoints:
        return np.zeros((0, 2)), np.zeros((0, 32), np.uint8), np.zeros(0)
    points = np.array([k.pt for k in keypoints], dtype=np.float64)
    responses = np.array([k.response for k in keypoints], dtype=np.float64)
    return points, np.asarray(descriptors, dtype=np.uint8), responses


def _scaled_grey(
    rgb: np.ndarray[Any, Any], longest: int | None, shortest: int | None
) -> tuple[UInt8Array, float]:
    """The grey image resized to at most ``longest`` / at least ``shortest`` pixels, and the factor."""
    grey = _grey(rgb)
    height, width = grey.shape
    factor = 1.0
    if longest is not None and max(height, width) > longest:
        factor = longest / max(height, width)
    elif shortest is not None and min(height, width) < shortest:
        factor = shortest / min(height, width)
    if factor != 1.0:
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
        grey = np.asarray(cv2.resize(grey, size, interpolation=interpolation), dtype=np.uint8)
    return grey, factor


def _spread_keypoints(rgb: np.ndarray[Any, Any]) -> tuple[FloatArray, UInt8Array]:
    grey, factor = _scaled_grey(rgb, _FEATURE_SIDE, None)
    points, descriptors, responses = _orb(grey, 12 * KEYPOINTS)
    if len(points) == 0:
        return points, descriptors
    height, width = grey.shape
    row = np.minimum((points[:, 1] * _GRID / height).astype(int), _GRID - 1)
    col = np.minimum((points[:, 0] * _GRID / width).astype(int), _GRID - 1)
    cell = row * _GRID + col
    order = np.argsort(-responses, kind="stable")
    per_cell = KEYPOINTS // (_GRID * _GRID)
    taken: list[int] = []
    counts = np.zeros(_GRID * _GRID, dtype=int)
    for i in order:  # the strongest per cell first ...
        if counts[cell[i]] < per_cell:
            counts[cell[i]] += 1
            taken.append(int(i))
    chosen = set(taken)
    for i in order:  # ... then the strongest of the rest
        if len(taken) >= KEYPOINTS:
            break
        if int(i) not in chosen:
            taken.append(int(i))
    keep = np.array(taken[:KEYPOINTS], dtype=int)
    return points[keep] / factor, descriptors[keep]


def _changed_box(
    output: np.ndarray[Any, Any], target: np.ndarray[Any, Any]
) -> tuple[int, int, int, int] | None:
    """Bounding box (x0, y0, x1, y1) of where the output differs from the target, padded by 10 %."""
    difference = cv2.absdiff(_grey(output), _grey(target))
    difference = cv2.GaussianBlur(difference, (0, 0), 2.0)
    ys, xs = np.nonzero(difference > 24)  # the watermark changes pixels by a few levels, a swap by far more
    height, width = difference.shape
    if len(xs) < 0.001 * height * width:
        return None
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    pad_x, pad_y = (x1 - x0) // 10, (y1 - y0) // 10
    x0, y0 = max(0, x0 - pad_x), max(0, y0 - pad_y)
    x1, y1 = min(width, x1 + pad_x), min(height, y1 + pad_y)
    if (x1 - x0) * (y1 - y0) > 0.9 * height * width or min(x1 - x0, y1 - y0) < 16:
        return None  # everything changed (the whole-image hashes tell output and target apart) or too small
    return x0, y0, x1, y1


def _regions(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """The regions whose PDQ a fingerprint keeps: a 4x4 grid of cells, and 3x3 overlapping windows of
    half the width and height (stride a quarter). Any crop of a quarter of the area covers one."""
    xs = [width * i // 4 for i in range(5)]
    ys = [height * i // 4 for i in range(5)]
    cells = [(xs[j], ys[i], xs[j + 1], ys[i + 1]) for i in range(4) for j in range(4)]
    halves = [(xs[j], ys[i], xs[j + 2], ys[i + 2]) for i in range(3) for j in range(3)]
    return cells + halves


def _hamming(a: UInt8Array, b: UInt8Array) -> npt.NDArray[np.int64]:
    """(len(a), len(b)) Hamming distances between two sets of 32-byte descriptors."""
    x = np.bitwise_xor(a[:, None, :], b[None, :, :])
    counts: npt.NDArray[np.int64] = np.bitwise_count(x).sum(axis=2, dtype=np.int64)
    return counts


@dataclass(frozen=True)
class QueryFeatures:
    """What a trace computes once per image: its dihedral PDQ hashes and ORB features."""

    rgb: np.ndarray[Any, Any]
    pdq: tuple[PdqHash, ...]
    points: FloatArray
    descriptors: UInt8Array

    @classmethod
    def of(cls, rgb: np.ndarray[Any, Any]) -> QueryFeatures:
        grey, factor = _scaled_grey(rgb, _FEATURE_SIDE, _QUERY_MIN_SIDE)
        points, descriptors, _ = _orb(grey, _QUERY_FEATURES)
        return cls(rgb, tuple(pdq_hash_dihedral(rgb)), points / factor, descriptors)

    @property
    def pdq_quality(self) -> int:
        return self.pdq[0].quality


@dataclass(frozen=True)
class Comparison:
    """How one image compares with one record's fingerprint.

    ``matched`` says which picture the content is: ``output`` (a copy of the released output),
    ``target`` (the photo the output was made from), ``either`` (the image does not show the
    region where they differ, or the record has no target), and is None when the content does not
    match at all.
    """

    content_match: bool
    pdq_distance: int | None
    target_pdq_distance: int | None
    inliers: int
    box_distance_output: int | None = None
    box_distance_target: int | None = None
    matched: Matched | None = None
    region_distance: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "content_match": self.content_match,
            "matched": self.matched,
            "pdq_distance": self.pdq_distance,
            "target_pdq_distance": self.target_pdq_distance,
            "feature_inliers": self.inliers,
            "region_distance": self.region_distance,
            "changed_region_distance_output": self.box_distance_output,
            "changed_region_distance_target": self.box_distance_target,
        }


def _min_distance(hashes: tuple[PdqHash, ...], reference: PdqHash | None) -> int | None:
    if reference is None:
        return None
    return min(h.distance(reference) for h in hashes)


@dataclass(frozen=True)
class ContentFingerprint:
    width: int
    height: int
    points: FloatArray  # (n, 2) x, y in output pixels
    descriptors: UInt8Array  # (n, 32)
    pdq: PdqHash
    target_pdq: PdqHash | None = None
    box: tuple[int, int, int, int] | None = None
    box_pdq_output: PdqHash | None = None
    box_pdq_target: PdqHash | None = None
    #: PDQ of each of :func:`_regions`: once the features have located a query in the output, the
    #: query's own pixels over these regions must agree at low frequencies too. A copied mark (the
    #: high-pass residual of an output added to another photo) carries the output's edges, and so
    #: its features, but not its low frequencies.
    regions: tuple[PdqHash, ...] = ()

    @classmethod
    def compute(
        cls, output: np.ndarray[Any, Any], target: np.ndarray[Any, Any] | None = None
    ) -> ContentFingerprint:
        """The fingerprint of a released (marked) output and, for a swap, of the target it came from."""
        height, width = _grey(output).shape
        if max(height, width) > 65535:
            raise BadInput(f"content fingerprint: image is {width}x{height}, the maximum side is 65535")
        points, descriptors = _spread_keypoints(output)
        target_pdq = box_output = box_target = None
        box = None
        if target is not None:
            target_pdq = pdq_hash(target)
            if target.shape == output.shape:
                box = _changed_box(output, target)
            if box is not None:
                x0, y0, x1, y1 = box
                box_output = pdq_hash(output[y0:y1, x0:x1])
                box_target = pdq_hash(target[y0:y1, x0:x1])
        # Region hashes from a copy at most 512 px on its longer side: PDQ samples every region down
        # to 64x64 anyway, and hashing 3.25 images' worth of full-size pixels would cost the release.
        small = output
        if max(height, width) > 512:
            factor = 512 / max(height, width)
            size = (max(1, round(width * factor)), max(1, round(height * factor)))
            small = cv2.resize(np.ascontiguousarray(output), size, interpolation=cv2.INTER_AREA)
        layout = _regions(small.shape[1], small.shape[0])
        regions = tuple(pdq_hash(small[y0:y1, x0:x1]) for x0, y0, x1, y1 in layout)
        return cls(
            width,
            height,
            points,
            descriptors,
            pdq_hash(output),
            target_pdq,
            box,
            box_output,
            box_target,
            regions,
        )

    # -- storage -------------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        n = len(self.points)
        flags = (self.target_pdq is not None) | ((self.box is not None) << 1) | (bool(self.regions) << 2)
        parts = [
            _MAGIC,
            struct.pack(">HHHB", self.width, self.height, n, flags),
            np.clip(np.rint(self.points), 0, 65535).astype(">u2").tobytes(),
            self.descriptors.tobytes(),
            self.pdq.bits,
            bytes([self.pdq.quality]),
        ]
        if self.target_pdq is not None:
            parts += [self.target_pdq.bits, bytes([self.target_pdq.quality])]
        if self.box is not None and self.box_pdq_output is not None and self.box_pdq_target is not None:
            parts += [struct.pack(">HHHH", *self.box), self.box_pdq_output.bits, self.box_pdq_target.bits]
        parts += [region.bits for region in self.regions]
        return b"".join(parts)

    def sha256(self) -> str:
        return hashlib.sha256(self.to_bytes()).hexdigest()

    @classmethod
    def from_bytes(cls, data: bytes) -> ContentFingerprint:
        try:
            if data[:4] != _MAGIC:
                raise ValueError("unknown format")
            width, height, n, flags = struct.unpack_from(">HHHB", data, 4)
            at = 11
            points = np.frombuffer(data, ">u2", 2 * n, at).astype(np.float64).reshape(n, 2)
            at += 4 * n
            descriptors = np.frombuffer(data, np.uint8, 32 * n, at).reshape(n, 32).copy()
            at += 32 * n
            pdq = PdqHash(bytes(data[at : at + 32]), data[at + 32])
            at += 33
            target_pdq = box = box_output = box_target = None
            if flags & 1:
                target_pdq = PdqHash(bytes(data[at : at + 32]), data[at + 32])
                at += 33
            if flags & 2:
                box = struct.unpack_from(">HHHH", data, at)
                box_output = PdqHash(bytes(data[at + 8 : at + 40]), 100)
                box_target = PdqHash(bytes(data[at + 40 : at + 72]), 100)
                at += 72
            regions: tuple[PdqHash, ...] = ()
            if flags & 4:
                count = len(_regions(width, height))
                regions = tuple(
                    PdqHash(bytes(data[at + 32 * i : at + 32 * i + 32]), 100) for i in range(count)
                )
                at += 32 * count
            if at != len(data):
                raise ValueError(f"{len(data) - at} trailing bytes")
        except (ValueError, struct.error, IndexError, BadInput) as error:
            raise BadInput(f"content fingerprint: stored bytes are malformed ({error})") from None
        return cls(width, height, points, descriptors, pdq, target_pdq, box, box_output, box_target, regions)

    # -- comparison ----------------------------------------------------------------------------

    def _fit(self, query: QueryFeatures) -> tuple[int, FloatArray | None]:
        """RANSAC similarity from this output's keypoints to the query's: (inliers, 2x3 matrix or None)."""
        if len(self.descriptors) < 2 or len(query.descriptors) < 2:
            return 0, None
        distances = _hamming(self.descriptors, query.descriptors)
        nearest = np.argsort(distances, axis=1)[:, :2]
        rows = np.arange(len(distances))
        best = distances[rows, nearest[:, 0]]
        second = distances[rows, nearest[:, 1]]
        # Lowe's ratio test and mutual nearest neighbours: repetitive texture (text, grass) yields
        # many look-alike pairs, which these discard before the geometric fit.
        good = (best <= DESCRIPTOR_DISTANCE) & (best < 0.9 * second)
        good &= np.argmin(distances, axis=0)[nearest[:, 0]] == rows
        if good.sum() < 3:
            return 0, None
        source = self.points[good].astype(np.float32)
        destination = query.points[nearest[good, 0]].astype(np.float32)
        threshold = max(3.0, 0.015 * float(np.hypot(*query.rgb.shape[:2])))
        matrix, mask = cv2.estimateAffinePartial2D(
            source, destination, method=cv2.RANSAC, ransacReprojThreshold=threshold, maxIters=500
        )
        if matrix is None or mask is None:
            return 0, None
        scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
        if not 0.05 <= scale <= 20:
            return 0, None
        inliers = int(mask.sum())
        # A fit on fewer points is reported (a figure for people) but never used to locate anything.
        return inliers, np.asarray(matrix, dtype=np.float64) if inliers >= MIN_INLIERS else None

    @staticmethod
    def _query_region(
        query: QueryFeatures, matrix: FloatArray, region: tuple[int, int, int, int], shown_at_least: float
    ) -> PdqHash | None:
        """PDQ of the query's pixels over an output region (mapped through ``matrix``), if it shows it."""
        x0, y0, x1, y1 = region
        corners = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], dtype=np.float64)
        mapped = corners @ matrix.T
        height, width = query.rgb.shape[:2]
        inside_x = np.clip(mapped[:, 0], 0, width)
        inside_y = np.clip(mapped[:, 1], 0, height)
        full = np.ptp(mapped[:, 0]) * np.ptp(mapped[:, 1])
        shown = np.ptp(inside_x) * np.ptp(inside_y)
        if full <= 0 or shown < shown_at_least * full:
            return None
        shift = np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], dtype=np.float64)
        to_query = matrix @ shift  # box pixel -> query pixel
        warped = cv2.warpAffine(
            np.ascontiguousarray(query.rgb),
            to_query,
            (x1 - x0, y1 - y0),
            flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REFLECT,
        )
        return pdq_hash(warped)

    def _region_distances(self, query: QueryFeatures, matrix: FloatArray) -> list[int]:
        """Distances between the stored region hashes and the query's pixels over the regions it shows."""
        layout = _regions(self.width, self.height)
        found = []
        for region, stored in zip(layout, self.regions, strict=True):
            seen = self._query_region(query, matrix, region, 0.98)
            if seen is not None and seen.quality >= MIN_QUALITY // 2:
                found.append(seen.distance(stored))
        return found

    def compare(self, query: QueryFeatures) -> Comparison:
        """Does the query show this output (or its target), and which of the two?"""
        pdq_distance = _min_distance(query.pdq, self.pdq)
        target_distance = _min_distance(query.pdq, self.target_pdq)
        inliers, matrix = self._fit(query)
        pdq_usable = query.pdq_quality >= MIN_QUALITY and self.pdq.quality >= MIN_QUALITY
        near = pdq_usable and pdq_distance is not None and pdq_distance <= MATCH_DISTANCE
        if matrix is None and near and query.pdq[0].distance(self.pdq) == pdq_distance:
            # Found by the whole-image hash in its own orientation: the query is the output resized.
            height, width = query.rgb.shape[:2]
            matrix = np.array([[width / self.width, 0, 0], [0, height / self.height, 0]], dtype=np.float64)
        located = inliers >= MIN_INLIERS
        region_distance = None
        if located and matrix is not None and self.regions:
            distances = self._region_distances(query, matrix)
            region_distance = int(np.median(distances)) if distances else None
            # Features alone are not enough: the located pixels must agree at low frequencies too,
            # in nearly every region they show (a copied mark of a busy texture can bring half the
            # regions near; the rest of the innocent picture stays far).
            located = (
                region_distance is not None
                and region_distance <= REGION_DISTANCE
                and float(np.percentile(distances, 80)) <= REGION_SPREAD
            )
        content = located or near
        if target_distance is not None:
            target_near = pdq_usable and target_distance <= MATCH_DISTANCE
            content = content or target_near
        if not content:
            return Comparison(False, pdq_distance, target_distance, inliers, region_distance=region_distance)
        matched: Matched = "either" if self.target_pdq is not None else "output"
        box_output = box_target = None
        query_box = None
        if matrix is not None and self.box is not None:
            query_box = self._query_region(query, matrix, self.box, 0.8)
        if query_box is not None and self.box_pdq_output is not None and self.box_pdq_target is not None:
            box_output = query_box.distance(self.box_pdq_output)
            box_target = query_box.distance(self.box_pdq_target)
            if self.box_pdq_output.distance(self.box_pdq_target) > BOX_MARGIN:
                if box_output + BOX_MARGIN <= box_target and box_output <= MATCH_DISTANCE + BOX_MARGIN:
                    matched = "output"
                elif box_target + BOX_MARGIN <= box_output and box_target <= MATCH_DISTANCE + BOX_MARGIN:
                    matched = "target"
        elif self.box is None and target_distance is not None and pdq_distance is not None:
            # No changed region recorded (the output differs everywhere, or not at all): whole images.
            if pdq_distance + BOX_MARGIN <= target_distance:
                matched = "output"
            elif target_distance + BOX_MARGIN <= pdq_distance:
                matched = "target"
        return Comparison(
            True, pdq_distance, target_distance, inliers, box_output, box_target, matched, region_distance
        )
