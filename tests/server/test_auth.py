"""Who may do what: anonymous refusal, roles per route, CSRF, rate limiting, hashed secrets, cookies."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog, Filters
from fusionguard.store.models import ConsoleAccount, ConsoleSession, ConsoleToken
from tests.server.conftest import Seed, csrf_of, login

PAGES = [
    "/",
    "/records",
    "/records/export.jsonl",
    "/records/export.csv",
    "/records/0",
    "/records/0/proof",
    "/trace",
    "/consent",
    "/consent/x",
    "/consent/x/erase",
    "/checkpoints",
    "/checkpoints/4.note",
    "/verify",
    "/verify/status",
]
UNSAFE_PAGES = [
    "/records/0/takedown",
    "/trace",
    "/consent/x/revoke",
    "/consent/x/erase",
    "/checkpoints",
    "/verify",
    "/logout",
]
API = [
    ("GET", "/api/v1/records"),
    ("GET", "/api/v1/records/0"),
    ("GET", "/api/v1/records/0/proof"),
    ("POST", "/api/v1/trace"),
    ("POST", "/api/v1/takedowns"),
]
PUBLIC = [
    "/login",
    "/checkpoint",
    "/keys",
    "/api/v1/openapi.json",
    "/static/console.css",
    "/static/console.js",
]


def _log(seed: Seed) -> AuditLog:
    settings = seed.settings
    return AuditLog.open(settings.db_url, KeyRing.load(settings.keys_dir), witness_path=settings.witness_path)


def _count(seed: Seed) -> int:
    log = _log(seed)
    try:
        return log.count()
    finally:
        log.close()


def test_every_page_and_api_route_refuses_anonymous_access(client: TestClient) -> None:
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path
    for path in UNSAFE_PAGES:
        assert client.post(path, data={"reason": "x"}).status_code == 303, path
    for method, path in API:
        response = client.request(method, path)
        assert response.status_code == 401, path
        assert response.json() == {"error": "authentication required (an API token or a console session)"}
    for path in PUBLIC:
        assert client.get(path).status_code == 200, path


def test_a_wrong_token_or_scheme_is_refused(client: TestClient) -> None:
    assert client.get("/api/v1/records", headers={"authorization": "Bearer fgt_nope"}).status_code == 401
    assert client.get("/api/v1/records", headers={"authorization": "Basic YTpi"}).status_code == 401


def test_viewer_reads_but_cannot_take_down_revoke_or_erase(client: TestClient, seed: Seed) -> None:
    csrf = login(client, "victor", seed.passwords["victor"])
    before = _count(seed)
    assert client.get(f"/records/{seed.traceable}").status_code == 200
    assert "file-takedown" not in client.get(f"/records/{seed.traceable}").text
    refused = [
        client.post(f"/records/{seed.traceable}/takedown", data={"csrf_token": csrf, "reason": "no"}),
        client.post(f"/consent/{seed.identity}/revoke", data={"csrf_token": csrf, "reason": "no"}),
        client.post(
            f"/consent/{seed.identity}/erase",
            data={"csrf_token": csrf, "reason": "no", "confirm": seed.identity},
        ),
        client.get(f"/consent/{seed.identity}/erase"),
        client.post("/verify", data={"csrf_token": csrf}),
        client.post("/checkpoints", data={"csrf_token": csrf}),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert "the viewer role may not do this" in refused[0].text
    api = client.post(
        "/api/v1/takedowns",
        json={"record": seed.traceable, "reason": "no"},
        headers={"authorization": f"Bearer {seed.viewer_token}"},
    )
    assert api.status_code == 403
    assert _count(seed) == before


def test_platform_token_may_trace_and_take_down_only(client: TestClient, seed: Seed) -> None:
    bearer = {"authorization": f"Bearer {seed.token}"}
    assert client.get("/api/v1/records", headers=bearer).status_code == 403
    assert client.get(f"/api/v1/records/{seed.traceable}/proof", headers=bearer).status_code == 403
    assert client.get("/", headers=bearer).status_code == 403
    traced = client.post(
        "/api/v1/trace", files={"image": ("l.jpg", seed.leaked, "image/jpeg")}, headers=bearer
    )
    assert traced.status_code == 200
    taken = client.post(
        "/api/v1/takedowns", json={"record": seed.traceable, "reason": "abuse report 17"}, headers=bearer
    )
    assert taken.status_code == 201
    # a platform account has no password: it cannot log in to the pages
    page = client.get("/login")
    response = client.post(
        "/login", data={"username": "bot", "password": "", "csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 401


def test_forms_without_the_csrf_token_are_refused(client: TestClient, seed: Seed) -> None:
    csrf = login(client, "alice", seed.passwords["alice"])
    before = _count(seed)
    for data in ({"reason": "leak"}, {"reason": "leak", "csrf_token": "forged"}):
        response = client.post(f"/records/{seed.traceable}/takedown", data=data)
        assert response.status_code == 403
        assert "CSRF" in response.text
    assert client.post(f"/consent/{seed.identity}/revoke", data={"reason": "r"}).status_code == 403
    # the session's API use needs the token in a header
    assert client.post("/api/v1/takedowns", json={"record": seed.traceable, "reason": "r"}).status_code == 403
    assert _count(seed) == before
    ok = client.post(f"/records/{seed.traceable}/takedown", data={"reason": "leak", "csrf_token": csrf})
    assert ok.status_code == 303
    assert _count(seed) == before + 1


def test_login_form_needs_its_csrf_token(client: TestClient, seed: Seed) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "alice", "password": seed.passwords["alice"]})
    assert response.status_code == 403
    assert "fg_session" not in response.cookies


def test_login_rate_limit(client: TestClient, seed: Seed) -> None:
    statuses = []
    for _ in range(4):
        page = client.get("/login")
        statuses.append(
            client.post(
                "/login", data={"username": "alice", "password": "wrong", "csrf_token": csrf_of(page.text)}
            ).status_code
        )
    assert statuses == [401, 401, 401, 429]
    page = client.get("/login")
    right = client.post(
        "/login",
        data={"username": "alice", "password": seed.passwords["alice"], "csrf_token": csrf_of(page.text)},
    )
    assert right.status_code == 429
    assert "too many failed logins" in right.text
    # another account is not locked by alice's failures
    login(client, "victor", seed.passwords["victor"])


def test_secrets_are_stored_hashed(seed: Seed) -> None:
    log = _log(seed)
    try:
        with log.engine.connect() as connection:
            hashes = dict(
                connection.execute(select(ConsoleAccount.username, ConsoleAccount.password_hash)).all()
            )
            tokens = connection.execute(select(ConsoleToken.token_hash, ConsoleToken.prefix)).all()
    finally:
        log.close()
    assert hashes["alice"].startswith("scrypt$16384$8$1$")
    assert seed.passwords["alice"] not in hashes["alice"]
    assert hashes["bot"] is None
    assert hashlib.sha256(seed.token.encode()).hexdigest() in {t.token_hash for t in tokens}
    assert all(seed.token != t.token_hash and len(t.prefix) == 10 for t in tokens)


def test_session_cookie_flags_and_stored_session(client: TestClient, seed: Seed) -> None:
    page = client.get("/login")
    assert "HttpOnly" in page.headers["set-cookie"]
    response = client.post(
        "/login",
        data={"username": "alice", "password": seed.passwords["alice"], "csrf_token": csrf_of(page.text)},
    )
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("fg_session="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= flags
    token = cookie.split(";")[0].split("=", 1)[1]
    log = _log(seed)
    try:
        with log.engine.connect() as connection:
            stored = connection.execute(select(ConsoleSession.id_hash)).scalars().all()
    finally:
        log.close()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]


def test_disabling_an_account_ends_its_session_and_tokens(client: TestClient, seed: Seed) -> None:
    from fusionguard.config import utc_now
    from fusionguard.server import actions
    from fusionguard.server.accounts import Accounts

    login(client, "victor", seed.passwords["victor"])
    assert client.get("/").status_code == 200
    log = _log(seed)
    try:
        actions.disable_account(
            log, Accounts(log.engine), "victor", "left the team", actor="root", now=utc_now()
        )
        admin_records = log.query(Filters(decision="admin"))
    finally:
        log.close()
    assert client.get("/").status_code == 303
    bearer = {"authorization": f"Bearer {seed.viewer_token}"}
    assert client.get("/api/v1/records", headers=bearer).status_code == 401
    last = admin_records[-1].record
    assert (last.actor, last.extra, last.reasons[0]["detail"]) == (
        "root",
        {"action": "account.disable", "target": "victor"},
        "left the team",
    )


def test_security_headers_on_pages_api_and_static(client: TestClient) -> None:
    for path in ("/login", "/checkpoint", "/static/console.css"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "script-src 'self'" in headers["content-security-policy"]


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(client: TestClient, seed: Seed, target: str) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": "alice",
            "password": seed.passwords["alice"],
            "csrf_token": csrf_of(page.text),
            "next": target,
        },
    )
    assert response.headers["location"] == "/"


def test_a_printed_password_must_be_changed_at_first_login(client: TestClient, seed: Seed) -> None:
    from fusionguard.config import utc_now
    from fusionguard.server import actions
    from fusionguard.server.accounts import Accounts

    log = _log(seed)
    try:
        printed = actions.add_account(
            log, Accounts(log.engine), "nina", "viewer", "new", actor="root", now=utc_now()
        )
    finally:
        log.close()
    assert printed is not None
    csrf = login(client, "nina", printed)  # the login helper lands on /password's form
    for path in ("/", "/records", f"/records/{seed.traceable}"):
        response = client.get(path)
        assert (response.status_code, response.headers["location"]) == (303, "/password"), path
    assert client.get("/api/v1/records").status_code == 403
    weak = client.post(
        "/password", data={"csrf_token": csrf, "current": printed, "new": "short", "confirm": "short"}
    )
    assert weak.status_code == 400
    assert "at least 12 characters" in weak.text
    wrong = client.post(
        "/password", data={"csrf_token": csrf, "current": "nope", "new": "x" * 12, "confirm": "x" * 12}
    )
    assert "the current password is wrong" in wrong.text
    new = "nina-own-password-2026"
    done = client.post("/password", data={"csrf_token": csrf, "current": printed, "new": new, "confirm": new})
    assert done.status_code == 303
    assert client.get("/").status_code == 200
    client.cookies.clear()
    page = client.get("/login")
    old = client.post(
        "/login", data={"username": "nina", "password": printed, "csrf_token": csrf_of(page.text)}
    )
    assert old.status_code == 401
    login(client, "nina", new)


def test_two_server_processes_share_sessions_limits_and_the_log(seed: Seed) -> None:
    """Two apps on one database (two server processes): a session and a lockout hold on both."""
    from tests.server.conftest import make_client

    with make_client(seed) as first, make_client(seed) as second:
        csrf = login(first, "alice", seed.passwords["alice"])
        second.cookies.update(first.cookies)
        assert second.get("/").status_code == 200
        done = [
            client.post(f"/records/{seed.traceable}/takedown", data={"csrf_token": csrf, "reason": "dup"})
            for client in (first, second)
        ]
        assert done[0].status_code == 303  # the second process sees the first one's takedown in the log
        assert done[1].status_code == 400 and "already taken down" in done[1].text
        for _ in range(5):
            page = first.get("/login")
            first.post(
                "/login", data={"username": "victor", "password": "x", "csrf_token": csrf_of(page.text)}
            )
        page = second.get("/login")
        locked = second.post(
            "/login",
            data={
                "username": "victor",
                "password": seed.passwords["victor"],
                "csrf_token": csrf_of(page.text),
            },
        )
        assert locked.status_code == 429
    log = _log(seed)
    try:
        from fusionguard.audit.verify import verify_log

        assert verify_log(log).ok
        assert log.count() == 17  # one takedown appended, not two
    finally:
        log.close()
