"""Query-string filters for records: the ``audit list`` options, plus keyset pagination.

``since``, ``until`` (ISO 8601, UTC when no zone is given), ``decision``, ``model``, ``identity``,
``watermark_id``, ``taken_down`` (``yes``/``no``), ``limit`` (page size, 1..500), and the cursor
``before`` (newest first: the page after this one holds seq < before).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from fusionguard.audit.log import AuditLog, Filters, StoredRecord
from fusionguard.errors import BadInput

DECISIONS = ("allowed", "blocked", "takedown", "enrolled", "granted", "revoked", "erased", "admin")
PAGE = 50
MAX_PAGE = 500
_HEX16 = re.compile(r"^[0-9a-fA-F]{16}$")
RECORD_KEY = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{16}|[0-9]{1,15})$")
FILTER_NAMES = ("since", "until", "decision", "model", "identity", "watermark_id", "taken_down")


def check_record_key(key: str) -> str:
    """A record ID (32 hex), watermark ID (16 hex) or sequence number; anything else is refused."""
    key = key.lower()
    if not RECORD_KEY.match(key):
        raise BadInput("a record is named by its record ID (32 hex digits), watermark ID or sequence number")
    return key


def _time(name: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{name}: {value!r} is not an ISO 8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int(name: str, value: str, low: int, high: int) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise BadInput(f"{name} must be a whole number from {low} to {high}")
    return int(value)


def parse_filters(params: Mapping[str, str]) -> tuple[Filters, dict[str, str]]:
    """The filters (newest first, one page) and the non-empty filter values, to rebuild links."""
    given = {k: params[k].strip() for k in FILTER_NAMES if params.get(k, "").strip()}
    decision = given.get("decision")
    if decision is not None and decision not in DECISIONS:
        raise BadInput(f"decision must be one of {', '.join(DECISIONS)}")
    watermark = given.get("watermark_id")
    if watermark is not None and not _HEX16.match(watermark):
        raise BadInput("watermark_id must be 16 hex digits")
    taken = given.get("taken_down")
    if taken is not None and taken not in ("yes", "no"):
        raise BadInput("taken_down must be yes or no")
    for name in ("model", "identity"):
        if len(given.get(name, "")) > 200:
            raise BadInput(f"{name} is longer than 200 characters")
    limit = _int("limit", params["limit"], 1, MAX_PAGE) if params.get("limit") else PAGE
    before = params.get("before", "")
    filters = Filters(
        since=_time("since", given["since"]) if "since" in given else None,
        until=_time("until", given["until"]) if "until" in given else None,
        decision=decision,
        model=given.get("model"),
        identity=given.get("identity"),
        watermark_id=watermark,
        taken_down=None if taken is None else taken == "yes",
        limit=limit,
        before_seq=_int("before", before, 0, 2**62) if before else None,
        newest_first=True,
    )
    return filters, given


def export_batches(log: AuditLog, filters: Filters, *, batch: int = 1000) -> Iterator[StoredRecord]:
    """Every record matching ``filters`` (oldest first), fetched by keyset pages of ``batch``."""
    page = replace(filters, limit=batch, newest_first=False, before_seq=None, after_seq=None)
    while True:
        rows = log.query(page)
        if not rows:
            return
        yield from rows
        if len(rows) < batch:
            return
        page = replace(page, after_seq=rows[-1].seq)
