"""Where fusionguard keeps its state, and the clock it reads.

``--home DIR`` / ``FUSIONGUARD_HOME`` (default ``~/.fusionguard``) holds the key ring, the per-run
workspaces and the log witness file; ``--db URL`` / ``FUSIONGUARD_DB`` is a SQLAlchemy URL, by default a
SQLite file under the home.

Every time-dependent call takes ``now`` or a :data:`Clock`, so tests pass a fixed clock instead of
patching ``datetime``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fusionguard.errors import ConfigError

Clock = Callable[[], datetime]
HOME_ENV = "FUSIONGUARD_HOME"
DB_ENV = "FUSIONGUARD_DB"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Settings:
    home: Path
    db_url: str

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def workspace_root(self) -> Path:
        return self.home / "workspaces"

    @property
    def witness_path(self) -> Path:
        return self.home / "log-head.note"

    @classmethod
    def resolve(cls, home: str | Path | None = None, db_url: str | None = None) -> Settings:
        """Explicit arguments win over the environment, which wins over the defaults."""
        raw_home = home if home is not None else os.environ.get(HOME_ENV)
        path = Path(raw_home).expanduser() if raw_home else Path.home() / ".fusionguard"
        if path.exists() and not path.is_dir():
            raise ConfigError(f"home {path} exists and is not a directory")
        url = db_url or os.environ.get(DB_ENV) or f"sqlite:///{path.absolute() / 'audit.db'}"
        return cls(home=path.absolute(), db_url=url)
