"""The dashboard's figures, read from the audit tables, and its charts as server-rendered SVG.

Aggregates only (counts by day and decision, reasons of recent blocked runs): every record shown
anywhere else comes from :meth:`AuditLog.query` / :meth:`AuditLog.get`, as in the CLI.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import func, select

from fusionguard.audit.canonical import parse_json_object
from fusionguard.audit.log import AuditLog
from fusionguard.audit.reader import naive_utc
from fusionguard.audit.record import CONSENT_ACTIONS
from fusionguard.store.models import AuditRow

DECISIONS = ("allowed", "blocked", "takedown", "consent", "admin")  # consent: its four actions
COLOURS = {
    "allowed": "#2f7d4a",
    "blocked": "#b3362b",
    "takedown": "#d08a1c",
    "consent": "#2a8a8a",
    "admin": "#5964a8",
}
REASON_SAMPLE = 5000


@dataclass(frozen=True)
class DayCounts:
    day: date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def per_day(log: AuditLog, *, now: datetime, days: int = 30) -> list[DayCounts]:
    """Records per day and decision over the last ``days`` days (UTC), every day present."""
    start = naive_utc(now).date() - timedelta(days=days - 1)
    start_naive = datetime(start.year, start.month, start.day)
    day = func.date(AuditRow.created_at)
    query = (
        select(day, AuditRow.decision, func.count())
        .where(AuditRow.created_at >= start_naive)
        .group_by(day, AuditRow.decision)
    )
    found: dict[date, dict[str, int]] = {}
    with log.engine.connect() as connection:
        for when, decision, count in connection.execute(query):
            key = when if isinstance(when, date) else date.fromisoformat(str(when))
            bucket = "consent" if decision in CONSENT_ACTIONS else str(decision)
            day_counts = found.setdefault(key, {})
            day_counts[bucket] = day_counts.get(bucket, 0) + int(count)
    return [
        DayCounts(start + timedelta(days=i), found.get(start + timedelta(days=i), {})) for i in range(days)
    ]


def top_block_reasons(log: AuditLog, *, limit: int = 8) -> list[tuple[str, int]]:
    """The most frequent reasons among the latest blocked runs, by check and role."""
    query = (
        select(AuditRow.envelope)
        .where(AuditRow.decision == "blocked")
        .order_by(AuditRow.seq.desc())
        .limit(REASON_SAMPLE)
    )
    counter: Counter[str] = Counter()
    with log.engine.connect() as connection:
        for (envelope,) in connection.execute(query):
            record = parse_json_object(envelope)["record"]
            for reason in record.get("reasons", []):
                subject = str(reason.get("subject", "")).split("[", 1)[0]
                counter[
                    f"{reason.get('check', '?')}: {subject}" if subject else str(reason.get("check"))
                ] += 1
    return counter.most_common(limit)


def dashboard(log: AuditLog, *, now: datetime) -> dict[str, Any]:
    origin, size, head = log.state()
    checkpoints = log.checkpoints()
    return {
        "origin": origin,
        "size": size,
        "head": head,
        "days": per_day(log, now=now),
        "reasons": top_block_reasons(log),
        "last_checkpoint": checkpoints[-1] if checkpoints else None,
        "checkpoint_count": len(checkpoints),
    }


def witnessing(home: Path, log: AuditLog, *, now: datetime) -> dict[str, Any] | None:
    """Cosigning figures for the dashboard (from the stored cosignatures; the witnesses are not asked),
    or None when the home configures no witnesses."""
    from fusionguard.witness.config import load_witnessing
    from fusionguard.witness.report import witness_report

    configured = load_witnessing(home)
    if configured is None:
        return None
    report = witness_report(log, configured.policy, online=False, newest_only=True)
    return {**report.to_json(now), "problems": [str(p) for p in report.problems]}


# -- charts ---------------------------------------------------------------------------------------


def bar_chart(days: list[DayCounts], *, width: int = 720, height: int = 220) -> Markup:
    """Stacked bars, one per day, coloured by decision; every label escaped."""
    left, bottom, top = 40, 28, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max((d.total for d in days), default=0) or 1
    step = plot_w / max(len(days), 1)
    parts = [
        f'<svg class="chart" role="img" aria-label="records per day by decision" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" class="axis"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" class="tick">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" class="tick">0</text>',
    ]
    for i, day in enumerate(days):
        x = left + i * step + step * 0.15
        y = float(top + plot_h)
        for decision in DECISIONS:
            count = day.counts.get(decision, 0)
            if not count:
                continue
            h = plot_h * count / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[decision]}" data-decision="{decision}">'
                f"<title>{escape(day.day.isoformat())}: {count} {decision}</title></rect>"
            )
        if i % 5 == 0 or i == len(days) - 1:
            parts.append(
                f'<text x="{x + step * 0.35:.1f}" y="{height - 10}" text-anchor="middle" class="tick">'
                f"{escape(day.day.strftime('%m-%d'))}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def hbar_chart(items: list[tuple[str, int]], *, width: int = 720) -> Markup:
    """Horizontal bars for the top block reasons."""
    row, label_w = 24, 220
    height = max(len(items), 1) * row + 8
    peak = max((n for _, n in items), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" aria-label="top block reasons" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, count) in enumerate(items):
        y = 4 + i * row
        w = (width - label_w - 60) * count / peak
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" class="tick">{escape(label[:40])}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{COLOURS["blocked"]}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" class="tick">{count}</text>'
        )
    if not items:
        parts.append('<text x="8" y="20" class="tick">no blocked runs</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
