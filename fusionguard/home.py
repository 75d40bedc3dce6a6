"""Setting up a home, in one place: what ``fusionguard init`` does, also used by the demo and the
benchmarks, and the check every other command makes first.

    report = initialise(Settings.resolve(home, db_url))   # idempotent: creates or upgrades
    require_initialised(settings)                          # a one-line NotInitialised otherwise

``initialise`` creates the home (0700) and the signing key ring when missing, brings the schema to
head, creates the log's state row, sweeps workspaces of killed runs and settles their staged releases
(:mod:`fusionguard.release`). ``require_initialised`` never creates anything: a read-only command on a
home that was never set up must leave it as it found it.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog
from fusionguard.config import Clock, Settings, make_private_home, utc_now
from fusionguard.errors import NotInitialised
from fusionguard.registry.identity_keys import IdentityKeyStore
from fusionguard.registry.registry import ConsentRegistry
from fusionguard.release import JOURNAL_DIR, RecoveryReport, ReleaseJournal, recover
from fusionguard.store import db
from fusionguard.workspace import WorkspaceManager

__all__ = ["InitReport", "initialise", "recover_home", "require_initialised", "sqlite_path"]

RING_FILE = "ring.json"


@dataclass(frozen=True)
class InitReport:
    home: Path
    database: str
    schema: str
    origin: str
    records: int
    signing_key: str
    swept: int
    recovered: RecoveryReport = field(default_factory=RecoveryReport)
    tightened: str | None = None  # what make_private_home changed on an existing home
    sealed: int = 0  # identities enrolled before schema 0005 whose data was sealed now


def sqlite_path(db_url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    try:
        url = make_url(db_url)
    except ArgumentError:
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def require_initialised(settings: Settings) -> None:
    """Raise :class:`NotInitialised` unless ``init`` has run for this home (and SQLite database)."""
    hint = f"run 'fusionguard --home {settings.home} init' first"
    if not settings.home.is_dir():
        raise NotInitialised(f"home {settings.home} does not exist; {hint}")
    if not (settings.keys_dir / RING_FILE).exists():
        raise NotInitialised(f"home {settings.home} has no signing keys; {hint}")
    database = sqlite_path(settings.db_url)
    if database is not None and not database.exists():
        raise NotInitialised(f"database {database} does not exist; {hint}")


def initialise(settings: Settings, *, clock: Clock = utc_now, actor: str | None = None) -> InitReport:
    """Create or upgrade everything a home needs (idempotent)."""
    tightened = make_private_home(settings.home)
    if not (settings.keys_dir / RING_FILE).exists():
        KeyRing.create(settings.keys_dir, now=clock())
    ring = KeyRing.load(settings.keys_dir)
    engine = db.open_engine(settings.db_url)
    try:
        db.upgrade(engine)
    finally:
        engine.dispose()
    swept = WorkspaceManager(settings.workspace_root).sweep()
    log = AuditLog.open(settings.db_url, ring, clock=clock, witness_path=settings.witness_path)
    try:
        recovered = recover_home(settings, log, clock=clock, actor=actor)
        sealed = ConsentRegistry.open(
            settings.db_url, keys=IdentityKeyStore(settings.identity_keys_dir), log=log
        ).seal_plaintext()
        origin, size, _ = log.state()
    finally:
        log.close()
    return InitReport(
        home=settings.home,
        database=db.describe(settings.db_url),
        schema=db.head_revision(),
        origin=origin,
        records=size,
        signing_key=ring.signer.key_id,
        swept=len(swept),
        recovered=recovered,
        tightened=tightened,
        sealed=sealed,
    )


def recover_home(
    settings: Settings, log: AuditLog, *, clock: Clock = utc_now, actor: str | None = None
) -> RecoveryReport:
    """Settle the staged releases that killed runs left in this home's journal."""
    journal = ReleaseJournal(settings.home / JOURNAL_DIR, clock=clock)
    return recover(journal, log, actor=actor or f"recover@{socket.gethostname()}", clock=clock)
