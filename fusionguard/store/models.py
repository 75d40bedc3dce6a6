"""SQLAlchemy 2.0 models: the audit log tables and the consent registry tables.

The audit tables are append-only (database triggers, created by the migrations, refuse UPDATE and
DELETE); ``log_state`` is the one mutable row: the log's origin, size, Merkle frontier and latest signed
checkpoint. The consent registry lives in separate tables so a person's biometric data can be erased
without touching the log, which only ever holds pseudonymous identity IDs.

All timestamps are naive UTC (SQLite has no time zones; storing UTC everywhere keeps both databases equal).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, LargeBinary, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class LogState(Base):
    __tablename__ = "log_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    origin: Mapped[str] = mapped_column(String(200))
    tree_size: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[bytes] = mapped_column(LargeBinary)
    head_note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class AuditRow(Base):
    __tablename__ = "audit_records"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    record_id: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(16))  # indexed with seq (0005_console)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    model_name: Mapped[str | None] = mapped_column(String(200))  # indexed with seq (0005_console)
    model_license: Mapped[str | None] = mapped_column(String(100))
    watermark_id: Mapped[str | None] = mapped_column(String(16), unique=True)
    pdq: Mapped[str | None] = mapped_column(String(64))
    output_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    refers_to: Mapped[str | None] = mapped_column(String(32), index=True)
    key_id: Mapped[str] = mapped_column(String(32))
    envelope: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    # newest-first search under a filter reads these in order (migration 0005_console)
    __table_args__ = (
        Index("ix_audit_records_decision_seq", "decision", "seq"),
        Index("ix_audit_records_model_name_seq", "model_name", "seq"),
        Index("ix_audit_records_kind_seq", "kind", "seq"),
    )


class RecordIdentity(Base):
    __tablename__ = "audit_record_identities"

    seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("audit_records.seq"), primary_key=True, autoincrement=False
    )
    identity_id: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index("ix_audit_record_identities_identity", "identity_id"),)


class CheckpointRow(Base):
    __tablename__ = "audit_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Identity(Base):
    """A consenting person, by pseudonymous ID. Erasure clears the name and the embeddings.

    ``name_sealed`` is the display name sealed under the identity's own key (see
    :mod:`fusionguard.registry.identity_keys`); ``display_name`` only holds names enrolled before
    sealing existed (schema 0005) until they are erased.
    """

    __tablename__ = "consent_identities"

    identity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    name_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime)


class Consent(Base):
    """Consent of one identity for one role, valid in a time window, revocable."""

    __tablename__ = "consent_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("consent_identities.identity_id"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[datetime] = mapped_column(DateTime)
    valid_until: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))


class ReferenceEmbedding(Base):
    """A biometric reference: one embedding of one identity, by one face model."""

    __tablename__ = "consent_embeddings"

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("consent_identities.identity_id"), index=True
    )
    model_id: Mapped[str] = mapped_column(String(100), index=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # sealed (AES-GCM) when ``sealed``
    photo_sha256: Mapped[str] = mapped_column(String(64))
    sealed: Mapped[bool] = mapped_column(Boolean, server_default=false())


class SealedRegionRow(Base):
    """The original pixels of one anonymised face region, sealed to the admin's recovery key.

    Beside the log, not in it: the signed record holds each region's box, method and the SHA-256 of
    this ciphertext, so ``audit shred`` can delete these rows (crypto-shredding) and the log still
    verifies.
    """

    __tablename__ = "sealed_regions"

    record_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    region_index: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    key_id: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


class TraceFingerprintRow(Base):
    """A released output's content fingerprint (:mod:`fusionguard.content_fingerprint`), by record ID."""

    __tablename__ = "trace_fingerprints"

    record_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


# -- admin console (migration 0005_console) ------------------------------------------------------
# Who may use the console and the HTTP API. Mutable state, apart from the append-only audit tables;
# secrets (passwords, session IDs, API tokens) are stored hashed only.


class ConsoleAccount(Base):
    __tablename__ = "console_accounts"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    must_change: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)


class ConsoleSession(Base):
    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), ForeignKey("console_accounts.username"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class ConsoleToken(Base):
    __tablename__ = "console_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(64), ForeignKey("console_accounts.username"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class ConsoleLoginFailure(Base):
    __tablename__ = "console_login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    remote: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)


# -- witnessed checkpoints (fusionguard.witness; migration 0005_witness) ------------------------------


class WitnessCosignature(Base):
    """A witness's cosignature over one checkpoint of the log (C2SP tlog-cosignature), append-only."""

    __tablename__ = "witness_cosignatures"

    witness: Mapped[str] = mapped_column(String(200), primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    cosignature: Mapped[str] = mapped_column(Text)
    cosigned_at: Mapped[datetime] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
