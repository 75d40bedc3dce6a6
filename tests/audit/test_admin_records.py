"""Admin-action records: who, what, when, why; validated when built; signed and verified like any record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog, Filters
from fusionguard.audit.record import AuditRecord, admin_action_record
from fusionguard.audit.verify import verify_log

WHEN = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_an_admin_action_round_trips_through_json() -> None:
    record = admin_action_record(
        "consent.revoke", "id-eve", "withdrawn by email", actor="alice", timestamp=WHEN
    )
    data = record.to_json()
    assert (data["kind"], data["decision"], data["actor"]) == ("admin_action", "admin", "alice")
    assert data["extra"] == {"action": "consent.revoke", "target": "id-eve"}
    assert data["reasons"][0]["detail"] == "withdrawn by email"
    assert AuditRecord.from_json(data) == record


@pytest.mark.parametrize(
    ("action", "target", "reason", "message"),
    [
        ("consent.delete_everything", "id-eve", "why", "unknown admin action"),
        ("consent.erase", "", "why", "names its target"),
        ("consent.erase", "id-eve", "", "gives why"),
    ],
)
def test_an_incomplete_admin_action_is_refused(action: str, target: str, reason: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        admin_action_record(action, target, reason, actor="alice", timestamp=WHEN)


def test_a_run_record_cannot_claim_the_admin_decision() -> None:
    with pytest.raises(ValueError, match="a run record is allowed or blocked"):
        AuditRecord(kind="run", decision="admin", timestamp=WHEN, actor="x")


def test_admin_actions_are_signed_queried_and_verified(db_url: str, ring: KeyRing) -> None:
    log = AuditLog.open(db_url, ring)
    try:
        log.append(admin_action_record("account.add", "bob", "new colleague", actor="alice", timestamp=WHEN))
        found = log.query(Filters(decision="admin"))
        assert [s.record.actor for s in found] == ["alice"]
        report = verify_log(log, full=True)
        assert report.ok, report.problems
    finally:
        log.close()


def test_a_takedown_is_refused_for_an_output_that_was_never_released(db_url: str, ring: KeyRing) -> None:
    from fusionguard.audit.operations import check_takedown, file_takedown
    from fusionguard.audit.record import not_released_record
    from fusionguard.errors import BadInput
    from tests.audit.records import run_record

    log = AuditLog.open(db_url, ring)
    try:
        kept, lost = run_record(1, WHEN), run_record(2, WHEN)
        log.append_many([kept, lost])
        log.append(not_released_record(lost.record_id, "killed before the rename", actor="t", timestamp=WHEN))
        with pytest.raises(BadInput, match=r"was never released \(seq 2\); nothing appended"):
            check_takedown(log, lost.record_id, "report 1")
        file_takedown(log, kept.record_id, "report 2", actor="t", now=WHEN)
        with pytest.raises(BadInput, match=r"was already taken down \(seq 3\); nothing appended"):
            check_takedown(log, kept.record_id, "report 3")
        assert log.count() == 4
    finally:
        log.close()
