"""Trust roots: the witness file, pinned verification keys, key-file ownership, and key rotation."""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fusionguard.audit.keys import KeyRing, LocalSigner
from fusionguard.audit.log import AuditLog
from fusionguard.audit.verify import verify_log
from fusionguard.cli import main
from fusionguard.errors import SigningKeyError
from tests.audit.records import run_record
from tests.audit.test_log import attack
from tests.conftest import FixedClock


def _log(db_url: str, ring: KeyRing, home: Path, clock: FixedClock) -> AuditLog:
    return AuditLog.open(db_url, ring, clock=clock, witness_path=home / "log-head.note")


def _fill(log: AuditLog, clock: FixedClock, start: int, n: int) -> None:
    for i in range(start, start + n):
        clock.advance(seconds=1)
        log.append(run_record(i, clock()))


def _kinds(log: AuditLog, **options: bool) -> set[str]:
    return {p.kind for p in verify_log(log, **options).problems}


# -- the witness ----------------------------------------------------------------------------------


def test_a_deleted_witness_is_a_named_problem_unless_accepted(
    db_url: str, ring: KeyRing, home: Path, clock: FixedClock
) -> None:
    log = _log(db_url, ring, home, clock)
    _fill(log, clock, 0, 6)
    old_head = log.state()[2]
    _fill(log, clock, 6, 2)
    # The insider rolls the database back to an older genuine head and deletes the witness.
    attack(
        log,
        "DELETE FROM audit_record_identities WHERE seq >= 6",
        "DELETE FROM audit_records WHERE seq >= 6",
        f"UPDATE log_state SET head_note = '{old_head}', tree_size = 6",
    )
    (home / "log-head.note").unlink()
    assert "missing witness" in _kinds(log)
    assert _kinds(log, require_witness=False) == set()  # what an explicit --allow-missing-witness gets


@pytest.mark.parametrize("garbage", [b"\xff\xfe\x00garbage", b"not a note\n12\n", b"x" * 5000])
def test_a_garbage_witness_is_a_one_line_named_problem(
    tmp_path: Path, garbage: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    assert main(["--home", str(home), "init"]) == 0
    log = AuditLog.open(
        f"sqlite:///{home / 'audit.db'}", KeyRing.load(home / "keys"), witness_path=home / "log-head.note"
    )
    log.append(run_record(1, datetime.now(UTC)))
    (home / "log-head.note").write_bytes(garbage)
    capsys.readouterr()
    assert main(["--home", str(home), "audit", "verify"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err
    problems = [line for line in err.splitlines() if line.startswith("problem:")]
    assert len(problems) == 1 and ("witness" in problems[0]), err


# -- pinned keys ----------------------------------------------------------------------------------


def _insider_adds_key(keys_dir: Path) -> str:
    """An insider with write access to the home but not the private key adds their own key."""
    signer = LocalSigner.generate()
    key_file = keys_dir / f"signing-{signer.key_id}.pem"
    key_file.write_bytes(signer.private_pem(None))
    key_file.chmod(0o600)
    ring = json.loads((keys_dir / "ring.json").read_text())
    ring["keys"].append(
        {
            "key_id": signer.key_id,
            "public_key": base64.b64encode(signer.public_key).decode(),
            "created": "2026-11-25T12:00:00+00:00",
            "private_key_file": key_file.name,
        }
    )
    (keys_dir / "ring.json").write_text(json.dumps(ring))
    return signer.key_id


def test_a_forged_record_signed_by_a_key_added_to_the_ring_is_rejected_by_pinned_keys(
    db_url: str, ring: KeyRing, home: Path, clock: FixedClock, tmp_path: Path
) -> None:
    pinned = tmp_path / "trusted.json"
    pinned.write_text(json.dumps(ring.export_public()))  # exported before the insider came
    log = _log(db_url, ring, home, clock)
    _fill(log, clock, 0, 3)
    forger = _insider_adds_key(home / "keys")
    forged = _log(db_url, KeyRing.load(home / "keys"), home, clock)
    _fill(forged, clock, 100, 1)
    assert forged.get("3").key_id == forger
    # The home's ring now lists the forger's key, so a verifier that trusts the ring is fooled ...
    assert verify_log(forged, full=True).ok
    # ... one that pins the exported keys is not.
    problems = verify_log(forged, full=True, trusted_keys=KeyRing.load_public(pinned)).problems
    assert {p.kind for p in problems} >= {"unknown key"}
    assert any(p.sequence_numbers == (3,) for p in problems)


def test_cli_verify_with_trusted_keys_flag_and_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    assert main(["--home", str(home), "init"]) == 0
    pinned = tmp_path / "trusted.json"
    assert main(["--home", str(home), "keys", "export-public", "--out", str(pinned)]) == 0
    url = f"sqlite:///{home / 'audit.db'}"
    log = AuditLog.open(url, KeyRing.load(home / "keys"), witness_path=home / "log-head.note")
    log.append(run_record(1, datetime.now(UTC)))
    assert main(["--home", str(home), "audit", "verify", "--trusted-keys", str(pinned)]) == 0
    _insider_adds_key(home / "keys")
    forged = AuditLog.open(url, KeyRing.load(home / "keys"), witness_path=home / "log-head.note")
    forged.append(run_record(2, datetime.now(UTC)))
    assert main(["--home", str(home), "audit", "verify", "--full"]) == 0  # the ring vouches for it
    capsys.readouterr()
    assert main(["--home", str(home), "audit", "verify", "--trusted-keys", str(pinned)]) == 3
    assert "unknown key (seq 1)" in capsys.readouterr().err
    monkeypatch.setenv("FUSIONGUARD_TRUSTED_KEYS", str(pinned))
    assert main(["--home", str(home), "audit", "verify"]) == 3


# -- file ownership and modes ---------------------------------------------------------------------


def test_a_group_or_world_writable_ring_is_refused(ring: KeyRing, home: Path) -> None:
    (home / "keys" / "ring.json").chmod(0o666)
    with pytest.raises(SigningKeyError, match=r"writable by group or others.*chmod go-w"):
        KeyRing.load(home / "keys")
    (home / "keys" / "ring.json").chmod(0o644)
    (home / "keys").chmod(0o777)
    with pytest.raises(SigningKeyError, match=r"key directory .* writable by group or others"):
        KeyRing.load(home / "keys")


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_key_files_owned_by_another_user_are_refused(ring: KeyRing, home: Path, tmp_path: Path) -> None:
    [key] = (home / "keys").glob("signing-*.pem")
    os.chown(key, 65534, 65534)
    with pytest.raises(SigningKeyError, match=r"signing key .* is owned by user 65534"):
        KeyRing.load(home / "keys")
    os.chown(key, 0, 0)
    os.chown(home / "keys" / "ring.json", 65534, 65534)
    with pytest.raises(SigningKeyError, match=r"key ring .* is owned by user 65534"):
        KeyRing.load(home / "keys")
    pinned = tmp_path / "pinned.json"
    pinned.write_text(json.dumps(ring.export_public()))
    os.chown(pinned, 65534, 65534)
    with pytest.raises(SigningKeyError, match="owned by user 65534"):
        KeyRing.load_public(pinned)


# -- rotation -------------------------------------------------------------------------------------


def _rotate(keys_dir: str, times: int) -> None:
    for _ in range(times):
        KeyRing.rotate(Path(keys_dir), now=datetime.now(UTC))


def test_concurrent_rotations_lose_no_key(ring: KeyRing, home: Path) -> None:
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_rotate, args=(str(home / "keys"), 8)) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    entries = json.loads((home / "keys" / "ring.json").read_text())["keys"]
    assert len(entries) == 1 + 6 * 8
    assert len({e["key_id"] for e in entries}) == len(entries)
    assert len(list((home / "keys").glob("signing-*.pem"))) == len(entries)
    assert not list((home / "keys").glob("*.tmp"))
    assert len(KeyRing.load(home / "keys").key_ids) == len(entries)


def test_a_long_lived_log_signs_with_the_new_key_after_rotation(
    db_url: str, ring: KeyRing, home: Path, clock: FixedClock
) -> None:
    log = _log(db_url, ring, home, clock)
    _fill(log, clock, 0, 2)
    assert log.get("1").key_id == ring.signer.key_id
    rotated = KeyRing.rotate(home / "keys", now=clock())  # as 'keys rotate' in another process
    _fill(log, clock, 2, 2)
    assert log.get("2").key_id == rotated.signer.key_id
    assert log.get("3").key_id == rotated.signer.key_id
    assert verify_log(log, full=True).ok


def test_cli_verify_names_a_missing_witness_and_accepts_it_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    assert main(["--home", str(home), "init"]) == 0
    log = AuditLog.open(
        f"sqlite:///{home / 'audit.db'}", KeyRing.load(home / "keys"), witness_path=home / "log-head.note"
    )
    log.append(run_record(1, datetime.now(UTC)))
    (home / "log-head.note").unlink()
    capsys.readouterr()
    assert main(["--home", str(home), "audit", "verify"]) == 3
    assert "problem: missing witness" in capsys.readouterr().err
    assert main(["--home", str(home), "audit", "verify", "--allow-missing-witness"]) == 0
