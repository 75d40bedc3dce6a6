"""Logging in and out, and changing one's own password.

The login form has its own CSRF token (a double-submit cookie: there is no session yet); a failed login
counts towards the per-account and per-client limits; a successful one sets a fresh session cookie
(``Secure``, ``HttpOnly``, ``SameSite=Strict``). A printed (one-time) password must be replaced here
before any other page opens.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    RedirectResponse,
    Response,
)

from fusionguard.errors import (
    AuthError,
    BadInput,
    RateLimited,
)
from fusionguard.server import actions
from fusionguard.server.auth import (
    ANY_CONSOLE,
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    MAX_FORM,
    SESSION_COOKIE,
    Body,
    Forbidden,
    Principal,
    endpoint,
    parse_body,
    read_body,
)
from fusionguard.server.rendering import render


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
