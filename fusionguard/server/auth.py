"""Who is asking, and may they: sessions, API tokens, roles, CSRF, and request bodies read in memory.

Every route is wrapped by :func:`endpoint`, which (in this order) reads the body under a size limit,
authenticates the caller (session cookie, or ``Authorization: Bearer`` API token), refuses a role that is
not allowed, refuses a cookie-authenticated unsafe request without the session's CSRF token, and runs the
handler in a worker thread (the store and the models are blocking code).

Bodies are parsed in memory (``application/x-www-form-urlencoded``, ``multipart/form-data``, JSON), so an
uploaded image never touches the disk.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fusionguard.errors import AuthError, BadInput
from fusionguard.server.accounts import Account

SESSION_COOKIE = "fg_session"
LOGIN_CSRF_COOKIE = "fg_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FORM = 64 * 1024

ANY_CONSOLE = ("viewer", "admin")
PASSWORD_PATHS = ("/password", "/logout")  # all a session with a one-time password may reach


class Forbidden(AuthError):
    """Authenticated, but this role may not do this (403)."""


class PayloadTooLarge(BadInput):
    """The request body is over the limit (413)."""


@dataclass(frozen=True)
class Principal:
    account: Account
    via: str  # "session" or "token"
    csrf: str = ""

    @property
    def username(self) -> str:
        return self.account.username

    @property
    def role(self) -> str:
        return self.account.role


@dataclass
class Body:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    json: Any = None

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)


Handler = Callable[[Request, Principal, Body], Response]


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is {declared} bytes, more than the limit of {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is more than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_body(content_type: str, data: bytes) -> Body:
    kind, _, params = content_type.partition(";")
    kind = kind.strip().lower()
    if not data:
        return Body()
    if kind == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(data.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise BadInput("form data is not UTF-8") from None
        return Body(fields=dict(pairs))
    if kind == "multipart/form-data":
        return _parse_multipart(params, data)
    if kind == "application/json":
        try:
            return Body(json=json.loads(data))
        except (ValueError, UnicodeDecodeError):
            raise BadInput("request body is not valid JSON") from None
    raise BadInput(f"unsupported content type {kind or '(none)'!r}")


def _parse_multipart(params: str, data: bytes) -> Body:
    boundary = ""
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary or len(boundary) > 200:
        raise BadInput("multipart body without a boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    pieces = data.split(delimiter)
    if len(pieces) < 3 or not pieces[-1].startswith(b"--"):
        raise BadInput("multipart body is truncated (no closing boundary)")
    body = Body()
    for piece in pieces[1:-1]:
        if len(body.fields) + len(body.files) >= 20:
            raise BadInput("multipart body has too many parts")
        if not piece.startswith(b"\r\n") or not piece.endswith(b"\r\n"):
            raise BadInput("malformed multipart part")
        head, separator, content = piece[2:-2].partition(b"\r\n\r\n")
        if not separator:
            raise BadInput("malformed multipart part (no header end)")
        disposition: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            header, _, value = line.partition(":")
            if header.strip().lower() == "content-disposition":
                for item in value.split(";")[1:]:
                    key, _, val = item.strip().partition("=")
                    disposition[key.lower()] = val.strip().strip('"')
        name = disposition.get("name", "")
        if not name:
            raise BadInput("multipart part without a name")
        if "filename" in disposition:
            body.files[name] = (disposition["filename"], content)
        else:
            try:
                body.fields[name] = content.decode("utf-8")
            except UnicodeDecodeError:
                raise BadInput(f"form field {name!r} is not UTF-8") from None
    return body


def authenticate(request: Request) -> Principal | None:
    console = request.app.state.console
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("Authorization must be 'Bearer <API token>'")
        return Principal(console.accounts.by_token(token.strip()), "token")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        session = console.accounts.session(cookie, now=console.clock())
    except AuthError:
        return None
    return Principal(session.account, "session", session.csrf)


def csrf_ok(principal: Principal, request: Request, body: Body) -> bool:
    if principal.via != "session":
        return True  # a bearer token is not sent by a browser on its own: no cross-site forgery
    offered = body.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER, "")
    return bool(offered) and hmac.compare_digest(offered.encode(), principal.csrf.encode())


def endpoint(
    roles: tuple[str, ...], *, api: bool = False, max_body: int = MAX_FORM
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a blocking handler: body, authentication, role, CSRF; then run it in a worker thread."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def route(request: Request) -> Response:
            unsafe = request.method not in ("GET", "HEAD")
            principal = await run_in_threadpool(authenticate, request)
            if principal is None:
                if api:
                    raise AuthError("authentication required (an API token or a console session)")
                target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
                return RedirectResponse(f"/login?next={target}", status_code=303)
            if principal.role not in roles:
                raise Forbidden(f"the {principal.role} role may not do this")
            if principal.account.must_change and request.url.path not in PASSWORD_PATHS:
                if api:
                    raise Forbidden("change the one-time password in the console first")
                return RedirectResponse("/password", status_code=303)
            body = Body()
            if unsafe:
                limit = (
                    request.app.state.console.config.max_upload_bytes + MAX_FORM if max_body < 0 else max_body
                )
                raw = await read_body(request, limit)
                body = parse_body(request.headers.get("content-type", ""), raw)
                if not csrf_ok(principal, request, body):
                    raise Forbidden("missing or wrong CSRF token; reload the page and try again")
            return await run_in_threadpool(handler, request, principal, body)

        route.__name__ = handler.__name__
        route.__doc__ = handler.__doc__
        return route

    return wrap
