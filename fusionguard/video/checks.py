"""The NSFW and consent checks on a clip's sampled frames, with face tracks across them.

A :class:`ClipScan` holds, for every sampled frame (see :mod:`fusionguard.video.sampling`), its time,
why it was sampled, its NSFW score and its faces; faces are grouped into :class:`FaceTrack` s: a face
joins the track whose mean embedding it matches (the backend's match threshold), the nearest by box
overlap when several do, else it starts a new track. Each track is identified once, by its mean
embedding, against the consent registry.

* NSFW (``video.nsfw_block``): ``any`` blocks when one sampled frame scores at or above the threshold,
  ``fraction`` when more than ``video.nsfw_max_fraction`` of them do; reasons name times and scores.
* Target consent: every track's identity needs active *target* consent; an unknown track is blocked
  unless ``consent.unknown_target_faces`` is ``allow``. Reasons say when the face was on screen.
* Output identity: at least one output track must be a source identity, and every output track must
  be a source identity or a consenting person already seen in the target (an unchanged bystander).

Reasons carry the figures (times, scores, distances) in ``data`` as for images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fusionguard.errors import Reason
from fusionguard.faces.base import Embedding, Face, FaceBackend
from fusionguard.policy import ConsentPolicy, VideoPolicy
from fusionguard.registry.registry import ConsentRegistry
from fusionguard.video.sampling import Sample

__all__ = ["ClipScan", "ClipScanner", "FaceTrack", "SampledFrame"]

_MAX_TIMES_SHOWN = 5


@dataclass(frozen=True)
class SampledFrame:
    index: int
    time: float
    why: str
    nsfw: float | None
    boxes: tuple[tuple[int, ...], ...]
    tracks: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "t": round(self.time, 3),
            "why": self.why,
            "nsfw": None if self.nsfw is None else round(self.nsfw, 4),
            "faces": len(self.boxes),
            "tracks": list(self.tracks),
        }


@dataclass
class FaceTrack:
    number: int
    faces: list[Face] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    identity: str | None = None
    distance: float | None = None
    nearest: str | None = None

    @property
    def last_box(self) -> tuple[float, float, float, float]:
        left, top, right, bottom = self.faces[-1].box
        return float(left), float(top), float(right), float(bottom)

    def mean_embedding(self) -> Embedding:
        first = self.faces[0].as_embedding()
        vectors = np.stack([f.as_embedding().vector for f in self.faces])
        return Embedding(first.model_id, vectors.mean(axis=0))

    def to_json(self) -> dict[str, Any]:
        return {
            "track": self.number,
            "first_t": round(self.times[0], 3),
            "last_t": round(self.times[-1], 3),
            "samples": len(self.times),
            "identity": self.identity,
            "nearest": self.nearest,
            "distance": None if self.distance is None else round(self.distance, 4),
        }


@dataclass
class ClipScan:
    """What the sampled frames of one clip showed."""

    subject: str
    frames: list[SampledFrame] = field(default_factory=list)
    tracks: list[FaceTrack] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "samples": [f.to_json() for f in self.frames],
            "tracks": [t.to_json() for t in self.tracks],
        }


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, right - left) * max(0.0, bottom - top)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class ClipScanner:
    """Builds a :class:`ClipScan` batch by batch (in time order), keeping faces, not frames."""

    def __init__(
        self,
        subject: str,
        *,
        faces: FaceBackend,
        registry: ConsentRegistry,
        match_threshold: float,
        detect_all: Callable[[Sequence[np.ndarray]], list[list[Face]]] | None = None,
    ) -> None:
        self.scan = ClipScan(subject)
        self.faces, self.registry, self.threshold = faces, registry, match_threshold
        self.detect_all = detect_all or (lambda images: [faces.detect(i) for i in images])

    def add(
        self,
        samples: Sequence[Sample],
        nsfw_scores: Sequence[float] | None,
        detected: Sequence[list[Face]] | None = None,
    ) -> None:
        """Extend the tracks with the faces of ``samples`` (``detected``, or found here with
        ``detect_all``, which may scan them concurrently)."""
        if detected is None:
            detected = self.detect_all([s.frame.rgb for s in samples])
        for position, (sample, found) in enumerate(zip(samples, detected, strict=True)):
            numbers = []
            for face in found:
                track = _assign(self.scan.tracks, face, self.faces, self.threshold)
                track.faces.append(face)
                track.times.append(sample.frame.time)
                numbers.append(track.number)
            score = nsfw_scores[position] if nsfw_scores is not None else None
            boxes = tuple(tuple(int(v) for v in f.box) for f in found)
            frame = SampledFrame(
                sample.frame.index, sample.frame.time, sample.why, score, boxes, tuple(numbers)
            )
            self.scan.frames.append(frame)

    def finish(self) -> ClipScan:
        """Identify every track by its mean embedding."""
        for track in self.scan.tracks:
            match = self.registry.nearest(track.mean_embedding(), metric=self.faces.metric)
            if match is not None:
                track.nearest, track.distance = match.identity_id, float(match.distance)
                if match.distance <= self.threshold:
                    track.identity = match.identity_id
        return self.scan


def _assign(tracks: list[FaceTrack], face: Face, faces: FaceBackend, threshold: float) -> FaceTrack:
    box = tuple(float(v) for v in face.box)
    candidates = [t for t in tracks if faces.distance(face, t.mean_embedding()) <= threshold]
    if candidates:
        return max(candidates, key=lambda t: _iou(t.last_box, box))
    track = FaceTrack(number=len(tracks) + 1)
    tracks.append(track)
    return track


def _times(times: Sequence[float]) -> str:
    shown = ", ".join(f"{t:.2f} s" for t in times[:_MAX_TIMES_SHOWN])
    return shown + (f" and {len(times) - _MAX_TIMES_SHOWN} more" if len(times) > _MAX_TIMES_SHOWN else "")


def nsfw_reasons(scan: ClipScan, threshold: float, video: VideoPolicy, model_id: str) -> list[Reason]:
    scored = [f for f in scan.frames if f.nsfw is not None]
    flagged = [f for f in scored if f.nsfw is not None and f.nsfw >= threshold]
    if not flagged:
        return []
    share = len(flagged) / len(scored)
    if video.nsfw_block == "fraction" and share <= video.nsfw_max_fraction:
        return []
    rule = "any sampled frame" if video.nsfw_block == "any" else f"more than {video.nsfw_max_fraction:.0%}"
    listed = ", ".join(f"{f.time:.2f} s ({f.nsfw:.3f})" for f in flagged[:_MAX_TIMES_SHOWN])
    return [
        Reason(
            "nsfw",
            scan.subject,
            f"{len(flagged)} of {len(scored)} sampled frames score at or above the threshold "
            f"{threshold} ({rule} blocks): {listed}",
            {
                "threshold": threshold,
                "model": model_id,
                "rule": video.nsfw_block,
                "frames": [{"t": round(f.time, 3), "score": round(f.nsfw or 0.0, 4)} for f in flagged],
                "sampled": len(scored),
            },
        )
    ]


def target_consent_reasons(scan: ClipScan, rules: ConsentPolicy, registry: ConsentRegistry) -> list[Reason]:
    if not rules.required:
        return []
    reasons = []
    for track in scan.tracks:
        data = {**track.to_json(), "times": [round(t, 3) for t in track.times]}
        if track.identity is None:
            if rules.unknown_target_faces == "allow":
                continue
            nearest = (
                f"nearest {track.nearest} at {track.distance:.4f}" if track.nearest else "nobody enrolled"
            )
            if rules.unknown_target_faces == "anonymise":  # not available on video yet: fail closed
                nearest += "; bystanders are not anonymised in video, so the face blocks the clip"
            reasons.append(
                Reason(
                    "consent",
                    scan.subject,
                    f"face track {track.number} (on screen at {_times(track.times)}) matches no enrolled "
                    f"identity ({nearest})",
                    data,
                )
            )
            continue
        roles = registry.active_roles(track.identity)
        if "target" not in roles:
            reasons.append(
                Reason(
                    "consent",
                    scan.subject,
                    f"face track {track.number} (on screen at {_times(track.times)}) is {track.identity}, "
                    "who has no active target consent",
                    {**data, "active_roles": sorted(roles)},
                )
            )
    return reasons


def output_identity_reasons(
    scan: ClipScan, source_identities: Sequence[str], target_scan: ClipScan, rules: ConsentPolicy
) -> list[Reason]:
    if not rules.required or not rules.verify_output_identity:
        return []
    bystanders = {t.identity for t in target_scan.tracks if t.identity is not None}
    reasons = []
    if not any(t.identity in source_identities for t in scan.tracks):
        reasons.append(
            Reason(
                "consent",
                scan.subject,
                f"no sampled frame of the output shows a source identity {list(source_identities)} "
                f"({len(scan.tracks)} face track(s) found)",
                {"sources": list(source_identities), "tracks": [t.to_json() for t in scan.tracks]},
            )
        )
    for track in scan.tracks:
        if track.identity in source_identities or track.identity in bystanders:
            continue
        reasons.append(
            Reason(
                "consent",
                scan.subject,
                f"face track {track.number} (at {_times(track.times)}) is "
                f"{track.identity or 'an unknown person'}, neither a source identity nor a consenting "
                "person of the target",
                {**track.to_json(), "sources": list(source_identities)},
            )
        )
    return reasons
