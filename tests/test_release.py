"""Crash-safe release: random SIGKILLs across guarded runs, then the next start settles everything.

The invariant (issue 11, defect 2): after any crash and the next start, no file written by the Guard
exists without a record, and every ``allowed`` record's output is either at its destination or
followed by a signed ``not_released`` record.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog, Filters
from fusionguard.audit.record import ModelInfo
from fusionguard.audit.verify import verify_log
from fusionguard.checks.nsfw import FakeNsfw
from fusionguard.faces import FakeFaceBackend
from fusionguard.guard import Guard, load_watermark_key
from fusionguard.media import encode_image
from fusionguard.policy import Policy
from fusionguard.registry import ConsentRegistry
from fusionguard.registry.identity_keys import IdentityKeyStore
from fusionguard.release import JOURNAL_DIR, ReleaseJournal, staged_path
from fusionguard.watermark import WatermarkCodec
from fusionguard.workspace import WorkspaceManager
from tests.conftest import FixedClock

MODEL = ModelInfo("spine-test", "1", "apache-2.0")
SPINE_POLICY = {"name": "spine", "version": 1, "consent": {"required": False}}

# A child process that runs guarded runs back to back (fake face and NSFW backends: this is a test of
# the spine, not of the models) until it is killed.
CHILD = textwrap.dedent(
    """
    import os, sys, numpy as np
    from pathlib import Path
    from fusionguard.audit.keys import KeyRing
    from fusionguard.audit.log import AuditLog
    from fusionguard.audit.record import ModelInfo
    from fusionguard.checks.nsfw import FakeNsfw
    from fusionguard.faces import FakeFaceBackend
    from fusionguard.guard import Guard, load_watermark_key
    from fusionguard.policy import Policy
    from fusionguard.registry import ConsentRegistry
    from fusionguard.registry.identity_keys import IdentityKeyStore
    from fusionguard.watermark import WatermarkCodec
    from fusionguard.workspace import WorkspaceManager

    home, url, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    log = AuditLog.open(url, KeyRing.load(home / "keys"), witness_path=home / "log-head.note")
    guard = Guard(
        policy=Policy.from_mapping({"name": "spine", "version": 1, "consent": {"required": False}}),
        log=log, faces=FakeFaceBackend(), nsfw=FakeNsfw(0.0),
        registry=ConsentRegistry(log.engine, keys=IdentityKeyStore(home / "identity-keys"), log=log),
        codec=WatermarkCodec(load_watermark_key(home / "keys")),
        workspaces=WorkspaceManager(home / "workspaces"), actor="child",
    )
    import skimage.data
    photo, rng = skimage.data.astronaut(), np.random.default_rng()
    print("ready", flush=True)
    for number in range(10**9):
        top, left = rng.integers(0, 200, 2)
        image = np.ascontiguousarray(photo[top : top + 300, left : left + 300])
        destination = out / f"out-{os.getpid()}-{number}.png"
        guard.run(sources=[], target=image, model=ModelInfo("spine-test", "1", "apache-2.0"),
                  pipeline=lambda run: run.target, output_path=destination)
    """
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _guard(db_url: str, home: Path, ring: KeyRing, clock: FixedClock) -> Guard:
    log = AuditLog.open(db_url, ring, clock=clock, witness_path=home / "log-head.note")
    return Guard(
        policy=Policy.from_mapping(SPINE_POLICY),
        log=log,
        registry=ConsentRegistry(
            log.engine, keys=IdentityKeyStore(home / "identity-keys"), log=log, clock=clock
        ),
        faces=FakeFaceBackend(),
        nsfw=FakeNsfw(0.0),
        codec=WatermarkCodec(load_watermark_key(home / "keys")),
        workspaces=WorkspaceManager(home / "workspaces"),
        clock=clock,
        actor="next-start",
    )


def _assert_invariant(guard: Guard, out: Path) -> tuple[int, int]:
    """No orphan file, every allowed record released or followed by a not-released record."""
    files = {p.name: _sha256(p) for p in out.iterdir()}
    assert not [name for name in files if name.endswith(".partial")], "staged outputs left behind"
    records = guard.log.query()
    allowed = {s.record.record_id: s.record for s in records if s.record.decision == "allowed"}
    recorded_outputs = {r.output.sha256 for r in allowed.values() if r.output is not None}
    orphans = [name for name, digest in files.items() if digest not in recorded_outputs]
    assert not orphans, f"files without a record: {orphans}"
    not_released = {s.record.refers_to for s in records if s.record.decision == "not_released"}
    assert not_released <= set(allowed), "a not-released record refers to no allowed record"
    released = set(files.values())
    missing = [rid for rid, r in allowed.items() if r.output is not None and r.output.sha256 not in released]
    assert set(missing) <= not_released, f"allowed records with no output and no record: {missing}"
    assert not list((guard.workspaces.root.parent / JOURNAL_DIR).glob("*.json")), "journal not settled"
    # A kill between a workspace's mkdir and its owner file leaves an empty, ownerless directory that
    # the sweep removes after its grace period (workspace.py); no workspace may hold anything.
    ws = guard.workspaces.root
    leftovers = [p for p in ws.rglob("*") if not p.is_dir()] if ws.exists() else []
    assert not leftovers, f"workspace files left behind: {leftovers}"
    assert verify_log(guard.log, full=True).ok
    return len(allowed), len(not_released)


@pytest.mark.slow
def test_random_sigkills_then_next_start_leave_no_orphans(
    db_url: str, home: Path, ring: KeyRing, clock: FixedClock, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    load_watermark_key(home / "keys")
    _guard(db_url, home, ring, clock).close()  # the log's state row exists before the children race
    rng = random.Random(11)
    kills, settled = 0, []
    while kills < 50:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(home), db_url, str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        line = child.stdout.readline()
        if line.strip() != "ready":
            child.kill()
            pytest.fail(f"child did not start: {line} {child.communicate()[1][-2000:]}")
        time.sleep(rng.uniform(0.0, 1.2))
        os.kill(child.pid, signal.SIGKILL)
        settled += [line for line in child.communicate()[1].splitlines() if "release recovery:" in line]
        kills += 1
    guard = _guard(db_url, home, ring, clock)  # the next start
    try:
        allowed, not_released = _assert_invariant(guard, out)
        assert allowed > 0
        settled += [f"release recovery: {line}" for line in guard.recovered.lines()]
        print(
            f"50 kills: {allowed} allowed records, {not_released} not released; settled:", *settled, sep="\n"
        )
    finally:
        guard.close()


def test_each_crash_window_is_settled_by_the_next_start(
    db_url: str, home: Path, ring: KeyRing, clock: FixedClock, tmp_path: Path
) -> None:
    """The three windows a kill can hit, made by hand: staged but unrecorded, recorded but not renamed,
    recorded with the staged file lost. Each journal entry names a dead process."""
    out = tmp_path / "out"
    out.mkdir()
    guard = _guard(db_url, home, ring, clock)
    image = np.ascontiguousarray(skimage.data.astronaut()[:300, :300])
    kept = guard.run(sources=[], target=image, model=MODEL, pipeline=lambda r: r.target)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(dead.stdout)

    def entry(name: str, record_id: str, staged_bytes: bytes | None) -> Path:
        destination = out / name
        scratch = tmp_path / f"scratch-{name}"
        scratch.mkdir()
        run_id = hashlib.sha256(name.encode()).hexdigest()[:32]
        made = guard.journal.begin(
            run_id=run_id, record_id=record_id, destination=destination, scratch=scratch
        )
        document = made.to_json().decode().replace(f'"pid": {os.getpid()}', f'"pid": {dead_pid}')
        made.path.write_text(document)
        if staged_bytes is not None:
            staged_path(destination, run_id).write_bytes(staged_bytes)
        return destination

    encoded = encode_image(kept.output, "png")
    assert hashlib.sha256(encoded).hexdigest() == kept.output_sha256
    unrecorded = entry("unrecorded.png", "0" * 32, b"watermarked but never recorded")
    # The wrapped code wrote straight to this destination during the killed run: removed as well.
    unrecorded.write_bytes(b"written around the guard")
    unrenamed = entry("unrenamed.png", kept.record_id, encoded)
    guard.close()

    second = _guard(db_url, home, ring, clock)
    try:
        report = second.recovered
        assert report.discarded == [str(unrecorded)]
        assert report.removed == [str(unrecorded)]
        assert report.finished == [str(unrenamed)]
        assert not unrecorded.exists() and _sha256(unrenamed) == kept.output_sha256
        assert not list(out.glob(".*.partial"))
        # Recorded, then the staged file lost before the rename: a signed not-released record.
        lost = entry("lost.png", kept.record_id, None)
        unrenamed.unlink()
        report = second.recover()
        assert report.undone and not lost.exists()
        [follow_up] = second.log.query(Filters(decision="not_released"))
        assert follow_up.record.refers_to == kept.record_id
        assert verify_log(second.log, full=True).ok
        assert ReleaseJournal(home / JOURNAL_DIR).entries() == []
    finally:
        second.close()


def test_a_live_runs_entry_is_left_alone(
    db_url: str, home: Path, ring: KeyRing, clock: FixedClock, tmp_path: Path
) -> None:
    guard = _guard(db_url, home, ring, clock)
    try:
        scratch = tmp_path / "scratch"
        scratch.mkdir()
        entry = guard.journal.begin(
            run_id="a" * 32, record_id="b" * 32, destination=tmp_path / "o.png", scratch=scratch
        )
        entry.staged.write_bytes(b"in flight")
        assert guard.recover().settled == 0
        assert entry.path.exists() and entry.staged.exists()
    finally:
        guard.close()
