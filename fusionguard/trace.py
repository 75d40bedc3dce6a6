"""Takedown tracing: from a leaked (cropped, resized, re-compressed) image back to the run that made it.

A watermark says which record an image *claims* to come from; a mark can be copied onto another
picture (marked minus blurred marked, added to an innocent photo), so a trace is evidence only when
the image's content agrees with the record. Every trace ends in one of four verdicts:

``verified``
    a watermark names a record and the image's content matches that record's released output
    (its stored content fingerprint).
``fingerprint``
    no readable watermark (stripped, regenerated, too small), but the content matches a record's
    output. A fingerprint *finds* a record; it does not prove the image came from it.
``unverified``
    a watermark is read but the content does not match its record's output (or matches the photo
    the output was made from): possibly a copied mark. Shown with both figures; never the basis of
    a takedown without an explicit override.
``no_match``
    neither. Images that match only a record's *target* (the photo a swap was made from) are listed
    as related, never as a hit: the victim's own photo must not be tied to the swap.

Candidates come from the persisted :class:`~fusionguard.trace_index.TraceIndex` (whole-image PDQ
plus ORB feature tables); each is re-checked against its stored fingerprint, whose SHA-256 the
signed record carries.

    tracer = Tracer(log, codec, index_dir=settings.home / "trace-index")
    result = tracer.trace(load_image("leak.jpg").rgb, "leak.jpg")
    result.verdict, result.matches[0].record_id
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np

from fusionguard.audit.checkpoint import verify_checkpoint
from fusionguard.audit.log import AuditLog, StoredRecord
from fusionguard.audit.record import format_watermark_id
from fusionguard.content_fingerprint import Comparison, ContentFingerprint, QueryFeatures
from fusionguard.errors import FusionGuardError, NotFound, Problem, TamperDetected
from fusionguard.fingerprint import MATCH_DISTANCE, MIN_QUALITY, PdqHash, PdqIndex
from fusionguard.trace_index import TraceIndex, load_fingerprints
from fusionguard.watermark import WatermarkCodec
from fusionguard.watermark.codec import MIN_DETECT_SIZE

Verdict = Literal["verified", "fingerprint", "unverified", "no_match"]

#: ``fusionguard trace`` exit codes per verdict.
EXIT_CODES: Final[dict[str, int]] = {"verified": 0, "fingerprint": 0, "unverified": 4, "no_match": 3}
#: One line per verdict, for people.
MEANINGS: Final[dict[str, str]] = {
    "verified": "verified: the watermark names this record and the image's content matches its released "
    "output",
    "fingerprint": "fingerprint match: no readable watermark, but the content matches this record's "
    "released output (a fingerprint finds a record, it does not prove the image came from it)",
    "unverified": "UNVERIFIED: a watermark is read but the content does not match its record's output "
    "(possibly a copied mark); not a basis for a takedown",
    "no_match": "no match: no readable watermark and no released output with this content",
}


@dataclass(frozen=True)
class TraceMatch:
    method: str  # "watermark" or "fingerprint"
    record_id: str
    seq: int
    watermark_id: str | None
    false_alarm_probability: float | None = None
    pdq_distance: int | None = None
    taken_down: bool = False
    #: Whether the log's signed head covers the record, so ``audit proof`` can prove its inclusion.
    proof_available: bool = False
    #: Which picture the content matched: "output", "target" (the photo the output was made from),
    #: "either" (the image does not show where they differ), None (the content did not match).
    matched: str | None = None
    content: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class TraceResult:
    source: str
    matches: tuple[TraceMatch, ...] = ()
    note: str = ""
    pdq_quality: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    #: None when the caller did not judge the content (e.g. a video trace): then derived, conservatively,
    #: as "unverified" for a watermark match (its content was not checked), "fingerprint" for a
    #: fingerprint match and "no_match" otherwise.
    verdict: Verdict | None = None
    #: Records whose *target* (not output) the image matches: never a hit, said for context.
    related: tuple[TraceMatch, ...] = ()

    def __post_init__(self) -> None:
        if self.verdict is None:
            derived: Verdict = "no_match"
            if self.matches:
                derived = "unverified" if self.matches[0].method == "watermark" else "fingerprint"
            object.__setattr__(self, "verdict", derived)

    @property
    def found(self) -> bool:
        return self.verdict in ("verified", "fingerprint")

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[str(self.verdict)]

    @property
    def meaning(self) -> str:
        return MEANINGS[str(self.verdict)]

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "verdict": self.verdict,
            "meaning": self.meaning,
            "found": self.found,
            "matches": [m.to_json() for m in self.matches],
            "related": [m.to_json() for m in self.related],
            "note": self.note,
            "pdq_quality": self.pdq_quality,
            **({"details": self.details} if self.details else {}),
        }


def _rank(match: TraceMatch) -> tuple[int, int]:
    return (-int(match.content.get("feature_inliers") or 0), match.pdq_distance or 256)


class Tracer:
    """Traces images against one log. ``index_dir``: where the persisted index lives (the CLI uses
    ``<home>/trace-index``); without it the index is built in memory from the database."""

    def __init__(self, log: AuditLog, codec: WatermarkCodec, index_dir: Path | None = None) -> None:
        self.log = log
        self.codec = codec
        self.index_dir = index_dir
        self._index: PdqIndex | None = None
        self._trace_index: TraceIndex | None = None
        self._provable_size: int | None = None

    def _provable(self, seq: int) -> bool:
        """Whether an inclusion proof can be made for ``seq``: a head that verifies covers it."""
        if self._provable_size is None:
            try:
                origin, _, note = self.log.state()
                head = verify_checkpoint(note, self.log.ring, origin=origin) if note else None
                self._provable_size = head.tree_size if head is not None else 0
            except FusionGuardError:
                self._provable_size = 0
        return seq < self._provable_size

    def refresh(self) -> None:
        """Forget the candidate index and the signed head read so far: the next trace reopens them and
        sees the records appended since (a long-lived tracer, as the console's, calls this)."""
        self._trace_index = None
        self._provable_size = None

    def trace_index(self) -> TraceIndex:
        """The candidate index, opened once per tracer (persisted files plus the records since)."""
        if self._trace_index is None:
            origin = self.log.state()[0]
            if self.index_dir is not None:
                self._trace_index = TraceIndex.open(self.index_dir, self.log.engine, origin)
            else:
                self._trace_index = TraceIndex.in_memory(self.log.engine, origin)
        return self._trace_index

    def pdq_index(self) -> PdqIndex:
        """All outputs' whole-image PDQ hashes by sequence number, loaded once per tracer."""
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

    def _compare(self, query: QueryFeatures, records: list[StoredRecord]) -> dict[str, Comparison]:
        """Each record's stored fingerprint (checked against the signed record) against the query."""
        blobs = load_fingerprints(self.log.engine, [r.record.record_id for r in records])
        found: dict[str, Comparison] = {}
        for stored in records:
            output = stored.record.output
            if output is None:
                continue
            blob = blobs.get(stored.record.record_id)
            if output.fingerprint is not None:
                if blob is None or hashlib.sha256(blob).hexdigest() != output.fingerprint:
                    raise TamperDetected(
                        [
                            Problem(
                                "edited fingerprint",
                                "the stored content fingerprint is missing or does not match the "
                                "signed record's hash; run 'fusionguard audit verify'",
                                (stored.seq,),
                            )
                        ]
                    )
                found[stored.record.record_id] = ContentFingerprint.from_bytes(blob).compare(query)
            elif output.pdq is not None:  # a record from before content fingerprints: whole image only
                reference = PdqHash.from_hex(output.pdq, output.pdq_quality or 0)
                distance = min(h.distance(reference) for h in query.pdq)
                usable = query.pdq_quality >= MIN_QUALITY and reference.quality >= MIN_QUALITY
                near = usable and distance <= MATCH_DISTANCE
                found[stored.record.record_id] = Comparison(
                    near, distance, None, 0, matched="either" if near else None
                )
        return found

    def _match(
        self, method: str, stored: StoredRecord, comparison: Comparison | None, fa: float | None = None
    ) -> TraceMatch:
        output = stored.record.output
        return TraceMatch(
            method,
            stored.record.record_id,
            stored.seq,
            output.watermark_id if output else None,
            false_alarm_probability=fa,
            pdq_distance=comparison.pdq_distance if comparison else None,
            taken_down=self._taken_down(stored.record.record_id),
            proof_available=self._provable(stored.seq),
            matched=comparison.matched if comparison else None,
            content=comparison.to_json() if comparison else {},
        )

    def trace(self, rgb: np.ndarray, source: str = "image") -> TraceResult:
        query = QueryFeatures.of(rgb)
        notes: list[str] = []
        detection = None
        if min(rgb.shape[:2]) >= MIN_DETECT_SIZE:
            detection = self.codec.detect(rgb)
        else:
            notes.append(
                f"image is {rgb.shape[1]}x{rgb.shape[0]}, below the watermark detector's minimum "
                f"{MIN_DETECT_SIZE}x{MIN_DETECT_SIZE}: fingerprint search only"
            )
        marked: StoredRecord | None = None
        if detection is not None:
            watermark_id = format_watermark_id(detection.payload)
            try:
                marked = self.log.get(watermark_id)
            except NotFound:
                notes.append(
                    f"watermark {watermark_id} read (false alarm <= {detection.false_alarm_probability:.1e}) "
                    "but no record in this log carries it"
                )
        # Features first (~1 ms at 1M records); the whole-image scan only when they find nothing.
        index = self.trace_index()
        candidates = [self.log.get(str(seq)) for seq in index.feature_candidates(query)]
        if marked is not None and all(c.seq != marked.seq for c in candidates):
            candidates.insert(0, marked)
        comparisons = self._compare(query, candidates)
        if not any(c.content_match for c in comparisons.values()):
            more = [self.log.get(str(seq)) for seq in index.pdq_candidates(query)]
            more = [c for c in more if all(c.seq != other.seq for other in candidates)]
            comparisons.update(self._compare(query, more))
            candidates += more
        by_content = [
            self._match("fingerprint", c, comparisons[c.record.record_id])
            for c in candidates
            if c.record.record_id in comparisons
            and comparisons[c.record.record_id].content_match
            and (marked is None or c.seq != marked.seq)
        ]
        outputs = sorted((m for m in by_content if m.matched != "target"), key=_rank)
        targets = tuple(sorted((m for m in by_content if m.matched == "target"), key=_rank))
        quality = query.pdq_quality
        if marked is not None and detection is not None:
            comparison = comparisons.get(marked.record.record_id)
            hit = self._match("watermark", marked, comparison, detection.false_alarm_probability)
            if comparison is not None and comparison.content_match and comparison.matched != "target":
                return TraceResult(
                    source, (hit, *outputs), "; ".join(notes), quality, verdict="verified", related=targets
                )
            why = (
                "the content matches the photo this record's output was made from, not the output"
                if comparison is not None and comparison.matched == "target"
                else "the content does not match this record's output"
            )
            return TraceResult(
                source,
                (hit, *outputs),
                "; ".join([*notes, why]),
                quality,
                verdict="unverified",
                related=targets,
            )
        if quality < MIN_QUALITY and not outputs:
            notes.append(f"PDQ quality {quality} is below {MIN_QUALITY}: the whole-image hash was not used")
        if outputs:
            return TraceResult(
                source, tuple(outputs), "; ".join(notes), quality, verdict="fingerprint", related=targets
            )
        if targets:
            notes.append(
                "the image matches the photo a record's output was made from (its target), not an output"
            )
        if not notes:
            notes.append("no match: no readable watermark and no released output with this content")
        return TraceResult(source, (), "; ".join(notes), quality, verdict="no_match", related=targets)
