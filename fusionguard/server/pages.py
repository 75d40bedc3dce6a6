"""The console's pages: server-rendered HTML (Jinja2, autoescaped), forms with CSRF tokens.

Roles: ``viewer`` and ``admin`` see every page; only ``admin`` files takedowns, changes consents,
stores checkpoints and starts verification. ``platform`` accounts have no pages (API tokens only).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import (
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from fusionguard.audit.log import StoredRecord
from fusionguard.audit.operations import file_takedown, record_summary, takedowns_of
from fusionguard.audit.verify import checkpoint_summary
from fusionguard.errors import (
    BadInput,
    NotFound,
)
from fusionguard.server import stats
from fusionguard.server.auth import (
    ANY_CONSOLE,
    Body,
    Principal,
    endpoint,
)
from fusionguard.server.filters import FILTER_NAMES, check_record_key, export_batches, parse_filters
from fusionguard.server.rendering import ADMIN, notice, render

# -- dashboard ----------------------------------------------------------------------------------


TAKEDOWN_NOTICE = re.compile(r"^takedown recorded as seq \d+$")


@endpoint(ANY_CONSOLE)
def dashboard(request: Request, principal: Principal, body: Body) -> Response:
    console = request.app.state.console
    figures = stats.dashboard(console.log, now=console.clock())
    head = checkpoint_summary(figures["head"]) if figures["head"] else None
    last = figures["last_checkpoint"]
    return render(
        request,
        "dashboard.html",
        principal,
        figures=figures,
        head=head,
        last_checkpoint=checkpoint_summary(last[2]) if last else None,
        per_day_chart=stats.bar_chart(figures["days"]),
        reasons_chart=stats.hbar_chart(figures["reasons"]),
        colours=stats.COLOURS,
        verification=console.verify_job.snapshot(),
        witnessing=stats.witnessing(console.settings.home, console.log, now=console.clock()),
    )


# -- records ------------------------------------------------------------------------------------


@endpoint(ANY_CONSOLE)
def records(request: Request, principal: Principal, body: Body) -> Response:
    console = request.app.state.console
    filters, given = parse_filters(request.query_params)
    rows = [record_summary(s) for s in console.log.query(filters)]
    query = urlencode(given)
    next_link = None
    if filters.limit is not None and len(rows) == filters.limit:
        next_link = "/records?" + urlencode({**given, "limit": filters.limit, "before": rows[-1]["seq"]})
    return render(
        request,
        "records.html",
        principal,
        rows=rows,
        given=given,
        limit=filters.limit,
        next_link=next_link,
        first_link="/records?" + query if filters.before_seq is not None else None,
        export_query=query,
    )


def _export_rows(request: Request) -> Iterator[StoredRecord]:
    filters, _ = parse_filters({k: v for k, v in request.query_params.items() if k in FILTER_NAMES})
    return export_batches(request.app.state.console.log, filters)


@endpoint(ANY_CONSOLE)
def export_jsonl(request: Request, principal: Principal, body: Body) -> Response:
    rows = _export_rows(request)

    def lines() -> Iterator[str]:
        for stored in rows:
            yield json.dumps(stored.envelope, sort_keys=True, separators=(",", ":")) + "\n"

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"content-disposition": 'attachment; filename="records.jsonl"'},
    )


CSV_COLUMNS = (
    "seq",
    "record_id",
    "kind",
    "decision",
    "timestamp",
    "model",
    "license",
    "watermark_id",
    "identities",
    "refers_to",
)


def _csv_cell(value: Any) -> str:
    text = " ".join(value) if isinstance(value, list) else "" if value is None else str(value)
    # A spreadsheet runs a cell that starts with = + - @ as a formula: quote it as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@endpoint(ANY_CONSOLE)
def export_csv(request: Request, principal: Principal, body: Body) -> Response:
    rows = _export_rows(request)

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for stored in rows:
            summary = record_summary(stored)
            writer.writerow([_csv_cell(summary[c]) for c in CSV_COLUMNS])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        lines(), media_type="text/csv", headers={"content-disposition": 'attachment; filename="records.csv"'}
    )


@endpoint(ANY_CONSOLE)
def record_detail(request: Request, principal: Principal, body: Body) -> Response:
    console = request.app.state.console
    stored = console.log.get(check_record_key(request.path_params["key"]))
    takedowns = takedowns_of(console.log, stored.record.record_id) if stored.record.kind == "run" else []
    referred = None
    if stored.record.refers_to:
        try:
            referred = record_summary(console.log.get(stored.record.refers_to))
        except NotFound:
            referred = None
    return render(
        request,
        "record.html",
        principal,
        stored=stored,
        record=stored.record.to_json(),
        summary=record_summary(stored),
        takedowns=[t.record.to_json() for t in takedowns],
        referred=referred,
        envelope=json.dumps(stored.envelope, indent=2, sort_keys=True),
        message=notice(request, TAKEDOWN_NOTICE),
    )


@endpoint(ANY_CONSOLE)
def record_proof(request: Request, principal: Principal, body: Body) -> Response:
    console = request.app.state.console
    stored = console.log.get(check_record_key(request.path_params["key"]))
    proof = console.log.inclusion_proof(stored.record.record_id)
    return Response(
        json.dumps(proof, indent=2, sort_keys=True) + "\n",
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="proof-{stored.record.record_id}.json"'},
    )


@endpoint(ADMIN)
def takedown(request: Request, principal: Principal, body: Body) -> Response:
    console = request.app.state.console
    key = check_record_key(request.path_params["key"])
    receipt = file_takedown(
        console.log, key, body.get("reason"), actor=principal.username, now=console.clock()
    )
    target = console.log.get(key).record.record_id
    message = urlencode({"message": f"takedown recorded as seq {receipt.seq}"})
    return RedirectResponse(f"/records/{target}?{message}", status_code=303)


# -- trace --------------------------------------------------------------------------------------


@endpoint(ANY_CONSOLE)
def trace_page(request: Request, principal: Principal, body: Body) -> Response:
    return render(
        request,
        "trace.html",
        principal,
        result=None,
        max_upload=request.app.state.console.config.max_upload_bytes,
    )


@endpoint(ANY_CONSOLE, max_body=-1)
def trace_upload(request: Request, principal: Principal, body: Body) -> Response:
    console = request.app.state.console
    upload = body.files.get("image")
    if upload is None or not upload[1]:
        raise BadInput("choose an image file to trace")
    result = console.tracing().trace(upload[1], upload[0])
    return render(request, "trace.html", principal, result=result, max_upload=console.config.max_upload_bytes)


def routes() -> list[Route]:
    from fusionguard.server import admin_pages, login

    return [
        Route("/login", login.login_page, methods=["GET"]),
        Route("/login", login.login, methods=["POST"]),
        Route("/logout", login.logout, methods=["POST"]),
        Route("/password", login.password_page, methods=["GET"]),
        Route("/password", login.password_change, methods=["POST"]),
        Route("/", dashboard, methods=["GET"]),
        Route("/records", records, methods=["GET"]),
        Route("/records/export.jsonl", export_jsonl, methods=["GET"]),
        Route("/records/export.csv", export_csv, methods=["GET"]),
        Route("/records/{key}", record_detail, methods=["GET"]),
        Route("/records/{key}/proof", record_proof, methods=["GET"]),
        Route("/records/{key}/takedown", takedown, methods=["POST"]),
        Route("/trace", trace_page, methods=["GET"]),
        Route("/trace", trace_upload, methods=["POST"]),
        Route("/consent", admin_pages.consent_list, methods=["GET"]),
        Route("/consent/{identity}", admin_pages.consent_show, methods=["GET"]),
        Route("/consent/{identity}/revoke", admin_pages.consent_revoke, methods=["POST"]),
        Route("/consent/{identity}/erase", admin_pages.consent_erase_page, methods=["GET"]),
        Route("/consent/{identity}/erase", admin_pages.consent_erase, methods=["POST"]),
        Route("/checkpoints", admin_pages.checkpoints, methods=["GET"]),
        Route("/checkpoints", admin_pages.checkpoint_now, methods=["POST"]),
        Route("/checkpoints/{size:int}.note", admin_pages.checkpoint_export, methods=["GET"]),
        Route("/verify", admin_pages.verify_page, methods=["GET"]),
        Route("/verify", admin_pages.verify_start, methods=["POST"]),
        Route("/verify/status", admin_pages.verify_status, methods=["GET"]),
    ]
