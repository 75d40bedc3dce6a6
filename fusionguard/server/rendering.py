"""Rendering pages and errors: one template environment, one status per error type."""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    Response,
)

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
from fusionguard.server.auth import (
    Forbidden,
    PayloadTooLarge,
    Principal,
    authenticate,
)

ADMIN = ("admin",)


def notice(request: Request, allowed: re.Pattern[str]) -> str:
    """The ``message`` a redirect carries, only when it is one the app writes (no injected text)."""
    message = request.query_params.get("message", "")
    return message if allowed.match(message) else ""


def render(
    request: Request, name: str, principal: Principal | None, status: int = 200, **context: Any
) -> HTMLResponse:
    console = request.app.state.console
    html = console.templates.get_template(name).render(
        user=principal, csrf=principal.csrf if principal else "", path=request.url.path, **context
    )
    return HTMLResponse(html, status_code=status)


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
