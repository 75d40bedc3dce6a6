"""Where fusionguard keeps its state, and the clock it reads.

``--home DIR`` / ``FUSIONGUARD_HOME`` (default ``~/.fusionguard``) holds the key ring, the per-run
workspaces and the log witness file; ``--db URL`` / ``FUSIONGUARD_DB`` is a SQLAlchemy URL, by default a
SQLite file under the home.

Every time-dependent call takes ``now`` or a :data:`Clock`, so tests pass a fixed clock instead of
patching ``datetime``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fusionguard.errors import ConfigError

Clock = Callable[[], datetime]
HOME_ENV = "FUSIONGUARD_HOME"
DB_ENV = "FUSIONGUARD_DB"
#: A public-key file (``keys export-public``) that pins the keys ``audit verify`` accepts.
TRUSTED_KEYS_ENV = "FUSIONGUARD_TRUSTED_KEYS"
#: Where per-identity encryption keys live (default ``<home>/identity-keys``); a fleet shares one.
IDENTITY_KEYS_ENV = "FUSIONGUARD_IDENTITY_KEYS"


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

    @property
    def trusted_keys(self) -> Path | None:
        """The pinned verification keys (``FUSIONGUARD_TRUSTED_KEYS``), if configured."""
        value = os.environ.get(TRUSTED_KEYS_ENV)
        return Path(value).expanduser() if value else None

    @property
    def identity_keys_dir(self) -> Path:
        value = os.environ.get(IDENTITY_KEYS_ENV)
        return Path(value).expanduser() if value else self.home / "identity-keys"

    @classmethod
    def resolve(cls, home: str | Path | None = None, db_url: str | None = None) -> Settings:
        """Explicit arguments win over the environment, which wins over the defaults."""
        raw_home = home if home is not None else os.environ.get(HOME_ENV)
        path = Path(raw_home).expanduser() if raw_home else Path.home() / ".fusionguard"
        if path.exists() and not path.is_dir():
            raise ConfigError(f"home {path} exists and is not a directory")
        url = db_url or os.environ.get(DB_ENV) or f"sqlite:///{path.absolute() / 'audit.db'}"
        return cls(home=path.absolute(), db_url=url)


def make_private_home(home: Path) -> str | None:
    """Create ``home`` 0700, or tighten an existing one of ours; return what was changed, if anything.

    The home holds the signing keys, the identity keys and (by default) the consent registry's
    database: no other local user may list or read it.
    """
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = home.stat()
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o077:
        return None
    if info.st_uid != os.geteuid():
        raise ConfigError(
            f"home {home} (mode {mode:04o}) belongs to user {info.st_uid}, not to you; "
            "use a home of your own (--home DIR)"
        )
    os.chmod(home, 0o700)
    return f"tightened home {home} from mode {mode:04o} to 0700"
