"""The consent registry's storage guarantees, with a fake face backend (the real models are elsewhere):

- every consent change is a signed record in the audit log (pseudonymous ID, roles, actor, time);
- revocation is effective in database order, whatever the checking host's clock says;
- erasure is crypto-shredding: no name or embedding bytes remain anywhere in the database files;
- enrolling an enrolled face names who it is and how to add a role.
"""

from __future__ import annotations

import base64
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog, Filters
from fusionguard.audit.verify import verify_log
from fusionguard.errors import AlreadyEnrolled, ConfigError
from fusionguard.faces.base import Embedding
from fusionguard.faces.fake import FakeFaceBackend
from fusionguard.media import encode_image
from fusionguard.registry import ConsentRegistry, IdentityKeyStore, enrol_photos
from tests.conftest import FixedClock
from tests.support.postgres import PostgresCluster

NAME = "Zebulon Quixote-Fairweather"


def _registry(db_url: str, ring: KeyRing, home: Path, clock: FixedClock) -> ConsentRegistry:
    log = AuditLog.open(db_url, ring, clock=clock, witness_path=home / "log-head.note")
    return ConsentRegistry(
        log.engine, keys=IdentityKeyStore(home / "identity-keys"), log=log, clock=clock, actor="admin-1"
    )


def _embedding(seed: int) -> Embedding:
    vector = np.random.default_rng(seed).standard_normal(128).astype(np.float32)
    return Embedding("fake-face-v1", vector / np.linalg.norm(vector))


def test_every_consent_change_is_a_signed_record_without_personal_data(
    db_url: str, ring: KeyRing, home: Path, clock: FixedClock
) -> None:
    registry = _registry(db_url, ring, home, clock)
    embedding = _embedding(1)
    identity = registry.enroll(NAME, [embedding], roles=["source"], photo_hashes=["ab" * 32])
    clock.advance(seconds=1)
    assert registry.grant(identity, ["target"]) == ["target"]
    assert registry.grant(identity, ["target"]) == []  # already live: nothing to record
    clock.advance(seconds=1)
    assert registry.revoke(identity, ["source"]) == 1
    clock.advance(seconds=1)
    registry.erase(identity)
    assert registry.log is not None
    records = registry.log.query(Filters(identity=identity))
    assert [(r.record.kind, r.record.decision) for r in records] == [
        ("consent", "enrolled"),
        ("consent", "granted"),
        ("consent", "revoked"),
        ("consent", "erased"),
    ]
    assert [r.record.extra["consent"]["roles"] for r in records] == [
        ["source"],
        ["target"],
        ["source"],
        ["source", "target"],
    ]
    assert {r.record.actor for r in records} == {"admin-1"}
    assert [r.record.timestamp for r in records] == sorted(r.record.timestamp for r in records)
    for stored in records:
        text_form = str(stored.envelope)
        assert NAME not in text_form
        assert base64.b64encode(embedding.vector.tobytes()).decode()[:40] not in text_form
    assert verify_log(registry.log, full=True).ok


@pytest.mark.parametrize("lag_seconds", [10, -10])
def test_revocation_is_effective_in_database_order_whatever_the_hosts_clock(
    db_url: str, ring: KeyRing, home: Path, lag_seconds: int
) -> None:
    now = datetime.now(UTC)
    admin = _registry(db_url, ring, home, FixedClock(now))
    worker = _registry(db_url, ring, home, FixedClock(now - timedelta(seconds=lag_seconds)))
    identity = admin.enroll(NAME, [_embedding(2)], roles=["source", "target"], photo_hashes=["cd" * 32])
    assert worker.active_roles(identity) == {"source", "target"}  # consent committed: live everywhere
    admin.revoke(identity, ["target"])
    assert worker.active_roles(identity) == {"source"}  # the revocation committed: refused everywhere
    worker.revoke(identity, ["source"])
    assert admin.active_roles(identity) == set()
    admin.grant(identity, ["source"])
    assert worker.active_roles(identity) == {"source"}


def _files_holding(root: Path, needles: dict[str, bytes]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for label, needle in needles.items():
            if needle in data:
                found.setdefault(label, []).append(str(path.relative_to(root)))
    return found


def _needles(embedding: Embedding) -> dict[str, bytes]:
    raw = np.asarray(embedding.vector, dtype="<f4").tobytes()
    return {
        "name": NAME.encode(),
        "embedding": raw,
        "embedding head": raw[:32],
        "embedding tail": raw[-32:],
    }


@pytest.mark.postgres
def test_an_erased_identity_leaves_no_name_or_embedding_bytes_in_postgres_files_or_wal(
    postgres: PostgresCluster | None, ring: KeyRing, home: Path, clock: FixedClock
) -> None:
    if postgres is None:
        pytest.skip("PostgreSQL is not installed (mandatory in CI)")
    url = postgres.create_database("shredding")
    from fusionguard.store import db

    engine = db.open_engine(url)
    db.upgrade(engine)
    registry = _registry(url, ring, home, clock)
    embedding = _embedding(3)
    identity = registry.enroll(NAME, [embedding], roles=["source"], photo_hashes=["ef" * 32])
    with engine.connect() as connection:
        connection.execute(text("CHECKPOINT"))  # the rows reach the heap files, not only the WAL
    registry.erase(identity)
    with engine.connect() as connection:
        connection.execute(text("CHECKPOINT"))
        connection.commit()
    engine.dispose()
    assert not (home / "identity-keys" / f"{identity}.key").exists()
    subprocess.run(["sync"], check=False)
    found = _files_holding(postgres.datadir, {**_needles(embedding), "identity ID": identity.encode()})
    assert "identity ID" in found  # the scan does see what the database wrote (pseudonyms stay)
    assert {k: v for k, v in found.items() if k != "identity ID"} == {}, found


def test_an_erased_identity_leaves_no_name_or_embedding_bytes_in_sqlite_files(
    tmp_path: Path, ring: KeyRing, home: Path, clock: FixedClock
) -> None:
    from fusionguard.store import db

    url = f"sqlite:///{tmp_path / 'shred.db'}"
    db.upgrade(db.open_engine(url))
    registry = _registry(url, ring, home, clock)
    embedding = _embedding(4)
    identity = registry.enroll(NAME, [embedding], roles=["source"], photo_hashes=["0f" * 32])
    registry.erase(identity)
    found = _files_holding(tmp_path, _needles(embedding))
    assert found == {}, found
    with pytest.raises(ConfigError, match="not in"):
        registry.keys.key(identity)


def test_sealed_data_is_unreadable_without_the_identity_key(
    db_url: str, ring: KeyRing, home: Path, clock: FixedClock
) -> None:
    registry = _registry(db_url, ring, home, clock)
    identity = registry.enroll(NAME, [_embedding(5)], roles=["source"], photo_hashes=["12" * 32])
    with registry.engine.connect() as connection:
        name, stored_name = connection.execute(
            text("SELECT name_sealed, display_name FROM consent_identities")
        ).one()
        vector, sealed = connection.execute(text("SELECT vector, sealed FROM consent_embeddings")).one()
    assert stored_name is None and NAME.encode() not in bytes(name)
    assert sealed and len(bytes(vector)) == 12 + 128 * 4 + 16
    assert registry.show(identity).display_name == NAME
    assert registry.nearest(_embedding(5), metric="euclidean") is not None
    other_home = _registry(db_url, ring, home / "elsewhere", clock)  # a host without the key store
    with pytest.raises(ConfigError, match="does not share the identity key directory"):
        other_home.show(identity)


def test_enrolling_an_enrolled_face_names_the_identity_and_offers_a_grant(
    db_url: str, ring: KeyRing, home: Path, clock: FixedClock, tmp_path: Path
) -> None:
    registry = _registry(db_url, ring, home, clock)
    backend = FakeFaceBackend()
    photos = []
    for number in range(2):
        rgb = np.random.default_rng(number).integers(0, 255, (64, 64, 3), dtype=np.uint8)
        backend.add(rgb, [backend.face("ada", noise=0.05 * number)])
        photos.append(tmp_path / f"ada{number}.png")
        photos[-1].write_bytes(encode_image(rgb, "png"))
    identity = enrol_photos(registry, backend, "Ada", [photos[0]], roles=["source"])
    with pytest.raises(AlreadyEnrolled, match=rf"already enrolled as {identity} \(Ada") as refused:
        enrol_photos(registry, backend, "Ada again", [photos[1]], roles=["target"])
    assert refused.value.identity_id == identity
    assert f"fusionguard consent grant {identity} --role target" in str(refused.value)
    assert len(registry.identities()) == 1
    registry.grant(identity, ["target"])
    assert registry.active_roles(identity) == {"source", "target"}
    registry.erase(identity)  # an erased person has no reference left: enrolling them again works
    again = enrol_photos(registry, backend, "Ada", [photos[1]], roles=["source"])
    assert again != identity


def test_identities_enrolled_before_sealing_are_sealed_by_init(
    db_url: str, ring: KeyRing, home: Path, clock: FixedClock
) -> None:
    registry = _registry(db_url, ring, home, clock)
    embedding = _embedding(6)
    raw = np.asarray(embedding.vector, dtype="<f4").tobytes()
    with registry.engine.begin() as connection:  # what schema 0004 wrote: plaintext
        connection.execute(
            text(
                "INSERT INTO consent_identities (identity_id, display_name, created_at) "
                "VALUES ('id-00000000000000aa', :name, '2026-11-25 00:00:00')"
            ),
            {"name": NAME},
        )
        connection.execute(
            text(
                "INSERT INTO consent_embeddings (identity_id, model_id, vector, photo_sha256) "
                "VALUES ('id-00000000000000aa', 'fake-face-v1', :vector, :photo)"
            ),
            {"vector": raw, "photo": "aa" * 32},
        )
    assert registry.show("id-00000000000000aa").display_name == NAME  # still readable as it was
    assert registry.seal_plaintext() == 1
    assert registry.seal_plaintext() == 0
    with registry.engine.connect() as connection:
        name, sealed_name = connection.execute(
            text("SELECT display_name, name_sealed FROM consent_identities")
        ).one()
        vector, sealed = connection.execute(text("SELECT vector, sealed FROM consent_embeddings")).one()
    assert name is None and NAME.encode() not in bytes(sealed_name)
    assert sealed and raw not in bytes(vector)
    assert registry.show("id-00000000000000aa").display_name == NAME
    match = registry.nearest(embedding, metric="euclidean")
    assert match is not None and match.identity_id == "id-00000000000000aa" and match.distance < 1e-6
