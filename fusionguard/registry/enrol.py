"""Enrolment from photos: exactly one face, large enough, per reference photo.

identity = enrol_photos(registry, DlibBackend(), "Ada", ["ada1.jpg", "ada2.jpg"], roles={"source"})
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import datetime

from fusionguard.errors import AlreadyEnrolled, BadInput
from fusionguard.faces.base import Embedding, FaceBackend
from fusionguard.media import load_image, sha256_hex
from fusionguard.registry.registry import ConsentRegistry


def enrol_photos(
    registry: ConsentRegistry,
    backend: FaceBackend,
    name: str,
    photos: Sequence[str | os.PathLike[str]],
    *,
    roles: Iterable[str],
    valid_until: datetime | None = None,
    evidence: bytes | None = None,
    min_face_size: int | None = None,
) -> str:
    """Embed one face per photo and enrol them under a new pseudonymous identity."""
    if not photos:
        raise BadInput("enrolment needs at least one reference photo")
    minimum = min_face_size if min_face_size is not None else backend.min_face_size
    embeddings: list[Embedding] = []
    hashes: list[str] = []
    for photo in photos:
        image = load_image(photo)
        faces = backend.detect(image.rgb)
        if not faces:
            raise BadInput(f"{photo}: no face found; enrol a clear, frontal photo of the person")
        if len(faces) > 1:
            raise BadInput(f"{photo}: {len(faces)} faces found; a reference photo must show only the person")
        face = faces[0]
        if face.size < minimum:
            raise BadInput(
                f"{photo}: the face is {face.size} px, smaller than the {minimum} px minimum; "
                "use a larger photo"
            )
        embeddings.append(face.as_embedding())
        hashes.append(image.sha256)
        _refuse_enrolled(registry, backend, photo, embeddings[-1])
    return registry.enroll(
        name,
        embeddings,
        roles=roles,
        photo_hashes=hashes,
        valid_until=valid_until,
        evidence_sha256=sha256_hex(evidence) if evidence is not None else None,
    )


def _refuse_enrolled(
    registry: ConsentRegistry, backend: FaceBackend, photo: object, embedding: Embedding
) -> None:
    """A second identity for an enrolled face would never match (the first one is always nearer)."""
    match = registry.nearest(embedding, metric=backend.metric)
    if match is None or match.distance > backend.match_threshold:
        return
    info = registry.show(match.identity_id)
    roles = sorted(info.active_roles(registry.clock()))
    raise AlreadyEnrolled(
        f"{photo}: this face is already enrolled as {match.identity_id} ({info.display_name}, "
        f"distance {match.distance:.2f}, consent for {', '.join(roles) or 'no role'}); to add a role run "
        f"'fusionguard consent grant {match.identity_id} --role target' (or --role source)",
        match.identity_id,
    )
