"""Tracing a leaked clip (trimmed, downscaled, re-encoded) back to the run that made it.

1. Watermark: the clip's frames are read by :func:`fusionguard.video.marking.detect_clip`, which
   accumulates the evidence of every frame (false-alarm probability <= 1e-10 for the whole clip, every
   frame and hypothesis counted); the ID is looked up like an image's.
2. No watermark: one PDQ hash per second of the leak (the same sampler as the Guard's) is compared
   with the per-sample PDQ hashes (vPDQ) that every video record carries; a record matches when at
   least half of the leak's usable samples are within ``MATCH_DISTANCE`` of one of its samples.
3. Otherwise "no match". The result has the same shape as an image trace (:class:`TraceResult`).

The vPDQ hashes live in the signed record itself (``extra.video.vpdq``): they are covered by the
signature and the Merkle log like every other field, need no schema change, and stay small (64 hex
digits per sampled second: under 50 kB for the policy's longest clip). The fallback reads the video
records with one query (``envelope`` containing ``"vpdq"``) and compares in memory; a log with very
many video records would want them in an indexed table instead.

    result = trace_video(tracer, "leak.mp4", policy.video)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from sqlalchemy import select

from fusionguard.audit.canonical import parse_json_object
from fusionguard.audit.record import format_watermark_id
from fusionguard.errors import NotFound
from fusionguard.fingerprint import MATCH_DISTANCE, MIN_QUALITY, PdqHash, pdq_hash
from fusionguard.policy import VideoPolicy
from fusionguard.store.models import AuditRow
from fusionguard.trace import TraceMatch, Tracer, TraceResult
from fusionguard.video.decode import decode_frames
from fusionguard.video.marking import detect_clip
from fusionguard.video.probe import VideoInfo, probe_video
from fusionguard.video.sampling import FrameSampler

__all__ = ["trace_video"]

#: Frames of a leak read for the watermark (10 s at 30 fps); the mark is on every frame, so more
#: frames only add time.
MAX_DETECT_FRAMES = 300


def trace_video(tracer: Tracer, path: str | os.PathLike[str], rules: VideoPolicy) -> TraceResult:
    """Trace the clip at ``path`` (validated against ``rules`` first, like any input)."""
    source = str(path)
    info = probe_video(Path(path), rules, label=Path(path).name)
    frames = _frames(info, rules)
    detection = detect_clip(tracer.codec, frames)
    if detection is not None:
        watermark_id = format_watermark_id(detection.payload)
        try:
            stored = tracer.log.get(watermark_id)
        except NotFound:
            return TraceResult(
                source,
                note=f"watermark {watermark_id} found (false alarm <= "
                f"{detection.false_alarm_probability:.1e}) but no record in this log carries it",
            )
        match = TraceMatch(
            "watermark",
            stored.record.record_id,
            stored.seq,
            watermark_id,
            false_alarm_probability=detection.false_alarm_probability,
            taken_down=tracer._taken_down(stored.record.record_id),
        )
        return TraceResult(source, (match,), note="watermark", details={"video": info.to_json()})
    return _by_fingerprint(tracer, info, rules, source)


def _frames(info: VideoInfo, rules: VideoPolicy) -> Iterator[np.ndarray]:
    for frame in decode_frames(info, rules):
        if frame.index >= MAX_DETECT_FRAMES:
            return
        yield frame.rgb


def _by_fingerprint(tracer: Tracer, info: VideoInfo, rules: VideoPolicy, source: str) -> TraceResult:
    sampler = FrameSampler(rules.sample_fps, rules.scene_cut_threshold)
    hashes: list[PdqHash] = []
    for frame in decode_frames(info, rules):
        for sample in sampler.feed(frame):
            hashes.append(pdq_hash(sample.frame.rgb))
    hashes += [pdq_hash(s.frame.rgb) for s in sampler.finish()]
    usable = [h for h in hashes if h.quality >= MIN_QUALITY]
    best_quality = max((int(h.quality) for h in hashes), default=0)
    if not usable:
        return TraceResult(
            source,
            note=f"no watermark, and no frame of the clip is detailed enough to fingerprint "
            f"(best PDQ quality {best_quality}, need {MIN_QUALITY})",
            pdq_quality=best_quality,
        )
    needed = max(1, (len(usable) + 1) // 2)
    candidates: list[tuple[int, int, int]] = []  # (-matched samples, best distance, seq)
    for seq, stored_hashes in _video_fingerprints(tracer):
        matched, closest = 0, 256
        for leak in usable:
            distance = min(leak.distance(h) for h in stored_hashes)
            closest = min(closest, distance)
            matched += distance <= MATCH_DISTANCE
        if matched >= needed:
            candidates.append((-matched, closest, seq))
    matches = []
    for _, distance, seq in sorted(candidates)[:10]:
        stored = tracer.log.get(str(seq))
        output = stored.record.output
        matches.append(
            TraceMatch(
                "pdq",
                stored.record.record_id,
                seq,
                output.watermark_id if output else None,
                pdq_distance=distance,
                taken_down=tracer._taken_down(stored.record.record_id),
            )
        )
    note = (
        "pdq"
        if matches
        else f"no match: no watermark, and no video record shares {needed} of the clip's "
        f"{len(usable)} per-second fingerprints within PDQ distance {MATCH_DISTANCE}"
    )
    return TraceResult(source, tuple(matches), note=note, pdq_quality=best_quality)


def _video_fingerprints(tracer: Tracer) -> Iterator[tuple[int, list[PdqHash]]]:
    query = (
        select(AuditRow.seq, AuditRow.envelope)
        .where(AuditRow.decision == "allowed")
        .where(AuditRow.envelope.contains('"vpdq":'))
        .order_by(AuditRow.seq)
    )
    with tracer.log.engine.connect() as connection:
        rows = connection.execute(query).all()
    for seq, envelope in rows:
        video = parse_json_object(envelope)["record"]["extra"].get("video") or {}
        hashes = [PdqHash.from_hex(item["pdq"], int(item["quality"])) for item in video.get("vpdq", [])]
        if hashes:
            yield int(seq), hashes
