"""Each page as an admin uses it: dashboard, search, export, record, proof, trace, takedown, consent,
checkpoints and verification; stored XSS is escaped and download routes refuse path tricks."""

from __future__ import annotations

import csv
import io
import json
import re
import time

from starlette.testclient import TestClient

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.verify import verify_proof_file
from tests.server.conftest import XSS, Seed, login


def test_dashboard_shows_counts_and_charts(client: TestClient, seed: Seed) -> None:
    login(client, "victor", seed.passwords["victor"])
    page = client.get("/").text
    size = int(re.search(r'id="log-size">(\d+)<', page).group(1))  # type: ignore[union-attr]
    assert size == 16  # 10 runs + 1 enrolment + 3 accounts + 2 tokens, all signed records
    assert page.count('data-decision="allowed"') >= 5
    assert 'data-decision="blocked"' in page
    assert "consent: source" in page  # the top block reason
    assert "<svg" in page
    assert "no witnesses configured" in page  # the cosigning-lag card (tests/witness: with witnesses)


def test_search_filters_pagination_and_exports(client: TestClient, seed: Seed) -> None:
    login(client, "victor", seed.passwords["victor"])
    blocked = client.get("/records", params={"decision": "blocked"}).text
    assert seed.blocked in blocked
    assert seed.traceable not in blocked
    by_watermark = client.get("/records", params={"watermark_id": "1234ABCD5678EF01"}).text
    assert seed.traceable in by_watermark
    assert client.get("/records", params={"identity": "id-nobody"}).text.count("record-link") == 0
    assert (
        client.get("/records", params={"model": "demo-swap", "taken_down": "no"}).text.count("record-link")
        == 9
    )
    # keyset pagination, newest first, 4 per page
    seen: list[int] = []
    url = "/records?limit=4"
    while url:
        page = client.get(url).text
        seen += [int(s) for s in re.findall(r"<tr class=\"\w+\">\s*<td>(\d+)</td>", page)]
        found = re.search(r'href="([^"]+)" id="older"', page)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert seen == list(range(15, -1, -1))
    bad = client.get("/records", params={"since": "yesterday"})
    assert bad.status_code == 400
    assert "since: &#39;yesterday&#39; is not an ISO 8601 date or time" in bad.text

    jsonl = client.get("/records/export.jsonl", params={"decision": "allowed"})
    envelopes = [json.loads(line) for line in jsonl.text.splitlines()]
    assert [e["record"]["decision"] for e in envelopes] == ["allowed"] * 9
    assert envelopes[0]["record"]["record_id"] == seed.traceable
    assert "signature" in envelopes[0]
    rows = list(csv.reader(io.StringIO(client.get("/records/export.csv").text)))
    assert rows[0][:4] == ["seq", "record_id", "kind", "decision"]
    assert len(rows) == 17


def test_record_detail_proof_and_takedown(client: TestClient, seed: Seed) -> None:
    csrf = login(client, "alice", seed.passwords["alice"])
    page = client.get(f"/records/{seed.traceable}").text
    assert "not taken down" in page
    assert "1234abcd5678ef01" in page
    proof = client.get(f"/records/{seed.traceable}/proof")
    assert "attachment" in proof.headers["content-disposition"]
    ring = KeyRing.load(seed.settings.keys_dir)
    assert verify_proof_file(proof.content, ring)["record"]["record_id"] == seed.traceable
    reason = f"reported by the person shown {XSS}"
    done = client.post(f"/records/{seed.traceable}/takedown", data={"csrf_token": csrf, "reason": reason})
    assert done.status_code == 303
    page = client.get(done.headers["location"]).text
    assert "TAKEN DOWN" in page
    assert "takedown recorded as seq 16" in page
    assert XSS not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    blocked = client.get(f"/records/{seed.blocked}").text
    assert "no consent" in blocked
    refused = client.post(f"/records/{seed.traceable}/takedown", data={"csrf_token": csrf, "reason": " "})
    assert refused.status_code == 400
    assert "the reason is empty" in refused.text


def test_stored_xss_in_model_and_display_name_is_escaped(client: TestClient, seed: Seed) -> None:
    login(client, "victor", seed.passwords["victor"])
    for path in ("/records", f"/records/{seed.traceable}", "/consent", f"/consent/{seed.identity}"):
        page = client.get(path).text
        assert XSS not in page, path
        assert "&lt;script&gt;" in page or path == "/records", path
    assert "swap&lt;script&gt;" in client.get("/records").text


def test_download_routes_refuse_path_traversal(client: TestClient, seed: Seed) -> None:
    login(client, "victor", seed.passwords["victor"])
    for path in (
        "/records/..%2F..%2F..%2Fetc%2Fpasswd/proof",
        "/records/%2e%2e/proof",
        "/records/....//....//etc/passwd",
        "/checkpoints/..%2Faudit.db.note",
        "/static/..%2F..%2Fpyproject.toml",
        "/static/../app.py",
        "/consent/..%2F..%2Fetc/erase",
    ):
        response = client.get(path)
        assert response.status_code in (400, 404), path
        assert "root:" not in response.text and "[project]" not in response.text, path


def test_trace_page_finds_the_record_and_files_a_takedown(client: TestClient, seed: Seed) -> None:
    csrf = login(client, "alice", seed.passwords["alice"])
    page = client.post(
        "/trace", data={"csrf_token": csrf}, files={"image": ("../../leak<b>.jpg", seed.leaked, "image/jpeg")}
    ).text
    assert f'href="/records/{seed.traceable}"' in page
    assert "watermark <code>1234abcd5678ef01</code>" in page
    assert "leak_b_.jpg" in page  # the upload's name is reduced to a safe label
    action = re.search(r'action="(/records/[0-9a-f]{32}/takedown)"', page).group(1)  # type: ignore[union-attr]
    done = client.post(action, data={"csrf_token": csrf, "reason": "found on a forum"})
    assert done.status_code == 303
    again = client.post("/trace", data={"csrf_token": csrf}, files={"image": ("leak.jpg", seed.leaked)}).text
    assert "taken down" in again
    assert "file-takedown" not in again


def test_consent_list_show_revoke_and_erase(client: TestClient, seed: Seed) -> None:
    csrf = login(client, "alice", seed.passwords["alice"])
    assert seed.identity in client.get("/consent").text
    revoked = client.post(
        f"/consent/{seed.identity}/revoke", data={"csrf_token": csrf, "role": "target", "reason": "withdrawn"}
    )
    assert revoked.status_code == 303
    assert "revoked 1 consent(s)" in client.get(revoked.headers["location"]).text
    confirm = client.get(f"/consent/{seed.identity}/erase").text
    assert "cannot be undone" in confirm
    unconfirmed = client.post(
        f"/consent/{seed.identity}/erase",
        data={"csrf_token": csrf, "reason": "GDPR request", "confirm": "yes"},
    )
    assert unconfirmed.status_code == 400
    erased = client.post(
        f"/consent/{seed.identity}/erase",
        data={"csrf_token": csrf, "reason": "GDPR request", "confirm": seed.identity},
    )
    assert erased.status_code == 303
    page = client.get(f"/consent/{seed.identity}").text
    assert "(erased identity)" in page
    assert "Eve" not in page
    actions = client.get("/records", params={"decision": "admin"}).text
    assert actions.count("record-link") == 7  # 5 account/token records + revoke + erase


def test_checkpoints_history_and_export(client: TestClient, seed: Seed) -> None:
    csrf = login(client, "alice", seed.passwords["alice"])
    assert client.post("/checkpoints", data={"csrf_token": csrf}).status_code == 303
    page = client.get("/checkpoints").text
    sizes = re.findall(r'href="/checkpoints/(\d+)\.note"', page)
    assert "16" in sizes
    note = client.get("/checkpoints/16.note")
    assert note.text.splitlines()[1] == "16"
    assert note.text == client.get("/checkpoint").text
    assert client.get("/checkpoints/999.note").status_code == 404


def test_verification_runs_in_the_background_and_reports(client: TestClient, seed: Seed) -> None:
    csrf = login(client, "alice", seed.passwords["alice"])
    assert client.post("/verify", data={"csrf_token": csrf, "full": "on"}).status_code == 303
    for _ in range(600):
        state = client.get("/verify/status").json()
        if not state["running"]:
            break
        time.sleep(0.05)
    assert state["result"]["ok"] is True
    assert state["result"]["records"] == 16
    assert state["percent"] == 100
    assert "ok: 16 records" in client.get("/verify").text
    assert 'id="verify-state">ok<' in client.get("/").text


def test_redirect_notices_carry_no_injected_text(client: TestClient, seed: Seed) -> None:
    login(client, "victor", seed.passwords["victor"])
    page = client.get(
        f"/records/{seed.traceable}", params={"message": "Your account is locked: call +1 555"}
    ).text
    assert "call +1 555" not in page
    page = client.get(f"/consent/{seed.identity}", params={"message": "erased"}).text
    assert 'id="message">erased<' in page


def test_csv_export_defuses_spreadsheet_formulas() -> None:
    from fusionguard.server.pages import _csv_cell

    assert _csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert _csv_cell(["id-a", "id-b"]) == "id-a id-b"
    assert _csv_cell(None) == ""
