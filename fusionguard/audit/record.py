"""The audit record: a versioned, validated description of one guarded run (or of a takedown).

Records are built by the Guard (or :func:`takedown_record`), validated when constructed, and turned into
canonical JSON for signing. The log assigns ``seq``; the record carries it inside the signed bytes so a
record cannot be moved to another position without its signature breaking.

>>> from datetime import datetime, timezone
>>> record = AuditRecord(
...     kind="run", decision="allowed", timestamp=datetime(2026, 1, 1, tzinfo=timezone.utc),
...     actor="worker-1", model=ModelInfo("inswapper", "128", "other"),
...     policy=PolicyRef("default", "0" * 64),
... )
>>> record.to_json()["schema"]
'fusionguard.audit-record/v1'

Personal data: a record holds pseudonymous identity IDs and content hashes, never faces or names.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from fusionguard.errors import InvalidRecord

SCHEMA = "fusionguard.audit-record/v1"
#: ``release`` records say that an ``allowed`` run's output was never released (a crash or a failure
#: between appending the record and renaming the output into place); they refer to that run.
Kind = Literal["run", "takedown", "release", "consent", "admin_action"]
Decision = Literal[
    "allowed", "blocked", "takedown", "not_released", "enrolled", "granted", "revoked", "erased", "admin"
]

#: Longest values the database columns hold (VARCHAR sizes in fusionguard.store.models). Checked when a
#: record is built, so SQLite (which ignores VARCHAR sizes) and PostgreSQL refuse exactly the same records.
MAX_ACTOR = 200
MAX_MODEL_NAME = 200
MAX_MODEL_LICENSE = 100
MAX_IDENTITY_ID = 64

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_RECORD_ID = re.compile(r"^[0-9a-f]{32}$")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidRecord(message)


def _require_length(value: str, limit: int, what: str) -> None:
    _require(isinstance(value, str), f"{what} must be a string, got {type(value).__name__}")
    _require(
        len(value) <= limit,
        f"{what} is {len(value)} characters long, more than the audit log's limit of {limit}; shorten it",
    )


def format_timestamp(moment: datetime) -> str:
    """UTC, microsecond precision, ``Z`` suffix: one spelling per instant, so it canonicalises."""
    _require(moment.tzinfo is not None, "timestamps must be timezone-aware (UTC)")
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def format_watermark_id(value: int) -> str:
    """64-bit IDs are written as 16 hex digits: JSON numbers above 2**53 do not survive every parser."""
    _require(0 <= value < 1 << 64, f"watermark ID {value} is not a 64-bit unsigned integer")
    return f"{value:016x}"


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str = ""
    license: str = "unknown"

    def __post_init__(self) -> None:
        _require(bool(self.name), "model name must not be empty")
        _require_length(self.name, MAX_MODEL_NAME, "model name")
        _require_length(self.version, MAX_MODEL_NAME, "model version")
        _require_length(self.license, MAX_MODEL_LICENSE, "model license")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "license": self.license}


@dataclass(frozen=True)
class PolicyRef:
    name: str
    sha256: str

    def __post_init__(self) -> None:
        _require(bool(_SHA256.match(self.sha256)), "policy hash must be 64 lowercase hex digits")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256}


@dataclass(frozen=True)
class InputRef:
    """One source or target: its role, position, content hash and the identities matched in it."""

    role: Literal["source", "target"]
    index: int
    sha256: str
    identities: tuple[str, ...] = ()
    faces: int = 0

    def __post_init__(self) -> None:
        _require(self.role in ("source", "target"), f"unknown input role {self.role!r}")
        _require(bool(_SHA256.match(self.sha256)), "input hash must be 64 lowercase hex digits")
        for identity in self.identities:
            _require_length(identity, MAX_IDENTITY_ID, "identity ID")

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "index": self.index,
            "sha256": self.sha256,
            "identities": list(self.identities),
            "faces": self.faces,
        }


@dataclass(frozen=True)
class OutputRef:
    sha256: str
    watermark_id: str
    pdq: str | None = None
    pdq_quality: int | None = None
    #: SHA-256 of the output's content fingerprint (the ``trace_fingerprints`` row of this record).
    #: Written only when present, so records from before it keep their exact canonical form.
    fingerprint: str | None = None

    def __post_init__(self) -> None:
        _require(bool(_SHA256.match(self.sha256)), "output hash must be 64 lowercase hex digits")
        _require(bool(_HEX16.match(self.watermark_id)), "watermark ID must be 16 hex digits")
        _require(self.pdq is None or bool(_SHA256.match(self.pdq)), "PDQ hash must be 64 hex digits")
        _require(
            self.fingerprint is None or bool(_SHA256.match(self.fingerprint)),
            "fingerprint hash must be 64 lowercase hex digits",
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "sha256": self.sha256,
            "watermark_id": self.watermark_id,
            "pdq": self.pdq,
            "pdq_quality": self.pdq_quality,
        }
        if self.fingerprint is not None:
            data["fingerprint"] = self.fingerprint
        return data


@dataclass(frozen=True)
class AuditRecord:
    """One entry of the audit log. ``seq`` is None until the log assigns it."""

    kind: Kind
    decision: Decision
    timestamp: datetime
    actor: str
    model: ModelInfo | None = None
    policy: PolicyRef | None = None
    sources: tuple[InputRef, ...] = ()
    targets: tuple[InputRef, ...] = ()
    output: OutputRef | None = None
    reasons: tuple[dict[str, Any], ...] = ()
    refers_to: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    record_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    seq: int | None = None

    def __post_init__(self) -> None:
        _require(
            self.kind in ("run", "takedown", "release", "consent", *ADMIN_KINDS),
            f"unknown record kind {self.kind!r}",
        )
        _require(
            self.decision in ("allowed", "blocked", "takedown", "not_released", *CONSENT_ACTIONS, "admin"),
            f"bad decision {self.decision!r}",
        )
        _require(bool(_RECORD_ID.match(self.record_id)), "record ID must be 32 hex digits")
        _require(self.timestamp.tzinfo is not None, "timestamp must be timezone-aware")
        _require_length(self.actor, MAX_ACTOR, "actor")
        if self.kind == "run":
            _require(self.decision in ("allowed", "blocked"), "a run record is allowed or blocked")
            _require(
                self.model is not None and self.policy is not None,
                "a run record names its model and policy",
            )
            # A record that continues another run (a live stream's interim and close records refer to
            # the session's start record, which holds the watermark ID) may leave the output to it.
            _require(
                self.decision != "allowed" or self.output is not None or self.refers_to is not None,
                "an allowed run record describes its output (or refers to the record that does)",
            )
            _require(
                self.refers_to is None or bool(_RECORD_ID.match(self.refers_to)),
                "refers_to must be a record ID",
            )
            _require(
                self.decision != "blocked" or bool(self.reasons),
                "a blocked run record gives its reasons",
            )
            _require(
                self.decision != "blocked" or self.output is None,
                "a blocked run releases no output",
            )
        elif self.kind == "release":
            _require(self.decision == "not_released", "a release record has decision 'not_released'")
            _require(
                self.refers_to is not None and bool(_RECORD_ID.match(self.refers_to)),
                "a release record refers to the run record whose output it concerns",
            )
        elif self.kind == "consent":
            _check_consent_record(self)
        elif self.kind in ADMIN_KINDS:
            _check_admin_action(self)
        else:
            _require(self.decision == "takedown", "a takedown record has decision 'takedown'")
            _require(
                self.refers_to is not None and bool(_RECORD_ID.match(self.refers_to)),
                "a takedown record refers to a record ID",
            )
        _require(self.seq is None or self.seq >= 0, "sequence numbers start at 0")

    def with_seq(self, seq: int) -> AuditRecord:
        return replace(self, seq=seq)

    @property
    def identities(self) -> tuple[str, ...]:
        found = {i for ref in (*self.sources, *self.targets) for i in ref.identities}
        if self.kind == "consent":
            found.add(self.extra["consent"]["identity_id"])
        return tuple(sorted(found))

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "record_id": self.record_id,
            "seq": self.seq,
            "kind": self.kind,
            "decision": self.decision,
            "timestamp": format_timestamp(self.timestamp),
            "actor": self.actor,
            "model": self.model.to_json() if self.model else None,
            "policy": self.policy.to_json() if self.policy else None,
            "sources": [ref.to_json() for ref in self.sources],
            "targets": [ref.to_json() for ref in self.targets],
            "output": self.output.to_json() if self.output else None,
            "reasons": list(self.reasons),
            "refers_to": self.refers_to,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuditRecord:
        if data.get("schema") != SCHEMA:
            raise InvalidRecord(f"unsupported record schema {data.get('schema')!r} (expected {SCHEMA})")

        def inputs(items: list[dict[str, Any]]) -> tuple[InputRef, ...]:
            return tuple(
                InputRef(i["role"], i["index"], i["sha256"], tuple(i["identities"]), i["faces"])
                for i in items
            )

        model, policy, output = data["model"], data["policy"], data["output"]
        return cls(
            kind=data["kind"],
            decision=data["decision"],
            timestamp=parse_timestamp(data["timestamp"]),
            actor=data["actor"],
            model=ModelInfo(**model) if model else None,
            policy=PolicyRef(**policy) if policy else None,
            sources=inputs(data["sources"]),
            targets=inputs(data["targets"]),
            output=OutputRef(**output) if output else None,
            reasons=tuple(data["reasons"]),
            refers_to=data["refers_to"],
            extra=dict(data["extra"]),
            record_id=data["record_id"],
            seq=data["seq"],
        )


def takedown_record(
    refers_to: str,
    reason: str,
    *,
    actor: str,
    timestamp: datetime,
    data: dict[str, Any] | None = None,
) -> AuditRecord:
    """A takedown is a new record pointing at an old one: records are never edited.

    ``data`` carries the evidence it rests on (the trace's verdict and figures, an override).
    """
    return AuditRecord(
        kind="takedown",
        decision="takedown",
        timestamp=timestamp,
        actor=actor,
        refers_to=refers_to,
        reasons=({"check": "takedown", "subject": "output", "detail": reason, "data": dict(data or {})},),
    )


def not_released_record(refers_to: str, detail: str, *, actor: str, timestamp: datetime) -> AuditRecord:
    """Says that the output of the ``allowed`` run ``refers_to`` never reached its destination."""
    return AuditRecord(
        kind="release",
        decision="not_released",
        timestamp=timestamp,
        actor=actor,
        refers_to=refers_to,
        reasons=({"check": "release", "subject": "output", "detail": detail, "data": {}},),
    )


# -- consent records (issue 11, defect 13) ---------------------------------------------------------
# Enrolment, grants, revocations and erasures are signed log records, so an auditor can prove when a
# person's consent existed. They carry the pseudonymous identity ID, the roles, the actor and the time:
# never a name, a photo or an embedding (those stay in the registry, sealed under the identity's key).

CONSENT_ACTIONS = ("enrolled", "granted", "revoked", "erased")
_IDENTITY_ID = re.compile(r"^id-[0-9a-f]{16}$")


def _check_consent_record(record: AuditRecord) -> None:
    _require(record.decision in CONSENT_ACTIONS, f"a consent record is one of {list(CONSENT_ACTIONS)}")
    _require(
        record.model is None and record.output is None and not record.sources and not record.targets,
        "a consent record describes no run",
    )
    consent = record.extra.get("consent")
    _require(isinstance(consent, dict), "a consent record carries extra['consent']")
    assert isinstance(consent, dict)
    _require(
        isinstance(consent.get("identity_id"), str) and bool(_IDENTITY_ID.match(consent["identity_id"])),
        "a consent record names a pseudonymous identity ID (id- and 16 hex digits)",
    )
    roles = consent.get("roles")
    _require(
        isinstance(roles, list) and all(r in ("source", "target") for r in roles),
        "consent roles are 'source' and/or 'target'",
    )
    _require(
        set(consent) <= {"identity_id", "roles", "valid_until", "evidence_sha256"},
        "a consent record holds only the identity ID, roles, end date and evidence hash",
    )


def consent_record(
    action: str,
    identity_id: str,
    roles: list[str],
    *,
    actor: str,
    timestamp: datetime,
    valid_until: datetime | None = None,
    evidence_sha256: str | None = None,
) -> AuditRecord:
    """A signed statement that ``actor`` enrolled, granted, revoked or erased ``identity_id``'s consent."""
    consent: dict[str, Any] = {"identity_id": identity_id, "roles": sorted(roles)}
    if valid_until is not None:
        consent["valid_until"] = format_timestamp(valid_until)
    if evidence_sha256 is not None:
        consent["evidence_sha256"] = evidence_sha256
    return AuditRecord(
        kind="consent",
        decision=action,  # type: ignore[arg-type]  # checked against CONSENT_ACTIONS when built
        timestamp=timestamp,
        actor=actor,
        extra={"consent": consent},
    )


# -- admin actions (the console's accounts, consent changes made in the console) ------------------
# Every action an admin takes in the console or with ``fusionguard admin`` is itself a signed record:
# who (``actor``), when (``timestamp``), what (``extra["action"]`` on ``extra["target"]``) and why
# (the reason's ``detail``). Takedowns keep their own kind: they are records about records.

ADMIN_KINDS = ("admin_action",)
ADMIN_ACTIONS = (
    "account.add",
    "account.disable",
    "account.password",
    "token.issue",
    "consent.revoke",
    "consent.erase",
    "sealed.shred",  # ``audit shred``: a record's sealed bystander originals destroyed
)


def _check_admin_action(record: AuditRecord) -> None:
    _require(record.decision == "admin", "an admin-action record has decision 'admin'")
    _require(
        record.extra.get("action") in ADMIN_ACTIONS, f"unknown admin action {record.extra.get('action')!r}"
    )
    _require(bool(record.extra.get("target")), "an admin-action record names its target")
    _require(len(record.reasons) == 1 and bool(record.reasons[0].get("detail")), "an admin action gives why")
    _require(record.model is None and record.output is None, "an admin-action record describes no run")


def admin_action_record(
    action: str,
    target: str,
    reason: str,
    *,
    actor: str,
    timestamp: datetime,
    data: dict[str, Any] | None = None,
) -> AuditRecord:
    """A signed statement that ``actor`` did ``action`` to ``target`` at ``timestamp`` because ``reason``."""
    return AuditRecord(
        kind="admin_action",
        decision="admin",
        timestamp=timestamp,
        actor=actor,
        reasons=({"check": "admin", "subject": target, "detail": reason, "data": dict(data or {})},),
        extra={"action": action, "target": target},
    )
