"""What ``fusionguard trace``, ``trace-index`` and ``audit takedown --image`` do (cli.py stays thin).

code = run_trace(settings, log, Path("leak.jpg"), as_json=False)
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from fusionguard.audit.log import AuditLog, StoredRecord
from fusionguard.config import Settings
from fusionguard.errors import FusionGuardError, PolicyViolation, Reason, TamperDetected
from fusionguard.media import load_image, sha256_hex
from fusionguard.provenance.trace_c2pa import trace_bytes
from fusionguard.trace import EXIT_CODES, MEANINGS, TraceMatch, Tracer, TraceResult
from fusionguard.trace_index import TraceIndex

INDEX_DIR = "trace-index"


def tracer_for(settings: Settings, log: AuditLog) -> Tracer:
    from fusionguard.guard import load_watermark_key
    from fusionguard.watermark import WatermarkCodec

    codec = WatermarkCodec(load_watermark_key(settings.keys_dir))
    return Tracer(log, codec, index_dir=settings.home / INDEX_DIR)


def _describe(match: TraceMatch) -> str:
    content = match.content
    parts = []
    if match.method == "watermark":
        parts.append(f"watermark {match.watermark_id}, false alarm <= {match.false_alarm_probability:.1e}")
    if content:
        if content.get("content_match"):
            which = {
                "output": "matches its released output",
                "either": "matches its output or the photo it was made from (the image does not show "
                "where they differ)",
                "target": "matches the photo it was made from (its target), NOT its output",
            }[str(match.matched)]
            parts.append(f"content {which}")
        else:
            parts.append("content does NOT match its output")
        parts.append(
            f"PDQ distance {content.get('pdq_distance')}, feature inliers {content.get('feature_inliers')}"
        )
        if content.get("changed_region_distance_output") is not None:
            parts.append(
                f"changed region distance output {content['changed_region_distance_output']} / "
                f"target {content['changed_region_distance_target']}"
            )
    taken = ", TAKEN DOWN" if match.taken_down else ""
    return f"record {match.record_id} (seq {match.seq}): " + "; ".join(parts) + taken


def _echo(result: dict[str, Any], matches: list[TraceMatch], related: list[TraceMatch]) -> None:
    click.echo(f"{result['source']}: {result['meaning']}")
    if result.get("note") and result["note"] != result["meaning"]:
        click.echo(f"  note: {result['note']}")
    for match in matches:
        click.echo(f"  {_describe(match)}")
    for match in related:
        click.echo(f"  related (not a hit): {_describe(match)}")


def run_trace(settings: Settings, log: AuditLog, path: Path, as_json: bool) -> int:
    """Trace a file or every file of a directory; returns the exit code (0, 3 or 4)."""
    tracer = tracer_for(settings, log)
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    files = [f for f in files if f.suffix != ".c2pa"]  # C2PA sidecars are read with their image
    results: list[dict[str, Any]] = []
    codes: list[int] = []
    for file in files:
        try:
            from fusionguard.video.probe import looks_like_video

            if looks_like_video(file):  # videos (animated images too) are traced across frames
                traced = trace_clip(tracer, file)
            else:
                # A C2PA manifest (embedded, or a <file>.c2pa sidecar) is a fast path, checked
                # against the log; without one, the watermark and fingerprint decide as before.
                side = file.with_name(file.name + ".c2pa")
                sidecar = side.read_bytes() if side.is_file() else None
                traced = trace_bytes(tracer, file.read_bytes(), str(file), sidecar)
        except TamperDetected:
            raise
        except FusionGuardError as error:
            data = {"source": str(file), "verdict": "no_match", "found": False, "matches": []}
            results.append({**data, "meaning": MEANINGS["no_match"], "note": f"error: {error}"})
            codes.append(EXIT_CODES["no_match"])
            if not as_json:
                click.echo(f"{file}: error: {error}")
            continue
        data = traced.to_json()
        results.append(data)
        codes.append(traced.exit_code)
        if not as_json:
            _echo(data, list(traced.matches), list(traced.related))
    code = 0
    if EXIT_CODES["unverified"] in codes:
        code = EXIT_CODES["unverified"]
    elif codes and all(c == EXIT_CODES["no_match"] for c in codes):
        code = EXIT_CODES["no_match"]
    if as_json:  # an object with "ok", as every --json output
        data = {"ok": code == 0, "results": results} if path.is_dir() else {"ok": code == 0, **results[0]}
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    return code


def trace_clip(tracer: Tracer, file: Path) -> TraceResult:
    """A clip's trace with a verdict: a watermark hit is verified only when the clip's per-second
    fingerprints (vPDQ) also match that record's, as for an image's content fingerprint."""
    from fusionguard.policy import Policy
    from fusionguard.video.probe import probe_video
    from fusionguard.video.trace import _by_fingerprint, trace_video

    rules = Policy.default().video
    result = trace_video(tracer, file, rules)
    if result.matches and result.matches[0].method == "watermark":
        info = probe_video(file, rules, label=file.name)
        content = _by_fingerprint(tracer, info, rules, str(file))
        agrees = any(m.record_id == result.matches[0].record_id for m in content.matches)
        note = "" if agrees else "the clip's per-second fingerprints do not match this record's"
        return replace(result, verdict="verified" if agrees else "unverified", note=note)
    return result


def takedown_evidence(
    settings: Settings, log: AuditLog, image: Path, record: StoredRecord, override: str | None
) -> dict[str, Any]:
    """Trace the reported image; the takedown data when it supports taking down ``record``.

    Refused (:class:`PolicyViolation`, exit 3) when the image does not trace to the record, and when
    its trace is ``unverified`` unless ``override`` gives the admin's reason.
    """
    loaded = load_image(image)
    result: TraceResult = tracer_for(settings, log).trace(loaded.rgb, str(image))
    record_id = record.record.record_id
    named = [m for m in result.matches if m.record_id == record_id]
    evidence: dict[str, Any] = {
        "image_sha256": sha256_hex(image.read_bytes()),
        "verdict": result.verdict,
        "match": named[0].to_json() if named else None,
    }

    def refuse(detail: str) -> PolicyViolation:
        return PolicyViolation([Reason("takedown", "image", detail, {"verdict": result.verdict})])

    if not named:
        raise refuse(
            f"{image} does not trace to record {record_id} (verdict {result.verdict}); nothing recorded"
        )
    if result.verdict == "unverified":
        if not override:
            raise refuse(
                f"{image}'s trace is unverified (a watermark naming record {record_id} on content that does "
                "not match its output: possibly a copied mark); pass --override-unverified REASON to take "
                "it down anyway; nothing recorded"
            )
        evidence["override_unverified"] = override
    return {"trace": evidence}


def index_command(settings: Settings, log: AuditLog, *, rebuild: bool, verify: bool) -> int:
    directory = settings.home / INDEX_DIR
    origin = log.state()[0]
    if rebuild:
        count = TraceIndex.rebuild(directory, log.engine, origin)
        click.echo(f"rebuilt {directory}: {count} records")
    index = TraceIndex.open(directory, log.engine, origin, auto_rebuild=not verify)
    persisted = len(index.persisted.seqs) if index.persisted is not None else 0
    click.echo(
        f"{directory}: {persisted} records persisted (up to seq {index.last_seq}), "
        f"{len(index.tail.seqs)} appended since"
    )
    if verify:
        problems = index.verify(log.engine)
        for problem in problems:
            click.echo(f"problem: {problem}", err=True)
        if problems:
            click.echo("run 'fusionguard trace-index --rebuild'", err=True)
            return 3
        click.echo("ok: the index agrees with the database")
    return 0
