"""Record builders for audit tests."""

from __future__ import annotations

from datetime import datetime

from fusionguard.audit.record import AuditRecord, InputRef, ModelInfo, OutputRef, PolicyRef


def run_record(
    i: int,
    timestamp: datetime,
    *,
    identity: str = "id-alice",
    decision: str = "allowed",
    model: str = "demo-swap",
) -> AuditRecord:
    blocked = decision == "blocked"
    return AuditRecord(
        kind="run",
        decision="blocked" if blocked else "allowed",
        timestamp=timestamp,
        actor="worker-1",
        model=ModelInfo(model, "1.0", "apache-2.0"),
        policy=PolicyRef("default", "ab" * 32),
        sources=(InputRef("source", 0, f"{i:064x}", (identity,), 1),),
        targets=(InputRef("target", 0, f"{i + 1:064x}", ("id-bob",), 1),),
        output=None if blocked else OutputRef(f"{i + 2:064x}", f"{0x5A5A0000 + i:016x}"),
        reasons=({"check": "consent", "subject": "source[0]", "detail": "no consent", "data": {}},)
        if blocked
        else (),
    )
