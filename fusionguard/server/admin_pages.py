"""The console's registry, checkpoint and verification pages (changes need the ``admin`` role)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)

from fusionguard.audit.verify import checkpoint_summary
from fusionguard.errors import (
    BadInput,
    NotFound,
)
from fusionguard.server import actions
from fusionguard.server.auth import (
    ANY_CONSOLE,
    Body,
    Principal,
    endpoint,
)
from fusionguard.server.rendering import ADMIN, notice, render

# -- consent ------------------------------------------------------------------------------------


CONSENT_NOTICE = re.compile(r"^(?:revoked \d+ consent\(s\)|erased)$")


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
        message=notice(request, CONSENT_NOTICE),
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
