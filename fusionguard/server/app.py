"""The console's ASGI application: one :class:`Console` (the store, the keys, the policy) behind routes.

The app reads and writes through the same objects the CLI uses: :class:`~fusionguard.audit.log.AuditLog`
(queries, proofs, checkpoints, verification), :mod:`fusionguard.audit.operations` (summaries, takedowns),
:class:`~fusionguard.trace.Tracer` and the consent registry. Nothing here re-implements a check or a query.

    app = create_app(ConsoleConfig(settings=Settings.resolve("~/.fusionguard")))
    uvicorn.run(app, host="127.0.0.1", port=8700)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog
from fusionguard.config import Clock, Settings, utc_now
from fusionguard.policy import Policy
from fusionguard.server.accounts import Accounts, RateLimit
from fusionguard.server.verification import VerifyJob

HERE = Path(__file__).parent
DEFAULT_MAX_UPLOAD = 20 * 1024 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class ConsoleConfig:
    settings: Settings
    policy: Policy = field(default_factory=lambda: Policy.named("default"))
    # Secure cookies are sent over HTTPS only; browsers also accept them from http://127.0.0.1 and
    # http://localhost. Turn off only for a plain-HTTP test client on a non-loopback name.
    secure_cookies: bool = True
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    rate_limit: RateLimit = field(default_factory=RateLimit)
    clock: Clock = utc_now


class Console:
    """What every route needs, opened once per server process."""

    def __init__(self, config: ConsoleConfig) -> None:
        self.config = config
        settings = config.settings
        self.settings = settings
        self.clock = config.clock
        self.policy = config.policy
        self.ring = KeyRing.load(settings.keys_dir)
        self.log = AuditLog.open(settings.db_url, self.ring, witness_path=settings.witness_path)
        self.accounts = Accounts(self.log.engine, rate_limit=config.rate_limit)
        self.verify_job = VerifyJob(self.log)
        self._registry: Any = None
        self._tracing: Any = None
        self._lock = threading.Lock()
        self.templates = Environment(
            loader=FileSystemLoader(str(HERE / "templates")),
            autoescape=select_autoescape(["html", "svg"], default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def registry(self) -> Any:
        with self._lock:
            if self._registry is None:
                from fusionguard.registry import ConsentRegistry
                from fusionguard.registry.identity_keys import IdentityKeyStore

                # with the log: every consent change is also a signed consent record (as in the CLI)
                self._registry = ConsentRegistry(
                    self.log.engine,
                    keys=IdentityKeyStore(self.settings.identity_keys_dir),
                    log=self.log,
                    clock=self.clock,
                )
            return self._registry

    def tracing(self) -> Any:
        with self._lock:
            if self._tracing is None:
                from fusionguard.server.tracing import TraceService

                self._tracing = TraceService(self)
            return self._tracing

    def warm_up(self) -> None:
        # a failure here is raised again, to its caller, by the first trace request
        with contextlib.suppress(Exception):
            self.tracing().tracer()

    def close(self) -> None:
        self.verify_job.wait()
        self.log.close()


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
]


class SecurityHeaders:
    """Every response, static files included: no sniffing, no framing, only the app's own assets."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(config: ConsoleConfig) -> Starlette:
    from fusionguard.server import api, pages, rendering

    console = Console(config)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Load the tracer's PDQ index (every output's hash: seconds at 1,000,000 records) before the
        # first trace request asks for it; a request that comes sooner waits for the same load.
        threading.Thread(target=console.warm_up, name="fusionguard-warm-up", daemon=True).start()
        try:
            yield
        finally:
            console.close()

    app = Starlette(
        routes=[
            *pages.routes(),
            *api.routes(),
            Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
        ],
        exception_handlers=rendering.exception_handlers(),
        lifespan=lifespan,
    )
    app.state.console = console
    app.add_middleware(SecurityHeaders)
    return app
