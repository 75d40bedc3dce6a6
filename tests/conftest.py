"""Shared fixtures: a fixed clock, a private home with a key ring, and databases.

``db_url`` runs a test on SQLite and on a real PostgreSQL server (a throwaway cluster on loopback,
started once per session). Without PostgreSQL installed the PostgreSQL half skips on a laptop and fails
in CI (``CI=true``), where it is mandatory.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fusionguard.audit.keys import KeyRing
from fusionguard.checks.nsfw import OpenNsfwOnnx
from fusionguard.faces import DlibBackend
from fusionguard.store import db
from tests.support.postgres import PostgresCluster, find_bindir

_database_numbers = itertools.count()


class FixedClock:
    """A clock tests advance by hand."""

    def __init__(self, start: datetime = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def ring(home: Path, clock: FixedClock) -> KeyRing:
    return KeyRing.create(home / "keys", now=clock())


@pytest.fixture(scope="session")
def faces() -> DlibBackend:
    """The real offline face backend, loaded once per test session."""
    return DlibBackend()


@pytest.fixture(scope="session")
def nsfw() -> OpenNsfwOnnx:
    """The real open_nsfw model, loaded once per test session."""
    return OpenNsfwOnnx()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster | None]:
    if find_bindir() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is mandatory in CI but initdb was not found")
        yield None
        return
    cluster = PostgresCluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database migrated to head, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit.db'}"
    else:
        cluster = request.getfixturevalue("postgres")
        if cluster is None:
            pytest.skip("PostgreSQL is not installed (mandatory in CI)")
        url = cluster.create_database(f"fg{next(_database_numbers)}_{os.getpid()}")
    engine = db.open_engine(url)
    db.upgrade(engine)
    engine.dispose()
    return url
