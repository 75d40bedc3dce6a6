"""The CLI for an admin: one-line errors instead of tracebacks, no writes through planted links, and
commands that refuse what makes no sense (issue 11, defects 12 and 16)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog
from fusionguard.cli import main
from fusionguard.config import Settings
from fusionguard.errors import BadInput, PolicyError
from fusionguard.media import encode_image
from fusionguard.policy import Policy
from tests.audit.records import run_record
from tests.test_cli import one_line_error, run


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    assert main(["--home", str(path), "init"]) == 0
    return path


@pytest.fixture
def log(home: Path) -> AuditLog:
    settings = Settings.resolve(home)
    return AuditLog.open(settings.db_url, KeyRing.load(settings.keys_dir), witness_path=settings.witness_path)


def no_traceback(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


# -- defect 12: one-line errors ------------------------------------------------------------------------


def test_deeply_nested_policy_yaml(tmp_path: Path, home: Path) -> None:
    bomb = tmp_path / "deep.yaml"
    bomb.write_text("name: x\nversion: 1\nnsfw: " + "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises(PolicyError, match="nested too deeply"):
        Policy.load(bomb)
    photo = tmp_path / "photo.png"
    photo.write_bytes(encode_image(skimage.data.astronaut(), "png"))
    assert "nested too deeply" in one_line_error(run(home, "check", str(photo), "--policy", str(bomb)))


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--since", "0001-01-01T00:00:00+14:00"], "outside the range"),
        (["--until", "9999-12-31T23:59:59-14:00"], "outside the range"),
        (["--limit", "9223372036854775808"], "--limit"),
        (["--watermark-id", "xyz"], "16 hex digits"),
    ],
)
def test_out_of_range_list_arguments(home: Path, args: list[str], says: str) -> None:
    assert says in no_traceback(run(home, "audit", "list", *args), 2)


def test_non_utf8_checkpoint_file(home: Path, tmp_path: Path) -> None:
    note = tmp_path / "head.note"
    note.write_bytes(b"\xff\xfe not a note")
    assert "not UTF-8 text" in one_line_error(run(home, "audit", "verify", "--checkpoint", str(note)))
    proof = run(home, "audit", "proof", "--from-checkpoint", str(note))
    assert "not UTF-8 text" in one_line_error(proof)


def test_paths_adapter_with_an_empty_target_list() -> None:
    from fusionguard.adapters import protect_paths
    from fusionguard.audit.record import ModelInfo

    @protect_paths(object(), model=ModelInfo("m", "1", "mit"))  # type: ignore[arg-type]
    def process_image(source_paths: list[str], target_path: str, output_path: str) -> None:
        raise AssertionError("never called")

    with pytest.raises(BadInput, match=r"argument 'target_path' must be a path, got list"):
        process_image(["a.png"], [], "out.png")


@pytest.mark.parametrize(
    "command",
    [
        ["keys", "export-public", "--out"],
        ["audit", "checkpoint", "--export"],
        ["audit", "export", "--out"],
        ["audit", "proof", "0", "--out"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_outputs_never_write_through_a_planted_symlink(
    home: Path, log: AuditLog, tmp_path: Path, command: list[str]
) -> None:
    log.append(run_record(1, datetime.now(UTC)))
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "out.txt"
    link.symlink_to(victim)
    result = run(home, *command, str(link))
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "precious"
    assert not link.is_symlink() and link.stat().st_size > 0
    assert not list(tmp_path.glob(".out.txt.*"))  # no temporary file left


def test_read_only_sqlite_shm_is_said_not_crashed(home: Path) -> None:
    shm = home / "audit.db-shm"
    shm.write_bytes(b"\0" * 32768)
    shm.chmod(0o444)
    message = one_line_error(run(home, "audit", "list"))
    assert "read-only" in message and "audit.db-shm" in message


# -- defect 16: admin commands -------------------------------------------------------------------------


def test_takedown_refuses_blocked_repeated_and_unexplained(home: Path, log: AuditLog) -> None:
    allowed = log.append(run_record(1, datetime.now(UTC)))
    blocked = log.append(run_record(2, datetime.now(UTC), decision="blocked"))
    assert "reason is empty" in one_line_error(
        run(home, "audit", "takedown", allowed.record_id, "--reason", " ")
    )
    assert "was blocked" in one_line_error(run(home, "audit", "takedown", blocked.record_id, "--reason", "x"))
    assert run(home, "audit", "takedown", allowed.record_id, "--reason", "leaked").returncode == 0
    again = run(home, "audit", "takedown", allowed.record_id, "--reason", "leaked again")
    assert "already taken down" in one_line_error(again)
    assert log.count() == 3


def test_list_has_a_header_and_shows_the_newest_first(home: Path, log: AuditLog) -> None:
    for number in range(3):
        log.append(run_record(number, datetime.now(UTC)))
    listed = run(home, "audit", "list", "--limit", "1")
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["SEQ", "TIME", "(UTC)"]
    assert len(lines) == 2 and lines[1].split()[0] == "2"
    oldest = json.loads(run(home, "audit", "list", "--limit", "1", "--oldest-first", "--json").stdout)
    assert oldest["ok"] is True and [r["seq"] for r in oldest["records"]] == [0]


def test_verify_proof_with_a_stale_key_file_says_so(home: Path, log: AuditLog, tmp_path: Path) -> None:
    receipt = log.append(run_record(1, datetime.now(UTC)))
    proof, stale = tmp_path / "proof.json", tmp_path / "stale.json"
    assert run(home, "audit", "proof", receipt.record_id, "--out", str(proof)).returncode == 0
    stale.write_text(json.dumps(KeyRing.create(tmp_path / "other", now=datetime.now(UTC)).export_public()))
    message = one_line_error(run(home, "audit", "verify-proof", str(proof), "--public-key", str(stale)))
    assert "does not contain the key that signed this proof; export the keys again" in message
    assert "tamper" not in message
    good = tmp_path / "good.json"
    assert run(home, "keys", "export-public", "--out", str(good)).returncode == 0
    checked = run(home, "audit", "verify-proof", str(proof), "--public-key", str(good), "--json")
    assert json.loads(checked.stdout)["ok"] is True


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "list"],
        ["audit", "show", "1"],
        ["audit", "verify"],
        ["audit", "export"],
        ["audit", "checkpoint"],
        ["audit", "proof", "1"],
        ["audit", "takedown", "1", "--reason", "x"],
        ["keys", "show"],
        ["keys", "export-public"],
        ["keys", "rotate"],
        ["consent", "list"],
        ["consent", "show", "id-0"],
        ["consent", "revoke", "id-0"],
        ["consent", "erase", "id-0"],
        ["consent", "enroll", "--name", "x", "--photo", "p.png"],
        ["check", "p.png"],
        ["trace", "."],
        ["recover"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_a_home_never_initialised(tmp_path: Path, command: list[str]) -> None:
    home = tmp_path / "never"
    (tmp_path / "p.png").write_bytes(encode_image(np.zeros((64, 64, 3), np.uint8), "png"))
    result = subprocess.run(
        [sys.executable, "-m", "fusionguard.cli", "--home", str(home), *command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "FUSIONGUARD_DB"},
        check=False,
    )
    assert "run 'fusionguard --home" in one_line_error(result) and "init' first" in result.stderr
    assert not home.exists()  # nothing created, not even an empty audit.db


def test_recover_and_init_settle_a_killed_runs_staged_output(home: Path, tmp_path: Path) -> None:
    from fusionguard.release import ReleaseJournal

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    journal = ReleaseJournal(home / "journal")
    for name in ("a.png", "b.png"):
        entry = journal.begin(
            run_id=("a" if name == "a.png" else "b") * 32,
            record_id="c" * 32,
            destination=tmp_path / name,
            scratch=scratch,
        )
        entry.path.write_text(
            entry.to_json().decode().replace(f'"pid": {os.getpid()}', f'"pid": {int(dead.stdout)}')
        )
        entry.staged.write_bytes(b"watermarked, never recorded")
    (home / "journal" / f"{'b' * 32}.json").rename(tmp_path / "held-back.json")
    recovered = run(home, "recover")
    assert recovered.returncode == 0, recovered.stderr
    assert (
        "discarded unrecorded staged output" in recovered.stdout
        and "1 staged release(s) settled" in recovered.stdout
    )
    assert not (tmp_path / f".a.png.{'a' * 32}.partial").exists()
    (tmp_path / "held-back.json").rename(home / "journal" / f"{'b' * 32}.json")
    initialised = run(home, "init")
    assert initialised.returncode == 0 and "recovered: discarded" in initialised.stdout
    assert not list(tmp_path.glob(".*.partial")) and not list((home / "journal").glob("*.json"))
