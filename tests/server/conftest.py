"""A seeded console: a log with run, blocked and traceable records, three accounts, one enrolled person.

``console`` runs on SQLite and on PostgreSQL (``db_url``). The traceable record's output is a real
watermarked image (the home's watermark key) with its real PDQ hash; ``leaked`` is that output
re-encoded as a JPEG, as a leak would be.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette")

from starlette.testclient import TestClient

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog
from fusionguard.audit.record import AuditRecord, InputRef, ModelInfo, OutputRef, PolicyRef
from fusionguard.config import Settings
from fusionguard.faces.base import Embedding
from fusionguard.fingerprint import pdq_hash
from fusionguard.guard import load_watermark_key
from fusionguard.media import encode_image, sha256_hex
from fusionguard.registry import ConsentRegistry
from fusionguard.registry.identity_keys import IdentityKeyStore
from fusionguard.server import actions
from fusionguard.server.accounts import Accounts, RateLimit
from fusionguard.server.app import ConsoleConfig, create_app
from fusionguard.watermark import WatermarkCodec
from tests.audit.records import run_record

WATERMARK = 0x1234ABCD5678EF01
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@dataclass
class Seed:
    settings: Settings
    traceable: str
    blocked: str
    leaked: bytes
    identity: str
    passwords: dict[str, str] = field(default_factory=dict)
    token: str = ""
    viewer_token: str = ""


def portrait() -> np.ndarray:
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut()[:384, 64:448])


def seed_home(home: Path, db_url: str, now: datetime) -> Seed:
    settings = Settings.resolve(home, db_url)
    ring = (
        KeyRing.load(settings.keys_dir)
        if (settings.keys_dir / "ring.json").exists()
        else KeyRing.create(settings.keys_dir, now=now)
    )
    log = AuditLog.open(db_url, ring, witness_path=settings.witness_path, checkpoint_every=4)
    try:
        codec = WatermarkCodec(load_watermark_key(settings.keys_dir))
        marked = codec.embed(portrait(), WATERMARK)
        png = encode_image(marked, "png")
        fingerprint = pdq_hash(marked)
        traceable = AuditRecord(
            kind="run",
            decision="allowed",
            timestamp=now - timedelta(days=1),
            actor="worker-1",
            model=ModelInfo(f"swap{XSS}", "1.0", "apache-2.0"),
            policy=PolicyRef("default", "ab" * 32),
            sources=(InputRef("source", 0, "1" * 64, ("id-alice",), 1),),
            targets=(InputRef("target", 0, "2" * 64, ("id-bob",), 1),),
            output=OutputRef(sha256_hex(png), f"{WATERMARK:016x}", fingerprint.hex(), fingerprint.quality),
        )
        records = [run_record(i, now - timedelta(days=i % 5, hours=1)) for i in range(1, 9)]
        blocked = run_record(20, now - timedelta(hours=2), decision="blocked")
        log.append_many([traceable, *records, blocked])
        buffer = io.BytesIO()
        Image.fromarray(marked).save(buffer, "JPEG", quality=90)
        # the enrolment is itself a signed consent record (seq 10)
        registry = ConsentRegistry(log.engine, keys=IdentityKeyStore(settings.identity_keys_dir), log=log)
        identity = registry.enroll(
            f"Eve {XSS}",
            [Embedding("fake", np.ones(8, dtype=np.float32))],
            roles=["source", "target"],
            photo_hashes=["3" * 64],
        )
        accounts = Accounts(log.engine)
        seed = Seed(settings, traceable.record_id, blocked.record_id, buffer.getvalue(), identity)
        for name, role in (("alice", "admin"), ("victor", "viewer")):
            chosen = f"{name}-chose-this-password"
            actions.add_account(log, accounts, name, role, "test", actor="root", now=now, password=chosen)
            seed.passwords[name] = chosen
        actions.add_account(log, accounts, "bot", "platform", "test platform", actor="root", now=now)
        seed.token = actions.issue_token(log, accounts, "bot", "ci", "test token", actor="root", now=now)
        seed.viewer_token = actions.issue_token(
            log, accounts, "victor", "ci", "test token", actor="root", now=now
        )
    finally:
        log.close()
    return seed


@pytest.fixture
def seed(home: Path, db_url: str) -> Seed:
    return seed_home(home, db_url, datetime.now(UTC))


def make_client(seed: Seed, **config: object) -> TestClient:
    app = create_app(ConsoleConfig(settings=seed.settings, **config))  # type: ignore[arg-type]
    # https: the session cookie is Secure, and httpx (like a browser) sends it only over https
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


@pytest.fixture
def client(seed: Seed) -> Iterator[TestClient]:
    with make_client(seed, rate_limit=RateLimit(attempts=3, per_remote=50)) as test_client:
        yield test_client


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def login(client: TestClient, username: str, password: str) -> str:
    """Log in; returns the session's CSRF token (from the dashboard)."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text), "next": "/"},
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/", follow_redirects=True).text)
