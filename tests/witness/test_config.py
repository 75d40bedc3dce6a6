"""Where a home configures witnessing, and a Guard that starts it."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fusionguard.audit.keys import KeyRing
from fusionguard.checks.nsfw import FakeNsfw
from fusionguard.errors import ConfigError
from fusionguard.faces import FakeFaceBackend
from fusionguard.guard import Guard
from fusionguard.store import db
from fusionguard.witness.config import load_witnessing
from fusionguard.witness.cosignature import Verifier, raw_public


def _policy(home: Path) -> None:
    vkey = Verifier.cosigner("w.test", raw_public(Ed25519PrivateKey.generate().public_key())).vkey
    (home / "witness-policy").write_text(f"witness w1 {vkey} http://127.0.0.1:9\nquorum w1\n")


def test_cadence_file_is_validated(home: Path) -> None:
    assert load_witnessing(home) is None
    _policy(home)
    defaults = load_witnessing(home)
    assert defaults is not None and defaults.every_appends == 256 and defaults.every_seconds == 5.0
    (home / "witnessing.yaml").write_text("every_appends: 16\nevery_seconds: 0.5\n")
    tuned = load_witnessing(home)
    assert tuned is not None and (tuned.every_appends, tuned.every_seconds) == (16, 0.5)
    (home / "witnessing.yaml").write_text("every_apends: 16\n")
    with pytest.raises(ConfigError, match="unknown key 'every_apends'"):
        load_witnessing(home)
    (home / "witnessing.yaml").write_text("every_appends: -1\n")
    with pytest.raises(ConfigError, match="positive number"):
        load_witnessing(home)


def test_a_guard_witnesses_its_log_when_the_home_has_a_policy(home: Path, ring: KeyRing) -> None:
    url = f"sqlite:///{home / 'audit.db'}"
    db.upgrade(db.open_engine(url))
    plain = Guard.from_policy(home=home, db_url=url, faces=FakeFaceBackend(), nsfw=FakeNsfw())
    assert plain.log.append_observers == []
    _policy(home)
    witnessed = Guard.from_policy(home=home, db_url=url, faces=FakeFaceBackend(), nsfw=FakeNsfw())
    assert len(witnessed.log.append_observers) == 1  # the background client, counting appends
