"""The console's pages: server-rendered HTML (Jinja2, autoescaped), forms with CSRF tokens.

Roles: ``viewer`` and ``admin`` see every page; only ``admin`` files takedowns, changes consents,
stores checkpoints and starts verification. ``platform`` accounts have no pages (API tokens only).
"""

from __future__ import annotations

import csv
import hmac
import io
import json
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from fusionguard.audit.log import StoredRecord
from fusionguard.audit.operations import file_takedown, record_summary, takedowns_of
from fusionguard.audit.verify import checkpoint_summary
from fusionguard.errors import (
    AuditError,
    AuthError,
    BadInput,
    FusionGuardError,
    NotFound,
    RateLimited,
    TamperDetected,
    UnsupportedMedia,
)
from fusionguard.server import actions, stats
from fusionguard.server.auth import (
    ANY_CONSOLE,
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    MAX_FORM,
    SESSION_COOKIE,
    Body,
    Forbidden,
    PayloadTooLarge,
    Principal,
    authenticate,
    endpoint,
    parse_body,
    read_body,
)
from fusionguard.server.filters import FILTER_NAMES, check_record_key, export_batches, parse_filters

ADMIN = ("admin",)


def render(
    request: Request, name: str, principal: Principal | None, status: int = 200, **context: Any
) -> HTMLResponse:
    console = request.app.state.console
    html = console.templates.get_template(name).render(
        user=principal, csrf=principal.csrf if principal else "", path=request.url.path, **context
    )
    return HTMLResponse(html, status_code=status)


def _safe_next(target: str) -> str:
    """Only a local path: no scheme, no host, no ``//`` (an open redirect would help phishing)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        secure=request.app.state.console.config.secure_cookies,
        samesite="strict",
        path="/",
    )


# -- login --------------------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request, "login.html", None, login_csrf=token, next=_safe_next(request.query_params.get("next", "/"))
    )
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


async def login(request: Request) -> Response:
    body = parse_body(request.headers.get("content-type", ""), await read_body(request, MAX_FORM))
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    offered = body.get(CSRF_FIELD)
    if not cookie or not offered or not hmac.compare_digest(cookie.encode(), offered.encode()):
        raise Forbidden("missing or wrong CSRF token; reload the login page and try again")
    console = request.app.state.console
    remote = request.client.host if request.client else "unknown"
    next_path = _safe_next(body.get("next", "/"))
    try:
        session = await run_in_threadpool(
            console.accounts.login,
            body.get("username").strip().lower(),
            body.get("password"),
            remote=remote,
            now=console.clock(),
        )
    except AuthError as error:
        token = secrets.token_urlsafe(32)
        response = render(
            request,
            "login.html",
            None,
            status=429 if isinstance(error, RateLimited) else 401,
            error=str(error),
            login_csrf=token,
            next=next_path,
        )
        _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
        return response
    redirect = RedirectResponse(next_path, status_code=303)
    _set_cookie(
        request,
        redirect,
        SESSION_COOKIE,
        session.token,
        max_age=int(console.accounts.session_lifetime.total_seconds()),
    )
    redirect.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return redirect


@endpoint(("viewer", "admin", "platform"))
def logout(request: Request, principal: Principal, body: Body) -> Response:
    request.app.state.console.accounts.logout(request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@endpoint(ANY_CONSOLE)
def password_page(request: Request, principal: Principal, body: Body) -> Response:
    return render(request, "password.html", principal, error="")


@endpoint(ANY_CONSOLE)
def password_change(request: Request, principal: Principal, body: Body) -> Response:
    console = request.app.state.console
    if body.get("new") != body.get("confirm"):
        return render(request, "password.html", principal, status=400, error="the two new passwords differ")
    try:
        actions.change_own_password(
            console.log,
            console.accounts,
            principal.username,
            body.get("current"),
            body.get("new"),
            session=request.cookies.get(SESSION_COOKIE, ""),
            now=console.clock(),
        )
    except (AuthError, BadInput) as error:
        return render(request, "password.html", principal, status=400, error=str(error))
    return RedirectResponse("/", status_code=303)


# -- dashboard ----------------------------------------------------------------------------------


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
        message=request.query_params.get("message", "")[:200],
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


# -- consent ------------------------------------------------------------------------------------


@endpoint(ANY_CONSOLE)
def consent_list(request: Request, principal: Principal, body: Body) -> Response:
    console = request.app.state.console
    now = console.clock()
    people = [p.to_json(now) for p in console.registry().identities()]
    return render(request, "consent_list.html", principal, people=people)


def _identity(request: Request) -> str:
    identity = request.path_params["identity"]
    if len(identity) > 64 or not identity.replace("-", "").replace("_", "").isalnum():
        raise NotFound("no such identity")
    return str(identity)


@endpoint(ANY_CONSOLE)
def consent_show(request: Request, principal: Principal, body: Body) -> Response:
    console = request.app.state.console
    identity = _identity(request)
    person = console.registry().show(identity).to_json(console.clock())
    return render(
        request,
        "consent_show.html",
        principal,
        person=person,
        message=request.query_params.get("message", "")[:200],
    )


@endpoint(ADMIN)
def consent_revoke(request: Request, principal: Principal, body: Body) -> Response:
    console = request.app.state.console
    identity = _identity(request)
    role = body.get("role", "all")
    roles = ["source", "target"] if role == "all" else [role]
    count = actions.revoke_consent(
        console.log,
        console.registry(),
        identity,
        roles,
        body.get("reason"),
        actor=principal.username,
        now=console.clock(),
    )
    return RedirectResponse(
        f"/consent/{identity}?" + urlencode({"message": f"revoked {count} consent(s)"}), status_code=303
    )


@endpoint(ADMIN)
def consent_erase_page(request: Request, principal: Principal, body: Body) -> Response:
    console = request.app.state.console
    identity = _identity(request)
    person = console.registry().show(identity).to_json(console.clock())
    return render(request, "consent_erase.html", principal, person=person)


@endpoint(ADMIN)
def consent_erase(request: Request, principal: Principal, body: Body) -> Response:
    console = request.app.state.console
    identity = _identity(request)
    if body.get("confirm").strip() != identity:
        raise BadInput("type the identity ID to confirm the erasure")
    actions.erase_identity(
        console.log,
        console.registry(),
        identity,
        body.get("reason"),
        actor=principal.username,
        now=console.clock(),
    )
    return RedirectResponse(f"/consent/{identity}?" + urlencode({"message": "erased"}), status_code=303)


# -- checkpoints and verification ---------------------------------------------------------------


@endpoint(ANY_CONSOLE)
def checkpoints(request: Request, principal: Principal, body: Body) -> Response:
    console = request.app.state.console
    stored = [
        (size, root.hex(), checkpoint_summary(note))
        for size, root, note in reversed(console.log.checkpoints())
    ]
    head = console.log.state()[2]
    return render(
        request,
        "checkpoints.html",
        principal,
        checkpoints=stored,
        head=head,
        head_summary=checkpoint_summary(head) if head else None,
    )


@endpoint(ANY_CONSOLE)
def checkpoint_export(request: Request, principal: Principal, body: Body) -> Response:
    console = request.app.state.console
    size = request.path_params["size"]
    for tree_size, _, note in console.log.checkpoints():
        if tree_size == size:
            return PlainTextResponse(
                note, headers={"content-disposition": f'attachment; filename="checkpoint-{tree_size}.note"'}
            )
    raise NotFound(f"no stored checkpoint of size {size}")


@endpoint(ADMIN)
def checkpoint_now(request: Request, principal: Principal, body: Body) -> Response:
    request.app.state.console.log.checkpoint()
    return RedirectResponse("/checkpoints", status_code=303)


@endpoint(ANY_CONSOLE)
def verify_page(request: Request, principal: Principal, body: Body) -> Response:
    return render(request, "verify.html", principal, job=request.app.state.console.verify_job.snapshot())


@endpoint(ANY_CONSOLE)
def verify_status(request: Request, principal: Principal, body: Body) -> Response:
    return JSONResponse(request.app.state.console.verify_job.snapshot())


@endpoint(ADMIN)
def verify_start(request: Request, principal: Principal, body: Body) -> Response:
    request.app.state.console.verify_job.start(full=body.get("full") == "on", by=principal.username)
    return RedirectResponse("/verify", status_code=303)


# -- errors ---------------------------------------------------------------------------------------


def status_of(error: Exception) -> int:
    if isinstance(error, RateLimited):
        return 429
    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, AuthError):
        return 401
    if isinstance(error, PayloadTooLarge):
        return 413
    if isinstance(error, UnsupportedMedia):
        return 415
    if isinstance(error, BadInput):
        return 400
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, TamperDetected):
        return 409
    if isinstance(error, AuditError):
        return 503
    return 500


async def on_error(request: Request, error: Exception) -> Response:
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    if isinstance(error, HTTPException):
        status, message = error.status_code, str(error.detail)
    else:
        status = status_of(error)
    if request.url.path.startswith("/api/"):
        headers = {"www-authenticate": "Bearer"} if status == 401 else None
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    principal = None
    if status not in (401, 403):
        try:
            principal = await run_in_threadpool(authenticate, request)
        except AuthError:
            principal = None
    return render(request, "error.html", principal, status=status, status_code=status, message=message)


def exception_handlers() -> dict[Any, Any]:
    return {FusionGuardError: on_error, HTTPException: on_error}


def routes() -> list[Route]:
    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/password", password_page, methods=["GET"]),
        Route("/password", password_change, methods=["POST"]),
        Route("/", dashboard, methods=["GET"]),
        Route("/records", records, methods=["GET"]),
        Route("/records/export.jsonl", export_jsonl, methods=["GET"]),
        Route("/records/export.csv", export_csv, methods=["GET"]),
        Route("/records/{key}", record_detail, methods=["GET"]),
        Route("/records/{key}/proof", record_proof, methods=["GET"]),
        Route("/records/{key}/takedown", takedown, methods=["POST"]),
        Route("/trace", trace_page, methods=["GET"]),
        Route("/trace", trace_upload, methods=["POST"]),
        Route("/consent", consent_list, methods=["GET"]),
        Route("/consent/{identity}", consent_show, methods=["GET"]),
        Route("/consent/{identity}/revoke", consent_revoke, methods=["POST"]),
        Route("/consent/{identity}/erase", consent_erase_page, methods=["GET"]),
        Route("/consent/{identity}/erase", consent_erase, methods=["POST"]),
        Route("/checkpoints", checkpoints, methods=["GET"]),
        Route("/checkpoints", checkpoint_now, methods=["POST"]),
        Route("/checkpoints/{size:int}.note", checkpoint_export, methods=["GET"]),
        Route("/verify", verify_page, methods=["GET"]),
        Route("/verify", verify_start, methods=["POST"]),
        Route("/verify/status", verify_status, methods=["GET"]),
    ]
