"""How runs end: every run past loading leaves a signed record, results never contradict the record,
and nothing written around the Guard survives a blocked or failed run (issue 11, defects 6, 7, 10).

The face and NSFW backends are the shipped fakes (what is under test is the Guard's bookkeeping, not
the models); the database, the log, the watermark and the files are real.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skimage.data

from fusionguard.adapters import protect_paths
from fusionguard.adapters._staging import ToolFailed
from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog, Filters
from fusionguard.audit.record import MAX_MODEL_NAME, AuditRecord, ModelInfo
from fusionguard.audit.verify import verify_log
from fusionguard.checks.nsfw import FakeNsfw
from fusionguard.config import Settings
from fusionguard.errors import BadInput, InvalidRecord, NsfwContent, WatermarkError
from fusionguard.faces import FakeFaceBackend
from fusionguard.guard import Guard, RunInputs, load_watermark_key
from fusionguard.media import encode_image, load_image
from fusionguard.policy import Policy
from fusionguard.registry import ConsentRegistry
from fusionguard.registry.identity_keys import IdentityKeyStore
from fusionguard.watermark import WatermarkCodec
from fusionguard.workspace import WorkspaceManager
from tests.conftest import FixedClock

MODEL = ModelInfo("outcomes-test", "1", "apache-2.0")
PHOTO = np.ascontiguousarray(skimage.data.astronaut()[:320, :320])
#: An output the fake NSFW model scores 1.0: brighter than any natural photo on average.
BRIGHT = np.full((320, 320, 3), 250, np.uint8)


def make_guard(db_url: str, home: Path, ring: KeyRing, clock: FixedClock, nsfw: Any = None) -> Guard:
    log = AuditLog.open(db_url, ring, clock=clock, witness_path=home / "log-head.note")
    return Guard(
        policy=Policy.from_mapping({"name": "outcomes", "version": 1, "consent": {"required": False}}),
        log=log,
        registry=ConsentRegistry(
            log.engine, keys=IdentityKeyStore(home / "identity-keys"), log=log, clock=clock
        ),
        faces=FakeFaceBackend(),
        nsfw=nsfw or FakeNsfw(lambda rgb: 1.0 if rgb.mean() > 240 else 0.0),
        codec=WatermarkCodec(load_watermark_key(home / "keys")),
        workspaces=WorkspaceManager(home / "workspaces"),
        clock=clock,
        actor="test",
    )


@pytest.fixture
def guard(db_url: str, home: Path, ring: KeyRing, clock: FixedClock) -> Any:
    g = make_guard(db_url, home, ring, clock)
    yield g
    g.close()


def last(guard: Guard) -> AuditRecord:
    return guard.log.query()[-1].record


# -- defect 6: nothing written around the Guard survives a blocked or failed run ------------------


def test_a_file_written_at_the_destination_by_a_blocked_run_is_removed(guard: Guard, tmp_path: Path) -> None:
    destination = tmp_path / "out.png"

    def writes_around_the_guard(run: RunInputs) -> np.ndarray:
        destination.write_bytes(encode_image(BRIGHT, "png"))  # FaceFusion-style: path from global state
        return BRIGHT

    with pytest.raises(NsfwContent) as blocked:
        guard.run(
            sources=[], target=PHOTO, model=MODEL, pipeline=writes_around_the_guard, output_path=destination
        )
    assert not destination.exists()
    record = guard.log.get(blocked.value.record_id or "").record
    assert record.decision == "blocked"
    removal = [r for r in record.reasons if r["check"] == "release"]
    assert removal and str(destination) in removal[0]["detail"]
    assert verify_log(guard.log).ok


def test_a_file_written_at_the_destination_by_a_failed_run_is_removed(guard: Guard, tmp_path: Path) -> None:
    destination = tmp_path / "out.png"
    destination.write_bytes(b"the caller's older file")

    def overwrites_then_crashes(run: RunInputs) -> np.ndarray:
        destination.write_bytes(encode_image(PHOTO, "png"))
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        guard.run(
            sources=[], target=PHOTO, model=MODEL, pipeline=overwrites_then_crashes, output_path=destination
        )
    assert not destination.exists()  # unwatermarked pixels never stay at the destination
    checks = [r["check"] for r in last(guard).reasons]
    assert checks == ["pipeline", "release"]


def test_a_file_left_untouched_at_the_destination_is_kept(guard: Guard, tmp_path: Path) -> None:
    destination = tmp_path / "out.png"
    destination.write_bytes(b"the caller's older file")
    with pytest.raises(NsfwContent):
        guard.run(sources=[], target=PHOTO, model=MODEL, pipeline=lambda run: BRIGHT, output_path=destination)
    assert destination.read_bytes() == b"the caller's older file"
    assert [r["check"] for r in last(guard).reasons] == ["nsfw"]


# -- defect 7: once recorded and released, the caller gets the result --------------------------------


def test_an_observer_that_raises_after_release_does_not_undo_the_result(guard: Guard, tmp_path: Path) -> None:
    def broken(record: AuditRecord) -> None:
        raise RuntimeError("dashboard down")

    guard.hooks.add_observer("dashboard", broken)
    destination = tmp_path / "out.png"
    result = guard.run(
        sources=[], target=PHOTO, model=MODEL, pipeline=lambda run: run.target, output_path=destination
    )
    assert destination.exists() and guard.log.get(result.record_id).record.decision == "allowed"


def test_an_observer_that_raises_on_a_blocked_run_does_not_replace_the_violation(guard: Guard) -> None:
    guard.hooks.add_observer("dashboard", lambda record: 1 / 0)  # type: ignore[func-returns-value]
    with pytest.raises(NsfwContent) as blocked:
        guard.run(sources=[], target=PHOTO, model=MODEL, pipeline=lambda run: BRIGHT)
    assert guard.log.get(blocked.value.record_id or "").record.decision == "blocked"


def test_a_child_still_writing_into_the_workspace_does_not_fail_a_released_run(
    guard: Guard, tmp_path: Path
) -> None:
    children: list[subprocess.Popen[bytes]] = []
    writer = (
        "import itertools, os\nfor i in itertools.count():\n    os.makedirs(f'd{i % 50}', exist_ok=True)\n"
        "    open(f'd{i % 50}/f{i}', 'wb').close()\n"
    )

    def leaves_a_child(run: RunInputs) -> np.ndarray:
        # The child's working directory is the workspace: it keeps writing there after the rename.
        children.append(subprocess.Popen([sys.executable, "-c", writer], cwd=run.workspace.path))
        time.sleep(0.3)
        assert run.target is not None
        return run.target

    try:
        result = guard.run(
            sources=[], target=PHOTO, model=MODEL, pipeline=leaves_a_child, output_path=tmp_path / "o.png"
        )
    finally:
        for child in children:
            child.kill()
            child.wait()
    assert (tmp_path / "o.png").exists()
    assert guard.log.get(result.record_id).record.decision == "allowed"


# -- defect 10: every run past loading leaves a signed record ----------------------------------------


def _float_output(run: RunInputs) -> np.ndarray:
    return PHOTO.astype(np.float32) / 255.0


@pytest.mark.parametrize(
    ("pipeline", "error", "step"),
    [
        (_float_output, BadInput, "output"),
        (lambda run: PHOTO[:100, :100], WatermarkError, "watermark"),
    ],
    ids=["float output", "output too small to mark"],
)
def test_outputs_that_cannot_be_released_are_recorded(
    guard: Guard, pipeline: Any, error: type[Exception], step: str
) -> None:
    with pytest.raises(error):
        guard.run(sources=[], target=PHOTO, model=MODEL, pipeline=pipeline)
    record = last(guard)
    assert record.decision == "blocked"
    assert [(r["check"], r["subject"]) for r in record.reasons] == [("error", step)]


def test_a_backend_raising_inside_a_check_is_recorded(
    db_url: str, home: Path, ring: KeyRing, clock: FixedClock
) -> None:
    def broken(rgb: np.ndarray) -> float:
        raise RuntimeError("onnxruntime: out of memory")

    guard = make_guard(db_url, home, ring, clock, nsfw=FakeNsfw(broken))
    try:
        with pytest.raises(RuntimeError, match="out of memory"):
            guard.run(sources=[], target=PHOTO, model=MODEL, pipeline=lambda run: run.target)
        record = last(guard)
        assert record.decision == "blocked" and record.reasons[0]["subject"] == "pre_checks"
        assert "out of memory" in record.reasons[0]["detail"]
    finally:
        guard.close()


def test_a_paths_function_that_wrote_no_file_is_recorded(guard: Guard, tmp_path: Path) -> None:
    photo = tmp_path / "target.png"
    photo.write_bytes(encode_image(PHOTO, "png"))

    @protect_paths(guard, model=MODEL)
    def process_image(source_paths: list[str], target_path: str, output_path: str) -> None:
        pass  # forgot to write output_path

    with pytest.raises(ToolFailed, match="wrote no output file"):
        process_image([], str(photo), str(tmp_path / "out.png"))
    record = last(guard)
    assert record.decision == "blocked" and record.reasons[0]["check"] == "pipeline"


def test_field_lengths_are_checked_when_a_record_is_built(guard: Guard) -> None:
    """The same limits on both databases: PostgreSQL's VARCHAR sizes, which SQLite ignores."""
    longest = ModelInfo("m" * MAX_MODEL_NAME, "1", "apache-2.0")
    result = guard.run(sources=[], target=PHOTO, model=longest, pipeline=lambda run: run.target)
    assert guard.log.get(result.record_id).record.model == longest
    with pytest.raises(InvalidRecord, match="model name is 201 characters long"):
        ModelInfo("m" * (MAX_MODEL_NAME + 1), "1", "apache-2.0")
    with pytest.raises(BadInput, match="license is 101 characters"):
        ModelInfo("m", "1", "x" * 101)
    with pytest.raises(BadInput, match="actor is 201 characters"):
        Guard(
            policy=guard.policy,
            log=guard.log,
            registry=guard.registry,
            faces=guard.faces,
            nsfw=guard.nsfw,
            codec=guard.codec,
            workspaces=guard.workspaces,
            actor="a" * 201,
        )
    assert isinstance(InvalidRecord("x"), ValueError)  # what callers caught before it joined the tree


def test_a_failed_release_is_followed_by_a_not_released_record(
    guard: Guard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record is appended, then the rename fails (a full or read-only disk): signed follow-up."""
    import os

    real_replace = os.replace

    def failing_replace(src: Any, dst: Any) -> None:
        if str(src).endswith(".partial"):
            raise OSError(30, "Read-only file system")
        real_replace(src, dst)

    monkeypatch.setattr("fusionguard.guard.os.replace", failing_replace)
    destination = tmp_path / "out.png"
    with pytest.raises(OSError, match="Read-only"):
        guard.run(
            sources=[], target=PHOTO, model=MODEL, pipeline=lambda run: run.target, output_path=destination
        )
    records = guard.log.query()
    allowed = [s.record for s in records if s.record.decision == "allowed"]
    follow = [s.record for s in records if s.record.decision == "not_released"]
    assert len(allowed) == 1 and follow[0].refers_to == allowed[0].record_id
    assert not destination.exists() and not list(tmp_path.glob(".*.partial"))
    assert not list(guard.journal.directory.glob("*.json"))
    assert verify_log(guard.log, full=True).ok


def test_guard_is_a_context_manager_that_closes_its_pools(
    db_url: str, home: Path, ring: KeyRing, clock: FixedClock
) -> None:
    with make_guard(db_url, home, ring, clock) as guard:
        guard.run(sources=[], target=PHOTO, model=MODEL, pipeline=lambda run: run.target)
    with pytest.raises(RuntimeError, match="shutdown"):
        guard._background.submit(print)
    assert load_image(encode_image(PHOTO, "png")).rgb.shape == PHOTO.shape
    assert guard.log.query(Filters(decision="allowed"))  # the log reopens its engine on demand


def test_trace_says_a_proof_is_available_only_when_the_signed_head_covers_the_record(
    guard: Guard, home: Path, clock: FixedClock
) -> None:
    from fusionguard.trace import Tracer

    result = guard.run(sources=[], target=PHOTO, model=MODEL, pipeline=lambda run: run.target)
    [match] = Tracer(guard.log, guard.codec).trace(result.output).matches
    assert match.record_id == result.record_id and match.proof_available
    guard.log.inclusion_proof(result.record_id)  # what proof_available promises
    # A verifier whose keys did not sign the head cannot prove anything: the match says so.
    stranger = KeyRing.create(home / "other-keys", now=clock())
    foreign = AuditLog(guard.log.engine, stranger)
    [match] = Tracer(foreign, guard.codec).trace(result.output).matches
    assert not match.proof_available


def test_from_policy_needs_an_initialised_home_and_closes_what_it_made(tmp_path: Path) -> None:
    from fusionguard.errors import NotInitialised
    from fusionguard.home import initialise

    home = tmp_path / "home"
    with pytest.raises(NotInitialised, match="run 'fusionguard --home"):
        Guard.from_policy("default", home=home, faces=FakeFaceBackend(), nsfw=FakeNsfw())
    assert not home.exists()
    initialise(Settings.resolve(home))
    with Guard.from_policy("default", home=home, faces=FakeFaceBackend(), nsfw=FakeNsfw()) as guard:
        assert guard._owned == [guard.log.close]  # the engine it opened; the fakes are the caller's
    assert guard._owned == [] and guard._background._shutdown
