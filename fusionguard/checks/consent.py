"""The consent check: every face in every source and target must belong to a person who consented,
for that role, now — and the output's swapped face must be the source's person.

Each face is embedded by the configured backend and matched against the registry's references of the
same model. Reasons carry the distances and the threshold, so a blocked operator sees why:

    check = ConsentCheck(DlibBackend(), registry)
    found = check.check_inputs([("source[0]", src)], [("target", tgt)], policy.consent)
    check.check_output(output_rgb, found.source_identities, policy.consent)

Nothing is cached between runs: a revocation takes effect for the very next check.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from fusionguard.errors import Reason
from fusionguard.faces.base import Face, FaceBackend
from fusionguard.registry.registry import ConsentRegistry


class ConsentRules(Protocol):
    """The policy's consent section (see :mod:`fusionguard.policy`)."""

    @property
    def required(self) -> bool: ...

    @property
    def unknown_target_faces(self) -> str: ...

    @property
    def verify_output_identity(self) -> bool: ...

    @property
    def max_distance(self) -> float | None: ...


@dataclass
class ConsentFindings:
    """Identities matched per input label, plus the reasons to block (empty when allowed)."""

    identities: dict[str, tuple[str, ...]] = field(default_factory=dict)
    faces: dict[str, int] = field(default_factory=dict)
    reasons: list[Reason] = field(default_factory=list)
    #: With ``unknown_target_faces: anonymise``: the target faces of no consenting identity, per
    #: label; the Guard anonymises them before the pipeline (their identities are not recorded).
    to_anonymise: dict[str, list[Face]] = field(default_factory=dict)

    @property
    def source_identities(self) -> tuple[str, ...]:
        found = {i for label, ids in self.identities.items() if label.startswith("source") for i in ids}
        return tuple(sorted(found))


def _box(face: Face) -> list[int]:
    return [int(v) for v in face.box]


class ConsentCheck:
    def __init__(self, backend: FaceBackend, registry: ConsentRegistry) -> None:
        self.backend = backend
        self.registry = registry
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _threshold(self, rules: ConsentRules) -> float:
        return rules.max_distance if rules.max_distance is not None else self.backend.match_threshold

    def _identify(self, face: Face, rules: ConsentRules) -> tuple[str | None, dict[str, Any]]:
        match = self.registry.nearest(face.as_embedding(), metric=self.backend.metric)
        threshold = self._threshold(rules)
        data: dict[str, Any] = {
            "box": _box(face),
            "threshold": threshold,
            "model": self.backend.model_id,
            "nearest": match.identity_id if match else None,
            "distance": round(match.distance, 4) if match else None,
        }
        if match is None or match.distance > threshold:
            return None, data
        return match.identity_id, data

    def check_inputs(
        self,
        sources: Sequence[tuple[str, np.ndarray]],
        targets: Sequence[tuple[str, np.ndarray]],
        rules: ConsentRules,
    ) -> ConsentFindings:
        findings = ConsentFindings()
        labelled = [("source", label, rgb) for label, rgb in sources]
        labelled += [("target", label, rgb) for label, rgb in targets]
        detected = self._detect_all([rgb for _, _, rgb in labelled])
        for (role, label, _rgb), faces in zip(labelled, detected, strict=True):
            findings.faces[label] = len(faces)
            matched: list[str] = []
            if role == "source" and not faces and rules.required:
                findings.reasons.append(
                    Reason(
                        "consent",
                        label,
                        "no face found in the source image; a source must show the consenting person",
                        {"faces": 0},
                    )
                )
            for number, face in enumerate(faces, start=1):
                identity, data = self._identify(face, rules)
                anonymise = role == "target" and rules.unknown_target_faces == "anonymise"
                if anonymise and (identity is None or role not in self.registry.active_roles(identity)):
                    findings.to_anonymise.setdefault(label, []).append(face)
                    continue
                if identity is None:
                    if role == "target" and rules.unknown_target_faces == "allow":
                        continue
                    if not rules.required:
                        continue
                    nearest = (
                        f"nearest {data['nearest']} at distance {data['distance']}"
                        if data["nearest"]
                        else "no enrolled reference for this face model"
                    )
                    findings.reasons.append(
                        Reason(
                            "consent",
                            label,
                            f"face {number} matches no enrolled identity ({nearest}; threshold "
                            f"{data['threshold']})",
                            data,
                        )
                    )
                    continue
                matched.append(identity)
                roles = self.registry.active_roles(identity)
                if role not in roles and rules.required:
                    findings.reasons.append(
                        Reason(
                            "consent",
                            label,
                            f"face {number} is {identity} (distance {data['distance']}), who has no "
                            f"active {role} consent",
                            {**data, "identity": identity, "active_roles": sorted(roles)},
                        )
                    )
            findings.identities[label] = tuple(dict.fromkeys(matched))
        return findings

    def _detect_all(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        """Faces of every image; several images are detected concurrently.

        Backends are thread-safe and do their heavy lifting outside the GIL (dlib's HOG scan,
        onnxruntime), so a source and a target are scanned on two cores at once.
        """
        if len(images) < 2:
            return [self.backend.detect(rgb) for rgb in images]
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=max(2, min(4, os.cpu_count() or 1)), thread_name_prefix="fusionguard-faces"
                )
        return list(self._pool.map(self.backend.detect, images))

    def check_generated(self, output_rgb: np.ndarray, rules: ConsentRules) -> list[Reason]:
        """A generated image (no source faces) may show an enrolled person only with their consent.

        Unknown faces are synthetic people and pass; a face that matches an enrolled identity is that
        person's likeness, used as a source, so it needs their active source consent.
        """
        if not rules.required:
            return []
        reasons = []
        for number, face in enumerate(self.backend.detect(output_rgb), start=1):
            identity, data = self._identify(face, rules)
            if identity is None:
                continue
            roles = self.registry.active_roles(identity)
            if "source" not in roles:
                reasons.append(
                    Reason(
                        "consent",
                        "output",
                        f"generated face {number} is {identity} (distance {data['distance']}), who has no "
                        "active source consent for their likeness",
                        {**data, "identity": identity, "active_roles": sorted(roles)},
                    )
                )
        return reasons

    def check_output(
        self, output_rgb: np.ndarray, source_identities: Sequence[str], rules: ConsentRules
    ) -> list[Reason]:
        """Reasons to block if the output's face is not one of the source identities."""
        if not rules.verify_output_identity or not rules.required:
            return []
        faces = self.backend.detect(output_rgb)
        if not faces:
            return [
                Reason(
                    "consent",
                    "output",
                    "no face found in the output; the swapped identity cannot be verified",
                    {"faces": 0},
                )
            ]
        for face in faces:
            identity, _ = self._identify(face, rules)
            if identity is not None and identity in source_identities:
                return []
        best = faces[0]
        identity, data = self._identify(best, rules)
        return [
            Reason(
                "consent",
                "output",
                f"no face in the output matches a source identity {list(source_identities)} "
                f"(best face: {identity or 'unknown'}, nearest {data['nearest']} at {data['distance']})",
                {**data, "sources": list(source_identities)},
            )
        ]
