"""Takedown tracing: from a leaked (cropped, resized, re-compressed) image back to the run that made it.

1. Watermark: detect the keyed ID; its false-alarm probability is reported with the match, and the
   record is looked up by the unique watermark ID (an index lookup).
2. No watermark: the image's PDQ hash (all 8 dihedral variants, for flips and rotations) is compared
   with every output's PDQ in the log; candidates within the match distance are ranked by distance.
3. Otherwise: a clear "no match".

    tracer = Tracer(log, codec)
    result = tracer.trace(load_image("leak.jpg").rgb)
    result.matches[0].record_id
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fusionguard.audit.log import AuditLog
from fusionguard.audit.record import format_watermark_id
from fusionguard.errors import NotFound
from fusionguard.fingerprint import MATCH_DISTANCE, MIN_QUALITY, PdqHash, PdqIndex, pdq_hash
from fusionguard.watermark import WatermarkCodec


@dataclass(frozen=True)
class TraceMatch:
    method: str  # "watermark" or "pdq"
    record_id: str
    seq: int
    watermark_id: str | None
    false_alarm_probability: float | None = None
    pdq_distance: int | None = None
    taken_down: bool = False
    proof_available: bool = True

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class TraceResult:
    source: str
    matches: tuple[TraceMatch, ...] = ()
    note: str = ""
    pdq_quality: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return bool(self.matches)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "found": self.found,
            "matches": [m.to_json() for m in self.matches],
            "note": self.note,
            "pdq_quality": self.pdq_quality,
        }


class Tracer:
    def __init__(self, log: AuditLog, codec: WatermarkCodec) -> None:
        self.log = log
        self.codec = codec
        self._index: PdqIndex | None = None

    def pdq_index(self) -> PdqIndex:
        """All outputs' PDQ hashes by sequence number, loaded once per tracer."""
        if self._index is None:
            with self.log.snapshot() as snapshot:
                rows = snapshot.pdq_rows()
            index = PdqIndex()
            if rows:
                index.extend([seq for seq, _ in rows], [PdqHash.from_hex(pdq) for _, pdq in rows])
            self._index = index
        return self._index

    def _taken_down(self, record_id: str) -> bool:
        with self.log.snapshot() as snapshot:
            return snapshot.taken_down(record_id)

    def trace(self, rgb: np.ndarray, source: str = "image") -> TraceResult:
        detection = self.codec.detect(rgb)
        if detection is not None:
            watermark_id = format_watermark_id(detection.payload)
            try:
                stored = self.log.get(watermark_id)
            except NotFound:
                return TraceResult(
                    source,
                    note=f"watermark {watermark_id} found "
                    f"(false alarm <= {detection.false_alarm_probability:.1e}) "
                    "but no record in this log carries it",
                )
            match = TraceMatch(
                "watermark",
                stored.record.record_id,
                stored.seq,
                watermark_id,
                false_alarm_probability=detection.false_alarm_probability,
                taken_down=self._taken_down(stored.record.record_id),
            )
            return TraceResult(source, (match,), note="watermark")
        fingerprint = pdq_hash(rgb)
        if fingerprint.quality < MIN_QUALITY:
            return TraceResult(
                source,
                note=f"no watermark, and the image's PDQ quality {fingerprint.quality} is below "
                f"{MIN_QUALITY}: too flat to fingerprint",
                pdq_quality=fingerprint.quality,
            )
        candidates = self.pdq_index().search_dihedral(rgb, max_distance=MATCH_DISTANCE, limit=10)
        matches = []
        for seq, distance in candidates:
            stored = self.log.get(str(seq))
            output = stored.record.output
            matches.append(
                TraceMatch(
                    "pdq",
                    stored.record.record_id,
                    seq,
                    output.watermark_id if output else None,
                    pdq_distance=int(distance),
                    taken_down=self._taken_down(stored.record.record_id),
                )
            )
        note = "pdq" if matches else "no match: no watermark and no output within PDQ distance 31"
        return TraceResult(source, tuple(matches), note=note, pdq_quality=fingerprint.quality)
