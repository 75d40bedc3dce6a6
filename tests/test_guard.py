"""The Guard's spine with the real checks, watermark and store — on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fusionguard.adapters import protect_arrays, protect_job_step, protect_paths
from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog, Filters
from fusionguard.audit.record import ModelInfo
from fusionguard.audit.verify import verify_log
from fusionguard.checks.nsfw import OpenNsfwOnnx
from fusionguard.demo import swap
from fusionguard.errors import (
    AuditError,
    BadInput,
    ConsentRequired,
    PolicyViolation,
    UnsupportedMedia,
    WatermarkError,
)
from fusionguard.faces import DlibBackend
from fusionguard.guard import Guard, Hooks, RunInputs, load_watermark_key
from fusionguard.media import encode_image, load_image
from fusionguard.policy import Policy
from fusionguard.registry import ConsentRegistry, IdentityKeyStore, enrol_photos
from fusionguard.trace import Tracer
from fusionguard.watermark import WatermarkCodec
from fusionguard.workspace import WorkspaceManager
from tests import testdata
from tests.conftest import FixedClock

pytestmark = pytest.mark.slow
MODEL = ModelInfo("fusionguard-demo-swap", "1.0", "apache-2.0")


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import matplotlib.cbook
    import skimage.data

    folder = tmp_path_factory.mktemp("photos")
    astronaut, hopper = folder / "astronaut.png", folder / "hopper.png"
    astronaut.write_bytes(encode_image(np.asarray(skimage.data.astronaut()), "png"))
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        hopper.write_bytes(encode_image(load_image(handle.read()).rgb, "png"))
    coffee = folder / "coffee.png"  # no face at all
    coffee.write_bytes(encode_image(np.asarray(skimage.data.coffee()), "png"))
    return {"astronaut": astronaut, "hopper": hopper, "coffee": coffee}


def make_guard(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: Any,
    policy: Policy | None = None,
    **options: Any,
) -> Guard:
    """A Guard on the test home; ``options`` go to :class:`Guard` (``c2pa_signer=...``, say)."""
    log = AuditLog.open(db_url, ring, clock=clock, witness_path=home / "log-head.note")
    return Guard(
        policy=policy or Policy.default(),
        log=log,
        registry=ConsentRegistry(
            log.engine, keys=IdentityKeyStore(home / "identity-keys"), log=log, clock=clock
        ),
        faces=faces,
        nsfw=nsfw,
        codec=WatermarkCodec(load_watermark_key(home / "keys")),
        workspaces=WorkspaceManager(home / "workspaces"),
        clock=clock,
        actor="test",
        **options,
    )


def enrol_pair(guard: Guard, faces: DlibBackend, photos: dict[str, Path]) -> None:
    """Eileen Collins (``photos["astronaut"]``) may be a source and a target; Grace Hopper
    (``photos["hopper"]``) only a source."""
    enrol_photos(guard.registry, faces, "Eileen Collins", [photos["astronaut"]], roles=["source", "target"])
    enrol_photos(guard.registry, faces, "Grace Hopper", [photos["hopper"]], roles=["source"])


@pytest.fixture
def guard(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    photos: dict[str, Path],
) -> Guard:
    g = make_guard(db_url, home, ring, clock, faces, nsfw)
    enrol_pair(g, faces, photos)
    return g


def workspace_empty(guard: Guard) -> bool:
    root = guard.workspaces.root
    return not root.exists() or not any(root.iterdir())


def test_allowed_run_releases_a_traceable_output(
    guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    output = tmp_path / "out.png"
    process_image = protect_paths(guard, model=MODEL)(swap.process_image)
    assert process_image([str(photos["hopper"])], str(photos["astronaut"]), str(output)) == str(output)
    assert output.exists() and workspace_empty(guard)
    [stored] = guard.log.query(Filters(decision="allowed"))
    record = stored.record
    assert record.output is not None and record.output.pdq is not None
    assert record.policy == guard.policy.ref()
    released = load_image(output)
    assert released.sha256 == record.output.sha256
    grace = next(p.identity_id for p in guard.registry.identities() if p.display_name == "Grace Hopper")
    assert record.sources[0].identities == (grace,)
    result = Tracer(guard.log, guard.codec).trace(released.rgb)
    assert result.matches[0].record_id == record.record_id
    assert result.matches[0].false_alarm_probability is not None
    assert result.matches[0].false_alarm_probability <= 1e-10
    assert verify_log(guard.log, full=True).ok


def test_blocked_run_records_reasons_and_releases_nothing(
    guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    output = tmp_path / "out.png"
    process_image = protect_paths(guard, model=MODEL)(swap.process_image)
    with pytest.raises(ConsentRequired) as blocked:
        process_image([str(photos["astronaut"])], str(photos["hopper"]), str(output))
    assert not output.exists() and workspace_empty(guard)
    assert any("no active target consent" in r.detail for r in blocked.value.reasons)
    stored = guard.log.get(blocked.value.record_id or "")
    assert stored.record.decision == "blocked"
    assert stored.record.reasons[0]["check"] == "consent"
    assert verify_log(guard.log, full=True).ok


def test_source_without_a_face_is_blocked(guard: Guard, photos: dict[str, Path], tmp_path: Path) -> None:
    process_image = protect_paths(guard, model=MODEL)(swap.process_image)
    with pytest.raises(ConsentRequired, match="no face found in the source"):
        process_image([str(photos["coffee"])], str(photos["astronaut"]), str(tmp_path / "o.png"))


def test_license_denied_before_the_pipeline_runs(
    guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    called: list[bool] = []

    def pipeline(run: RunInputs) -> np.ndarray:
        called.append(True)
        return run.target if run.target is not None else run.sources[0]

    with pytest.raises(PolicyViolation) as blocked:
        guard.run(
            sources=[photos["hopper"]],
            target=photos["astronaut"],
            model=ModelInfo("mystery-model", "1", "unknown"),
            pipeline=pipeline,
        )
    assert not called
    assert any(r.check == "license" for r in blocked.value.reasons)


def test_nsfw_threshold_below_the_real_score_blocks(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    photos: dict[str, Path],
) -> None:
    score = nsfw.scores([load_image(photos["astronaut"]).rgb])[0]
    data = Policy.default().to_dict()
    data["nsfw"]["threshold_inputs"] = max(0.0, score / 2)
    data["name"] = "very-strict"
    g = make_guard(db_url, home, ring, clock, faces, nsfw, Policy.from_mapping(data))
    with pytest.raises(PolicyViolation) as blocked:
        g.run(
            sources=[photos["astronaut"]],
            target=photos["astronaut"],
            model=MODEL,
            pipeline=lambda run: run.sources[0],
        )
    nsfw_reasons = [r for r in blocked.value.reasons if r.check == "nsfw"]
    assert nsfw_reasons and nsfw_reasons[0].data["score"] == pytest.approx(score, abs=1e-3)


def test_arrays_adapter_in_bgr(guard: Guard, photos: dict[str, Path]) -> None:
    import cv2

    source = cv2.cvtColor(load_image(photos["hopper"]).rgb, cv2.COLOR_RGB2BGR)
    target = cv2.cvtColor(load_image(photos["astronaut"]).rgb, cv2.COLOR_RGB2BGR)

    @protect_arrays(guard, model=MODEL, color_order="BGR")
    def swap_face(source_frame: np.ndarray, target_frame: np.ndarray) -> np.ndarray:
        rgb = swap.swap_face(
            cv2.cvtColor(source_frame, cv2.COLOR_BGR2RGB), cv2.cvtColor(target_frame, cv2.COLOR_BGR2RGB)
        )
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)

    frame = swap_face(source, target)
    assert frame.shape == target.shape
    detection = guard.codec.detect(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    assert detection is not None
    assert guard.log.get(f"{detection.payload:016x}").record.decision == "allowed"


def test_job_step_adapter(guard: Guard, photos: dict[str, Path], tmp_path: Path) -> None:
    @protect_job_step(guard, model=MODEL)
    def process_step(job_id: str, step_index: int, step_args: dict[str, Any]) -> bool:
        swap.process_image(step_args["source_paths"], step_args["target_path"], step_args["output_path"])
        return True

    output = tmp_path / "job.png"
    assert process_step(
        "job-1",
        0,
        {
            "source_paths": [str(photos["hopper"])],
            "target_path": str(photos["astronaut"]),
            "output_path": str(output),
        },
    )
    assert output.exists()
    with pytest.raises(BadInput, match="lacks target_path"):
        process_step("job-1", 1, {"source_paths": [], "output_path": str(output)})


def test_video_target_is_refused_clearly(guard: Guard, photos: dict[str, Path], tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    with pytest.raises(UnsupportedMedia, match="not supported yet"):
        guard.run(sources=[photos["hopper"]], target=video, model=MODEL, pipeline=lambda run: run.sources[0])


def _failing(step: str, guard: Guard, monkeypatch: pytest.MonkeyPatch) -> type[Exception]:
    """Make one step of the spine fail; return the error the caller must see."""

    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError(f"{step} exploded")

    if step == "nsfw backend":
        monkeypatch.setattr(guard.nsfw, "scores", boom)
        return RuntimeError
    if step == "face backend":
        monkeypatch.setattr(guard.faces, "detect", boom)
        return RuntimeError
    if step == "watermark":
        monkeypatch.setattr(guard.codec, "embed", boom)
        return WatermarkError
    if step == "database down":
        from sqlalchemy.exc import OperationalError

        def down(*_: Any, **__: Any) -> Any:
            raise OperationalError("connect", {}, Exception("server closed the connection unexpectedly"))

        guard.log.engine.dispose()
        monkeypatch.setattr(guard.log.engine.pool, "connect", down)
        return AuditError
    if step == "disk full":

        def no_space(*_: Any, **__: Any) -> Any:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr("fusionguard.guard._write_fsynced", no_space)
        return OSError
    raise AssertionError(step)


@pytest.mark.parametrize("step", ["nsfw backend", "face backend", "watermark", "database down", "disk full"])
def test_failure_at_each_step_releases_nothing(
    step: str, guard: Guard, photos: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _failing(step, guard, monkeypatch)
    output = tmp_path / "out.png"
    process_image = protect_paths(guard, model=MODEL)(swap.process_image)
    with pytest.raises(expected):
        process_image([str(photos["hopper"])], str(photos["astronaut"]), str(output))
    assert not output.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []
    assert workspace_empty(guard)


def test_pipeline_exception_is_recorded_and_reraised(guard: Guard, photos: dict[str, Path]) -> None:
    def broken(run: RunInputs) -> np.ndarray:
        (run.workspace.file("scratch.bin")).write_bytes(b"secret crop")
        raise ValueError("model crashed")

    with pytest.raises(ValueError, match="model crashed"):
        guard.run(sources=[photos["hopper"]], target=photos["astronaut"], model=MODEL, pipeline=broken)
    assert workspace_empty(guard)
    last = guard.log.query()[-1].record
    assert last.decision == "blocked" and last.reasons[0]["check"] == "pipeline"


def test_small_output_is_never_released_unwatermarked(guard: Guard, photos: dict[str, Path]) -> None:
    data = guard.policy.to_dict()
    data["consent"]["verify_output_identity"] = False  # reach the watermark step with a tiny output
    guard.policy = Policy.from_mapping(data)
    with pytest.raises(WatermarkError, match="smaller than the watermark's minimum"):
        guard.run(
            sources=[photos["hopper"]],
            target=photos["astronaut"],
            model=MODEL,
            pipeline=lambda run: run.sources[0][:200, :200],
        )


def test_hooks_are_validated_and_can_block(guard: Guard, photos: dict[str, Path]) -> None:
    hooks = Hooks()
    with pytest.raises(BadInput, match="not callable"):
        hooks.add_check("broken", "not a function")  # type: ignore[arg-type]
    seen: list[str] = []
    from fusionguard.errors import Reason

    def no_fridays(run: RunInputs) -> None:
        raise PolicyViolation([Reason("calendar", "run", "no swaps on Fridays")])

    guard.hooks.add_observer("collect", lambda record: seen.append(record.decision))
    guard.hooks.add_check("calendar", no_fridays)
    with pytest.raises(PolicyViolation, match="no swaps on Fridays"):
        guard.run(
            sources=[photos["hopper"]],
            target=photos["astronaut"],
            model=MODEL,
            pipeline=lambda run: run.sources[0],
        )
    assert seen == ["blocked"]


def test_concurrent_runs_with_identical_file_names_do_not_collide(
    guard: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    outputs = [tmp_path / f"job{i}" / "out.png" for i in range(2)]
    for path in outputs:
        path.parent.mkdir()
    errors: list[BaseException] = []
    seen_dirs: list[Path] = []

    def pipeline(run: RunInputs) -> np.ndarray:
        seen_dirs.append(run.workspace.path)
        return swap.swap_face(run.sources[0], run.target)  # type: ignore[arg-type]

    def job(out: Path) -> None:
        try:
            guard.run(
                sources=[photos["hopper"]],
                target=photos["astronaut"],
                model=MODEL,
                pipeline=pipeline,
                output_path=out,
            )
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=job, args=(out,)) for out in outputs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert all(out.exists() for out in outputs)
    assert len(set(seen_dirs)) == 2
    ids = {guard.codec.detect(load_image(out).rgb).payload for out in outputs}  # type: ignore[union-attr]
    assert len(ids) == 2


def test_sigkill_mid_run_is_swept_by_the_next_start(
    db_url: str, home: Path, ring: KeyRing, clock: FixedClock, faces: DlibBackend, photos: dict[str, Path]
) -> None:
    from fusionguard.checks.nsfw import FakeNsfw

    script = textwrap.dedent(f"""
        import sys, time
        from fusionguard.workspace import WorkspaceManager
        manager = WorkspaceManager(__import__("pathlib").Path({str(home / "workspaces")!r}))
        with manager.run() as ws:
            ws.file("crop.png").write_bytes(b"face crop")
            print(ws.path, flush=True)
            time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    path = Path(child.stdout.readline().strip())
    assert (path / "crop.png").exists()
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    make_guard(db_url, home, ring, clock, faces, FakeNsfw())  # a new Guard start sweeps
    assert not path.exists()


def test_run_reports_time_per_step(guard: Guard, photos: dict[str, Path]) -> None:
    result = guard.run(
        sources=[photos["hopper"]],
        target=photos["astronaut"],
        model=MODEL,
        pipeline=lambda run: swap.swap_face(run.sources[0], run.target),
    )  # type: ignore[arg-type]
    assert set(result.timings) == {
        "load",
        "pre_checks",
        "pipeline",
        "post_checks",
        "watermark",
        "fingerprint",
        "record",
        "total",
    }
    assert all(seconds > 0 for seconds in result.timings.values())
    # Marking overlaps the post-checks, but nothing can take longer than the whole run.
    assert max(result.timings.values()) == result.timings["total"]


@pytest.mark.parametrize(
    ("section", "key", "value"), [("metadata", "signed_manifest", True), ("metadata", "strip", False)]
)
def test_policy_options_it_cannot_honour_are_refused(
    guard: Guard, section: str, key: str, value: bool
) -> None:
    data = guard.policy.to_dict()
    data[section][key] = value
    from fusionguard.errors import ConfigError

    with pytest.raises(ConfigError, match=key):
        Guard(
            policy=Policy.from_mapping(data),
            log=guard.log,
            registry=guard.registry,
            faces=guard.faces,
            nsfw=guard.nsfw,
            codec=guard.codec,
            workspaces=guard.workspaces,
        )


def test_watermark_ids_are_random_and_never_near_constant_words() -> None:
    from fusionguard.guard import new_watermark_id

    ids = [new_watermark_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(16 <= i.bit_count() <= 48 for i in ids)
    assert min(ids) > 0 and max(ids) < 2**64


def test_generated_likeness_of_an_enrolled_person_needs_their_consent(
    guard: Guard, photos: dict[str, Path]
) -> None:
    """A generator (no sources) producing a face that is an enrolled person's is using their likeness."""
    astronaut = load_image(photos["astronaut"]).rgb
    collins = next(p.identity_id for p in guard.registry.identities() if p.display_name == "Eileen Collins")
    allowed = guard.run(sources=[], target=None, model=MODEL, pipeline=lambda run: astronaut)
    assert guard.log.get(allowed.record_id).record.decision == "allowed"
    guard.registry.revoke(collins, ["source"])
    with pytest.raises(ConsentRequired, match="no active source consent for their likeness"):
        guard.run(sources=[], target=None, model=MODEL, pipeline=lambda run: astronaut)
    # A face nobody enrolled is a synthetic person as far as the registry knows: allowed.
    stranger = load_image(testdata.biden()).rgb
    assert guard.run(sources=[], target=None, model=MODEL, pipeline=lambda run: stranger).record_id
