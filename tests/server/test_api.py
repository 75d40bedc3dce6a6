"""The HTTP API under /api/v1 and the public endpoints, with a platform token and a viewer token."""

from __future__ import annotations

from starlette.testclient import TestClient

from fusionguard.audit.checkpoint import verify_checkpoint
from fusionguard.audit.keys import KeyRing
from fusionguard.audit.verify import verify_proof_file
from tests.server.conftest import Seed


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_trace_then_takedown_over_the_api(client: TestClient, seed: Seed) -> None:
    platform = _bearer(seed.token)
    traced = client.post(
        "/api/v1/trace", files={"image": ("leak.jpg", seed.leaked, "image/jpeg")}, headers=platform
    )
    assert traced.status_code == 200
    body = traced.json()
    assert body["found"] is True
    match = body["matches"][0]
    assert (match["method"], match["record_id"], match["watermark_id"]) == (
        "watermark",
        seed.traceable,
        "1234abcd5678ef01",
    )
    assert body["records"][seed.traceable]["decision"] == "allowed"
    taken = client.post(
        "/api/v1/takedowns",
        json={"record": match["watermark_id"], "reason": "abuse report 42"},
        headers=platform,
    )
    assert taken.status_code == 201
    assert taken.json()["refers_to"] == seed.traceable
    record = client.get(f"/api/v1/records/{seed.traceable}", headers=_bearer(seed.viewer_token)).json()
    assert record["taken_down"] is True
    assert record["takedowns"][0]["refers_to"] == seed.traceable
    again = client.post("/api/v1/trace", files={"image": ("leak.jpg", seed.leaked)}, headers=platform).json()
    assert again["matches"][0]["taken_down"] is True


def test_takedown_refuses_bad_requests(client: TestClient, seed: Seed) -> None:
    platform = _bearer(seed.token)
    cases = [
        ({"record": seed.traceable}, 400),
        ({"record": seed.traceable, "reason": ""}, 400),
        ({"record": "../../etc/passwd", "reason": "x"}, 400),
        ({"record": "f" * 32, "reason": "x"}, 404),
        ({"record": seed.blocked, "reason": "x" * 2001}, 400),
    ]
    for payload, status in cases:
        response = client.post("/api/v1/takedowns", json=payload, headers=platform)
        assert response.status_code == status, payload
        assert list(response.json()) == ["error"]
    not_json = client.post(
        "/api/v1/takedowns", content=b"{", headers={**platform, "content-type": "application/json"}
    )
    assert not_json.json() == {"error": "request body is not valid JSON"}


def test_records_filters_and_keyset_pages(client: TestClient, seed: Seed) -> None:
    viewer = _bearer(seed.viewer_token)
    allowed = client.get("/api/v1/records", params={"decision": "allowed", "limit": 4}, headers=viewer).json()
    assert [r["decision"] for r in allowed["records"]] == ["allowed"] * 4
    seqs = [r["seq"] for r in allowed["records"]]
    assert seqs == sorted(seqs, reverse=True)
    rest = client.get(
        "/api/v1/records",
        params={"decision": "allowed", "limit": 100, "before": allowed["next_before"]},
        headers=viewer,
    ).json()
    assert len(rest["records"]) == 5
    assert rest["next_before"] is None
    assert rest["records"][-1]["record_id"] == seed.traceable
    by_identity = client.get("/api/v1/records", params={"identity": "id-alice"}, headers=viewer).json()
    assert len(by_identity["records"]) == 10
    assert client.get("/api/v1/records", params={"decision": "maybe"}, headers=viewer).status_code == 400
    assert client.get("/api/v1/records", params={"limit": 100000}, headers=viewer).status_code == 400


def test_record_and_proof_verify_offline(client: TestClient, seed: Seed) -> None:
    viewer = _bearer(seed.viewer_token)
    record = client.get(f"/api/v1/records/{seed.traceable}", headers=viewer).json()
    assert record["envelope"]["record"]["record_id"] == seed.traceable
    assert record["taken_down"] is False
    proof = client.get(f"/api/v1/records/{seed.traceable}/proof", headers=viewer)
    keys = client.get("/keys").json()
    assert keys == KeyRing.load(seed.settings.keys_dir).export_public()
    summary = verify_proof_file(proof.content, KeyRing.load(seed.settings.keys_dir))
    assert summary["record"]["record_id"] == seed.traceable
    assert client.get("/api/v1/records/0123456789abcdef0123456789abcdef", headers=viewer).status_code == 404


def test_public_checkpoint_is_a_signed_note(client: TestClient, seed: Seed) -> None:
    note = client.get("/checkpoint")
    assert note.headers["content-type"].startswith("text/plain")
    lines = note.text.split("\n")
    assert lines[0].startswith("fusionguard.log/")
    assert lines[1] == "16"
    assert "\n\n— " in note.text  # C2SP signed note: body, blank line, signature lines
    checkpoint = verify_checkpoint(note.text, KeyRing.load(seed.settings.keys_dir))
    assert checkpoint.tree_size == 16


def test_openapi_document_lists_every_route(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/api/v1/trace",
        "/api/v1/takedowns",
        "/api/v1/records",
        "/api/v1/records/{key}",
        "/api/v1/records/{key}/proof",
        "/checkpoint",
        "/keys",
    }


def test_an_output_released_after_the_first_trace_is_found_by_its_content(
    client: TestClient, seed: Seed
) -> None:
    """The server's tracer is long-lived: records appended after it opened its index must be found."""
    import hashlib
    from datetime import UTC, datetime

    import cv2

    from fusionguard.audit.keys import KeyRing
    from fusionguard.audit.log import AuditLog
    from fusionguard.audit.record import AuditRecord, ModelInfo, OutputRef, PolicyRef
    from fusionguard.content_fingerprint import ContentFingerprint
    from fusionguard.media import encode_image
    from fusionguard.trace_index import save_fingerprint
    from tests import testdata

    platform = _bearer(seed.token)
    first = client.post("/api/v1/trace", files={"image": ("leak.jpg", seed.leaked)}, headers=platform)
    assert first.status_code == 200  # the tracer and its index are open now

    coffee = testdata.coffee()  # an unmarked output: only its content can find it
    fingerprint = ContentFingerprint.compute(coffee)
    blob = fingerprint.to_bytes()
    record = AuditRecord(
        kind="run",
        decision="allowed",
        timestamp=datetime.now(UTC),
        actor="worker-2",
        model=ModelInfo("swap", "1.0", "apache-2.0"),
        policy=PolicyRef("default", "ab" * 32),
        output=OutputRef(
            "7" * 64, "00000000000000aa", fingerprint.pdq.hex(), fingerprint.pdq.quality,
            hashlib.sha256(blob).hexdigest(),
        ),
    )  # fmt: skip
    log = AuditLog.open(seed.settings.db_url, KeyRing.load(seed.settings.keys_dir))
    try:
        save_fingerprint(log.engine, record.record_id, blob)
        log.append(record)
    finally:
        log.close()

    copy = cv2.resize(coffee, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)
    traced = client.post(
        "/api/v1/trace", files={"image": ("copy.jpg", encode_image(copy, "jpeg", 85))}, headers=platform
    ).json()
    assert traced["verdict"] == "fingerprint", traced
    assert traced["matches"][0]["record_id"] == record.record_id
