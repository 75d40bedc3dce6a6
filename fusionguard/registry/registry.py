"""The consent registry: who consented, to which role, until when — and their reference embeddings.

Identities are pseudonymous (``id-`` + 16 random hex digits); the audit log only ever stores that ID.
A person consents per role: ``source`` (their face may be put onto others) and ``target`` (their face
may be replaced or altered). Consent has an end date and can be revoked; revocation applies to the
next check because nothing is cached across runs. ``erase`` deletes the name and every embedding (the
biometric data) but keeps the ID, so old audit records still resolve — to "erased identity".

Names and embeddings are sealed under a per-identity key kept outside the database
(:mod:`fusionguard.registry.identity_keys`); erasure destroys the key, so the copies a database keeps
(old row versions, WAL, backups, replicas) are unreadable. Every change (enrol, grant, revoke, erase)
appends a signed consent record to the audit log in the same transaction.

Revocation is effective in database order: a grant is live until a committed revocation marks it, for
every host, whatever its clock says. Only the consent's end date (``--until``) is compared with a clock.

    registry = ConsentRegistry(engine, keys=IdentityKeyStore(settings.identity_keys_dir), log=log)
    identity = registry.enroll("Ada", [embedding], roles={"source"}, photo_hashes=["..."])
    registry.nearest(face.as_embedding(), metric="euclidean")   # -> Match(identity, distance)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from fusionguard.audit.record import AuditRecord, consent_record
from fusionguard.config import Clock, utc_now
from fusionguard.errors import AuditError, BadInput, ConfigError, NotFound
from fusionguard.faces.base import Embedding, Metric
from fusionguard.registry.identity_keys import IdentityKeyStore
from fusionguard.store import db
from fusionguard.store.models import Consent, Identity, ReferenceEmbedding

if TYPE_CHECKING:
    from fusionguard.audit.log import AuditLog

Role = Literal["source", "target"]
ROLES: tuple[Role, ...] = ("source", "target")


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None else None


@dataclass(frozen=True)
class Grant:
    role: str
    valid_from: datetime
    valid_until: datetime | None
    revoked_at: datetime | None
    evidence_sha256: str | None

    def active_at(self, now: datetime) -> bool:
        """Whether the grant was in force at ``now`` by the recorded times (for questions about the past)."""
        if now < self.valid_from:
            return False
        if self.valid_until is not None and now >= self.valid_until:
            return False
        return self.revoked_at is None or now < self.revoked_at

    def live(self, now: datetime) -> bool:
        """Whether the grant counts for a check made now: not revoked (a committed revocation ends it
        on every host, whatever their clocks say) and not past its end date."""
        if self.revoked_at is not None:
            return False
        return self.valid_until is None or now < self.valid_until

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "role": self.role,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "evidence_sha256": self.evidence_sha256,
            "active": self.live(now),
        }


@dataclass(frozen=True)
class IdentityInfo:
    identity_id: str
    display_name: str | None
    erased: bool
    grants: tuple[Grant, ...]
    embeddings: dict[str, int]  # model ID -> number of reference embeddings

    def active_roles(self, now: datetime) -> set[str]:
        return {g.role for g in self.grants if g.live(now)}

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "identity_id": self.identity_id,
            "display_name": self.display_name,
            "erased": self.erased,
            "active_roles": sorted(self.active_roles(now)),
            "grants": [g.to_json(now) for g in self.grants],
            "embeddings": self.embeddings,
        }


@dataclass(frozen=True)
class Match:
    identity_id: str
    distance: float


class ConsentRegistry:
    def __init__(
        self,
        engine: Engine,
        *,
        keys: IdentityKeyStore,
        log: AuditLog | None = None,
        clock: Clock = utc_now,
        actor: str | None = None,
    ) -> None:
        self.engine = engine
        self.keys = keys
        self.log = log
        self.clock = clock
        self.actor = actor or os.environ.get("USER") or f"{socket.gethostname()}:{os.getpid()}"
        self._vectors: dict[str, dict[tuple[int, str], np.ndarray]] = {}
        self._cache_lock = threading.Lock()

    @classmethod
    def open(
        cls, url: str, *, keys: IdentityKeyStore, log: AuditLog | None = None, clock: Clock = utc_now
    ) -> ConsentRegistry:
        engine = log.engine if log is not None else db.open_engine(url)
        db.require_head(engine)
        return cls(engine, keys=keys, log=log, clock=clock)

    @contextlib.contextmanager
    def _session(self, write: bool = False) -> Iterator[Any]:
        try:
            connection = self.engine.connect().execution_options(**{db.WRITE: write})
            with connection, connection.begin():
                yield connection
        except SQLAlchemyError as error:
            raise AuditError(f"consent registry unavailable: {db.first_line(error)}") from None

    @contextlib.contextmanager
    def _change(self, record: AuditRecord) -> Iterator[Connection]:
        """A registry write and its signed consent record, committed together or not at all."""
        if self.log is None:
            raise ConfigError(
                "this consent registry has no audit log: consent changes are recorded in the log, "
                "so open it with log=AuditLog.open(...)"
            )
        with self._session(write=True) as connection:
            yield connection
            sealed = self.log.append_in(connection, [record])
        self.log.published(sealed)

    def enroll(
        self,
        display_name: str,
        embeddings: Sequence[Embedding],
        *,
        roles: Iterable[str],
        photo_hashes: Sequence[str],
        valid_until: datetime | None = None,
        evidence_sha256: str | None = None,
        actor: str | None = None,
    ) -> str:
        """Create an identity with its reference embeddings and consents; return its pseudonymous ID."""
        roles = sorted(set(roles))
        if not roles or any(role not in ROLES for role in roles):
            raise BadInput(f"consent roles {roles} must be a non-empty subset of {list(ROLES)}")
        if not display_name.strip():
            raise BadInput("an identity needs a display name")
        if not embeddings or len(embeddings) != len(photo_hashes):
            raise BadInput("enrolment needs one embedding per reference photo")
        moment = self.clock()
        now = _naive(moment)
        until = _naive(valid_until) if valid_until else None
        if until is not None and until <= now:
            raise BadInput(f"consent end {valid_until} is not in the future")
        identity_id = f"id-{secrets.token_hex(8)}"
        self.keys.create(identity_id)
        record = consent_record(
            "enrolled",
            identity_id,
            roles,
            actor=actor or self.actor,
            timestamp=moment,
            valid_until=valid_until,
            evidence_sha256=evidence_sha256,
        )
        try:
            with self._change(record) as connection:
                connection.execute(
                    insert(Identity).values(
                        identity_id=identity_id,
                        display_name=None,
                        name_sealed=self.keys.seal(identity_id, "name", display_name.strip().encode()),
                        created_at=now,
                    )
                )
                connection.execute(
                    insert(ReferenceEmbedding),
                    [
                        {
                            "identity_id": identity_id,
                            "model_id": e.model_id,
                            "vector": self.keys.seal(
                                identity_id, "embedding", np.asarray(e.vector, dtype="<f4").tobytes()
                            ),
                            "photo_sha256": h,
                            "sealed": True,
                        }
                        for e, h in zip(embeddings, photo_hashes, strict=True)
                    ],
                )
                self._insert_grants(connection, identity_id, roles, now, until, evidence_sha256)
        except BaseException:
            if not self._load(identity_id):  # nothing was committed: the key must not outlive it
                self.keys.destroy(identity_id)
            raise
        return identity_id

    @staticmethod
    def _insert_grants(
        connection: Connection,
        identity_id: str,
        roles: Sequence[str],
        now: datetime,
        until: datetime | None,
        evidence_sha256: str | None,
    ) -> None:
        connection.execute(
            insert(Consent),
            [
                {
                    "identity_id": identity_id,
                    "role": role,
                    "valid_from": now,
                    "valid_until": until,
                    "evidence_sha256": evidence_sha256,
                }
                for role in roles
            ],
        )

    def grant(
        self,
        identity_id: str,
        roles: Iterable[str],
        *,
        valid_until: datetime | None = None,
        evidence_sha256: str | None = None,
        actor: str | None = None,
    ) -> list[str]:
        """Give an enrolled identity consent for ``roles`` (again, after a revocation); return the
        roles newly granted (roles already live are left as they are)."""
        roles = sorted(set(roles))
        if not roles or any(role not in ROLES for role in roles):
            raise BadInput(f"consent roles {roles} must be a non-empty subset of {list(ROLES)}")
        info = self.show(identity_id)
        if info.erased:
            raise BadInput(f"{identity_id} was erased; enrol the person again from new photos")
        moment = self.clock()
        now = _naive(moment)
        until = _naive(valid_until) if valid_until else None
        if until is not None and until <= now:
            raise BadInput(f"consent end {valid_until} is not in the future")
        new = sorted(set(roles) - info.active_roles(moment))
        if not new:
            return []
        record = consent_record(
            "granted",
            identity_id,
            new,
            actor=actor or self.actor,
            timestamp=moment,
            valid_until=valid_until,
            evidence_sha256=evidence_sha256,
        )
        with self._change(record) as connection:
            self._insert_grants(connection, identity_id, new, now, until, evidence_sha256)
        return new

    def revoke(self, identity_id: str, roles: Iterable[str] = ROLES, *, actor: str | None = None) -> int:
        """Revoke the identity's live consents for ``roles``; return how many were revoked."""
        roles = sorted(set(roles))
        info = self.show(identity_id)
        moment = self.clock()
        live = sorted({g.role for g in info.grants if g.revoked_at is None and g.role in roles})
        if not live:
            return 0
        record = consent_record("revoked", identity_id, live, actor=actor or self.actor, timestamp=moment)
        with self._change(record) as connection:
            result = connection.execute(
                update(Consent)
                .where(Consent.identity_id == identity_id)
                .where(Consent.role.in_(live))
                .where(Consent.revoked_at.is_(None))
                .values(revoked_at=_naive(moment))
            )
        return int(result.rowcount or 0)

    def erase(self, identity_id: str, *, actor: str | None = None) -> None:
        """Delete the name and every reference embedding, destroy the identity's key, revoke all
        consent; keep the pseudonymous ID so old records still resolve."""
        info = self.show(identity_id)
        moment = self.clock()
        now = _naive(moment)
        roles = sorted({g.role for g in info.grants})
        record = consent_record("erased", identity_id, roles, actor=actor or self.actor, timestamp=moment)
        with self._change(record) as connection:
            connection.execute(
                delete(ReferenceEmbedding).where(ReferenceEmbedding.identity_id == identity_id)
            )
            connection.execute(
                update(Consent)
                .where(Consent.identity_id == identity_id)
                .where(Consent.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            connection.execute(
                update(Identity)
                .where(Identity.identity_id == identity_id)
                .values(display_name=None, name_sealed=None, erased_at=now)
            )
        self.keys.destroy(identity_id)

    def seal_plaintext(self) -> int:
        """Seal names and embeddings enrolled before schema 0005 under new per-identity keys; return
        how many identities were sealed. ``init`` runs it: from then on their erasure shreds too (the
        plaintext they had may still sit in old WAL segments and backups taken before)."""
        with self._session(write=True) as connection:
            people = connection.execute(
                select(Identity.identity_id, Identity.display_name).where(Identity.erased_at.is_(None))
            ).all()
            loose = connection.execute(
                select(
                    ReferenceEmbedding.id, ReferenceEmbedding.identity_id, ReferenceEmbedding.vector
                ).where(ReferenceEmbedding.sealed.is_(False))
            ).all()
            names = {row.identity_id: row.display_name for row in people if row.display_name is not None}
            touched = set(names) | {row.identity_id for row in loose}
            for identity_id in sorted(touched):
                if not self.keys.has(identity_id):
                    self.keys.create(identity_id)
            for identity_id, name in names.items():
                connection.execute(
                    update(Identity)
                    .where(Identity.identity_id == identity_id)
                    .values(display_name=None, name_sealed=self.keys.seal(identity_id, "name", name.encode()))
                )
            for row in loose:
                connection.execute(
                    update(ReferenceEmbedding)
                    .where(ReferenceEmbedding.id == row.id)
                    .values(
                        vector=self.keys.seal(row.identity_id, "embedding", bytes(row.vector)), sealed=True
                    )
                )
        return len(touched)

    def show(self, identity_id: str) -> IdentityInfo:
        found = self._load(identity_id)
        if not found:
            raise NotFound(f"no identity {identity_id!r} in the consent registry ('consent list' shows them)")
        return found[0]

    def identities(self) -> list[IdentityInfo]:
        return self._load(None)

    def _load(self, identity_id: str | None) -> list[IdentityInfo]:
        with self._session() as connection:
            people = select(Identity).order_by(Identity.created_at, Identity.identity_id)
            grants = select(Consent).order_by(Consent.id)
            counts = select(ReferenceEmbedding.identity_id, ReferenceEmbedding.model_id)
            if identity_id is not None:
                people = people.where(Identity.identity_id == identity_id)
                grants = grants.where(Consent.identity_id == identity_id)
                counts = counts.where(ReferenceEmbedding.identity_id == identity_id)
            identity_rows = connection.execute(people).all()
            grant_rows = connection.execute(grants).all()
            embedding_rows = connection.execute(counts).all()
        by_identity: dict[str, list[Grant]] = {}
        for g in grant_rows:
            by_identity.setdefault(g.identity_id, []).append(
                Grant(
                    g.role,
                    _aware(g.valid_from) or datetime.min.replace(tzinfo=UTC),
                    _aware(g.valid_until),
                    _aware(g.revoked_at),
                    g.evidence_sha256,
                )
            )
        models: dict[str, dict[str, int]] = {}
        for e in embedding_rows:
            per = models.setdefault(e.identity_id, {})
            per[e.model_id] = per.get(e.model_id, 0) + 1
        return [
            IdentityInfo(
                identity_id=row.identity_id,
                display_name=self._name(row),
                erased=row.erased_at is not None,
                grants=tuple(by_identity.get(row.identity_id, ())),
                embeddings=models.get(row.identity_id, {}),
            )
            for row in identity_rows
        ]

    def _name(self, row: Any) -> str | None:
        if row.name_sealed is not None:
            return self.keys.open(row.identity_id, "name", bytes(row.name_sealed)).decode()
        return None if row.display_name is None else str(row.display_name)

    def _vector(self, row: Any) -> np.ndarray:
        data = bytes(row.vector)
        if row.sealed:
            data = self.keys.open(row.identity_id, "embedding", data)
        return np.frombuffer(data, dtype="<f4")

    def _opened(self, model_id: str, rows: Sequence[Any]) -> list[np.ndarray]:
        """The rows' vectors, opened once per row and kept while the row exists.

        Reference rows never change, only disappear: entries of rows no longer returned (erased
        people) are dropped at once, so no erased embedding lingers in this process either.
        """
        with self._cache_lock:
            cache = self._vectors.setdefault(model_id, {})
            wanted = {(int(r.id), str(r.identity_id)) for r in rows}
            for gone in set(cache) - wanted:
                del cache[gone]
            vectors = []
            for row in rows:
                key = (int(row.id), str(row.identity_id))
                if key not in cache:
                    cache[key] = self._vector(row)
                vectors.append(cache[key])
        return vectors

    def nearest(self, embedding: Embedding, *, metric: Metric) -> Match | None:
        """The closest enrolled identity by embeddings of the same model (others are never compared)."""
        with self._session() as connection:
            rows = connection.execute(
                select(
                    ReferenceEmbedding.id,
                    ReferenceEmbedding.identity_id,
                    ReferenceEmbedding.vector,
                    ReferenceEmbedding.sealed,
                ).where(ReferenceEmbedding.model_id == embedding.model_id)
            ).all()
        if not rows:
            return None
        references = np.stack(self._opened(embedding.model_id, rows)).astype(np.float64)
        probe = np.asarray(embedding.vector, dtype=np.float64)
        if references.shape[1] != probe.shape[0]:
            raise BadInput(
                f"embedding has {probe.shape[0]} dimensions, the registry's {embedding.model_id} "
                f"references have {references.shape[1]}"
            )
        if metric == "euclidean":
            distances = np.linalg.norm(references - probe, axis=1)
        else:
            norms = np.linalg.norm(references, axis=1) * np.linalg.norm(probe)
            distances = 1.0 - (references @ probe) / np.where(norms == 0, 1.0, norms)
        best = int(np.argmin(distances))
        return Match(identity_id=str(rows[best].identity_id), distance=float(distances[best]))

    def active_roles(self, identity_id: str) -> set[str]:
        """Roles the identity has active consent for, read now (revocation applies immediately)."""
        return self.show(identity_id).active_roles(self.clock())
