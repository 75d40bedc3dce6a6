"""The Guard's bystander protection (policy ``consent.unknown_target_faces: anonymise``).

Before the pipeline: every target face that is not a consenting identity is anonymised, so the
wrapped code never sees it. After the pipeline: every output face that matches no source identity
and no consenting target identity (and is not a region already anonymised) is anonymised before the
watermark. The originals of all regions are sealed to the admin's recovery public key and stored
beside the record; the signed record lists each region's box, method and ciphertext hash.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine

from fusionguard.anonymise.anonymiser import AnonymisedRegion, Anonymiser, _iou
from fusionguard.anonymise.sealing import SUITE_NAME, recovery_key_id, seal_region
from fusionguard.anonymise.store import SealedRegions
from fusionguard.errors import ConfigError
from fusionguard.faces.base import Face, FaceBackend
from fusionguard.registry.registry import ConsentRegistry


@dataclass
class RunRegions:
    """The regions one run anonymised, in order: target stage first, then output stage."""

    record_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    regions: list[tuple[str, AnonymisedRegion]] = field(default_factory=list)
    image_size: tuple[int, int] | None = None  # the output's (width, height)

    def boxes(self) -> list[tuple[int, int, int, int]]:
        return [(b[0], b[1], b[2], b[3]) for b in (region.info["box"] for _, region in self.regions)]


class BystanderProtection:
    def __init__(
        self,
        *,
        faces: FaceBackend,
        registry: ConsentRegistry,
        engine: Engine,
        recovery_public_key: bytes | None,
        method: str,
        threshold: float,
        margin: float,
    ) -> None:
        if recovery_public_key is None:
            raise ConfigError(
                "the policy anonymises bystanders (consent.unknown_target_faces: anonymise) but no "
                "recovery key is installed: run 'fusionguard keys recovery-keygen --out FILE' and keep "
                "FILE offline"
            )
        self.faces = faces
        self.registry = registry
        self.store = SealedRegions(engine)
        self.public_key = recovery_public_key
        self.key_id = recovery_key_id(recovery_public_key)
        self.anonymiser = Anonymiser(faces, method=method, threshold=threshold, margin=margin)

    def target(self, rgb: np.ndarray, faces: Sequence[Face], regions: RunRegions) -> np.ndarray:
        if not faces:
            return rgb
        result = self.anonymiser.apply(rgb, list(faces))
        regions.regions += [("target", region) for region in result.regions]
        return result.rgb

    def output(
        self, rgb: np.ndarray, allowed_identities: Sequence[str], regions: RunRegions, rules: Any
    ) -> np.ndarray:
        """Anonymise the output's faces of no allowed identity that are not anonymised already."""
        threshold = rules.max_distance if rules.max_distance is not None else self.faces.match_threshold
        done = regions.boxes()
        strays = []
        for face in self.faces.detect(rgb):
            if any(_iou(face.box, box) > 0.3 for box in done):
                continue
            match = self.registry.nearest(face.as_embedding(), metric=self.faces.metric)
            if match is not None and match.distance <= threshold and match.identity_id in allowed_identities:
                continue
            strays.append(face)
        regions.image_size = (rgb.shape[1], rgb.shape[0])
        if not strays:
            return rgb
        result = self.anonymiser.apply(rgb, strays)
        regions.regions += [("output", region) for region in result.regions]
        return result.rgb

    def seal(self, regions: RunRegions) -> dict[str, Any] | None:
        """Seal and store every region; return the block the signed record carries (or None)."""
        if not regions.regions:
            return None
        sealed = [
            (
                index,
                self.key_id,
                seal_region(region.original, self.public_key, record_id=regions.record_id, index=index),
            )
            for index, (_, region) in enumerate(regions.regions)
        ]
        self.store.put(regions.record_id, sealed)
        return {
            "suite": SUITE_NAME,
            "recovery_key_id": self.key_id,
            "image_size": list(regions.image_size) if regions.image_size else None,
            "regions": [
                {
                    "index": index,
                    "stage": stage,
                    **region.info,
                    "ciphertext_sha256": hashlib.sha256(sealed[index][2]).hexdigest(),
                }
                for index, (stage, region) in enumerate(regions.regions)
            ],
        }

    def unseal_failed_run(self, regions: RunRegions) -> None:
        """The record was never appended: its ciphertexts must not outlive the attempt."""
        self.store.shred(regions.record_id)
