"""Anonymise bystanders' faces, verify that each is no longer recognisable, and keep the originals.

    anonymiser = Anonymiser(backend, method="synthetic", threshold=0.5, margin=0.2)
    result = anonymiser.apply(rgb, faces)
    result.rgb                      # the image with every listed face anonymised
    result.regions[0].info          # box, method, fallback, distance (no pixels, no identity)
    result.regions[0].original      # the Region to seal: box, mask and original pixels

Verification: after anonymisation each face's neighbourhood is scanned again. A face that is still
found must be farther from the original face's embedding than the match threshold plus the margin;
``synthetic`` must leave a detectable face (that is its point). A face that fails is pixelated
coarsely instead and checked again; the region's ``info`` says which method was applied and why.
If even that fails, :class:`AnonymisationFailed` is raised and the Guard blocks the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fusionguard.anonymise.methods import METHODS, Box, donor_faces, expand, strong_pixelate, synthetic
from fusionguard.anonymise.sealing import Region
from fusionguard.errors import AnonymisationFailed
from fusionguard.faces.base import Face, FaceBackend

GUARD_BAND = 0.02


@dataclass(frozen=True)
class AnonymisedRegion:
    original: Region
    info: dict[str, Any]


@dataclass(frozen=True)
class Anonymised:
    rgb: np.ndarray
    regions: tuple[AnonymisedRegion, ...]


def _iou(a: Box, b: Box) -> float:
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, right - left) * max(0, bottom - top)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


class Anonymiser:
    def __init__(self, backend: FaceBackend, *, method: str, threshold: float, margin: float) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown anonymisation method {method!r}")
        self.backend = backend
        self.method = method
        self.threshold = threshold
        self.margin = margin
        self._donors: list[tuple[np.ndarray, Face]] | None = None

    def _donor_for(self, face: Face) -> np.ndarray:
        """The donor portrait whose identity is farthest from ``face``'s (computed once per backend)."""
        if self._donors is None:
            donors = []
            for portrait in donor_faces():
                found = self.backend.detect(portrait)
                if found:
                    donors.append((portrait, max(found, key=lambda f: f.size)))
            self._donors = donors
        if not self._donors:
            return donor_faces()[2]
        return max(self._donors, key=lambda d: self.backend.distance(face, d[1]))[0]

    def _apply_one(self, method: str, rgb: np.ndarray, face: Face) -> np.ndarray:
        if method == "synthetic":
            return synthetic(rgb, face.box, self._donor_for(face))
        return METHODS[method](rgb, face.box)

    def _recheck(self, rgb: np.ndarray, faces: list[Face]) -> list[tuple[bool, float | None]]:
        """Per face: (found again, embedding distance to the original), from one scan of ``rgb``.

        The whole image is scanned, as the Guard's own checks and anyone tracing the output would.
        """
        found = self.backend.detect(rgb)
        checks: list[tuple[bool, float | None]] = []
        for face in faces:
            candidates = [f for f in found if _iou(f.box, face.box) > 0.3]
            if not candidates:
                checks.append((False, None))
                continue
            nearest = min(self.backend.distance(face, f) for f in candidates)
            checks.append((True, round(float(nearest), 4)))
        return checks

    def _passes(self, method: str, found: bool, distance: float | None) -> bool:
        if method == "synthetic" and not found:
            return False  # the structure-preserving method must leave a face a detector still finds
        # A small guard band on top of the margin: watermarking and encoding move embeddings a little.
        return distance is None or distance >= self.threshold + self.margin + GUARD_BAND

    def apply(self, rgb: np.ndarray, faces: list[Face]) -> Anonymised:
        working = rgb.copy()
        applied: list[tuple[str, bool, str]] = []  # (method, fell back, why)
        for face in faces:
            method, why = self.method, ""
            try:
                working = self._apply_one(method, working, face)
            except ValueError as error:  # synthetic: no landmarks in the neighbourhood
                method, why = "pixelate-strong", f"{self.method} failed: {error}"
                working = strong_pixelate(working, face.box)
            applied.append((method, bool(why), why))
        checks = self._recheck(working, faces)
        for number, face in enumerate(faces):
            method, fell_back, why = applied[number]
            if fell_back or self._passes(method, *checks[number]):
                continue
            found, distance = checks[number]
            reason = "face not found after anonymisation" if not found else f"distance {distance}"
            working = strong_pixelate(working, face.box)
            applied[number] = ("pixelate-strong", True, f"{method} left the face recognisable ({reason})")
        if any(fell_back for _, fell_back, _ in applied):
            checks = self._recheck(working, faces)
        regions = []
        for number, face in enumerate(faces):
            method, fell_back, why = applied[number]
            found, distance = checks[number]
            if not self._passes(method, found, distance):
                raise AnonymisationFailed(
                    f"face at {list(face.box)} is still recognisable after {method} (distance {distance}, "
                    f"required at least {self.threshold + self.margin})"
                )
            left, top, right, bottom = expand(face.box, rgb.shape, 0.6)
            changed = np.any(working[top:bottom, left:right] != rgb[top:bottom, left:right], axis=2)
            # The face and its margin are sealed whole (a pixel the method happened to leave equal
            # is still the face's), plus anything else the method changed around it.
            inner = expand(face.box, rgb.shape, 0.15)
            changed[inner[1] - top : inner[3] - top, inner[0] - left : inner[2] - left] = True
            info: dict[str, Any] = {
                "box": [int(v) for v in face.box],
                "method": method,
                "requested": self.method,
                "fallback": fell_back,
                "detected_after": found,
                "distance": distance,
                "required_distance": round(self.threshold + self.margin, 4),
            }
            if why:
                info["why"] = why
            region = Region.cut(rgb, (left, top, right, bottom), changed)
            regions.append(AnonymisedRegion(region, info))
        return Anonymised(working, tuple(regions))
