"""Bystanders anonymised instead of blocking: real faces, real Guard, SQLite and PostgreSQL.

The target is a real group photo (insightface's t1.jpg, six people) beside the astronaut, who
consents as target; the demo swap puts Grace Hopper (source consent) on the astronaut's face. The six
strangers never enrolled: with ``unknown_target_faces: anonymise`` they are anonymised before the
pipeline sees the target, their original pixels sealed to the recovery key.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import text

from fusionguard.adapters import protect_paths
from fusionguard.anonymise.anonymiser import Anonymiser, _iou
from fusionguard.anonymise.recovery import recover_image, shred_record
from fusionguard.anonymise.sealing import load_recovery_public, write_recovery_keys
from fusionguard.anonymise.store import SealedRegions
from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog, Filters
from fusionguard.audit.verify import verify_log
from fusionguard.checks.nsfw import OpenNsfwOnnx
from fusionguard.cli import main
from fusionguard.demo import swap
from fusionguard.errors import ConfigError, PolicyError, RecoveryError
from fusionguard.faces import DlibBackend
from fusionguard.guard import Guard, RunInputs, load_watermark_key
from fusionguard.media import encode_image, load_image
from fusionguard.policy import Policy
from fusionguard.registry import ConsentRegistry, IdentityKeyStore, enrol_photos
from fusionguard.watermark import WatermarkCodec
from fusionguard.workspace import WorkspaceManager
from tests import testdata
from tests.conftest import FixedClock
from tests.test_guard import MODEL, make_guard

pytestmark = pytest.mark.slow


def _policy(method: str) -> Policy:
    return Policy.from_mapping(
        {
            "name": "bystanders",
            "version": 1,
            "consent": {"unknown_target_faces": "anonymise", "anonymise_method": method},
        }
    )


@pytest.fixture(scope="module")
def wide_faces() -> DlibBackend:
    """The group scene is 1792 px wide: scan it at full size so the astronaut's face is found too."""
    return DlibBackend(detect_max_side=2048)


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import matplotlib.cbook
    import skimage.data

    folder = tmp_path_factory.mktemp("group")
    astronaut = np.ascontiguousarray(np.asarray(skimage.data.astronaut())[:, :, :3])
    t1 = load_image(testdata.insightface_t1()).rgb  # 1280x886, six faces of ~110 px
    left = np.zeros((t1.shape[0], 512, 3), np.uint8)
    left[:512] = astronaut
    scene = np.concatenate([left, t1], axis=1)
    paths = {
        "astronaut": folder / "astronaut.png",
        "scene": folder / "scene.png",
        "hopper": folder / "hopper.png",
    }
    paths["astronaut"].write_bytes(encode_image(astronaut, "png"))
    paths["scene"].write_bytes(encode_image(scene, "png"))
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        paths["hopper"].write_bytes(encode_image(load_image(handle.read()).rgb, "png"))
    return paths


def _swap_left_half(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The demo swap on the scene's left half, where the astronaut stands (it looks at <= 640 px)."""
    out = target.copy()
    out[:512, :512] = swap.swap_face(source, np.ascontiguousarray(target[:512, :512]))
    return out


def process_image(source_paths: list[str], target_path: str, output_path: str) -> str:
    source, target = (load_image(p).rgb for p in (source_paths[0], target_path))
    Path(output_path).write_bytes(encode_image(_swap_left_half(source, target), "png"))
    return output_path


def _guard(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    group: dict[str, Path],
    method: str,
) -> tuple[Guard, Path]:
    private = home.parent / f"recovery-{method}.pem"
    write_recovery_keys(private, home / "keys")
    log = AuditLog.open(db_url, ring, clock=clock, witness_path=home / "log-head.note")
    guard = Guard(
        policy=_policy(method),
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
        recovery_public_key=load_recovery_public(home / "keys"),
    )
    enrol_photos(guard.registry, faces, "Eileen Collins", [group["astronaut"]], roles=["source", "target"])
    enrol_photos(guard.registry, faces, "Grace Hopper", [group["hopper"]], roles=["source"])
    return guard, private


def test_anonymise_needs_a_recovery_key_and_a_valid_method(
    db_url: str, home: Path, ring: KeyRing, clock: FixedClock, faces: DlibBackend, nsfw: OpenNsfwOnnx
) -> None:
    with pytest.raises(ConfigError, match="recovery-keygen"):
        make_guard(db_url, home, ring, clock, faces, nsfw, policy=_policy("pixelate"))
    with pytest.raises(PolicyError, match="anonymise_method"):
        Policy.from_mapping({"name": "x", "version": 1, "consent": {"anonymise_method": "smudge"}})


@pytest.mark.parametrize("method", ["pixelate", "synthetic"])
def test_bystanders_are_anonymised_sealed_and_recoverable_only_with_the_key(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    wide_faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    group: dict[str, Path],
    tmp_path: Path,
    method: str,
) -> None:
    faces = wide_faces
    guard, private = _guard(db_url, home, ring, clock, faces, nsfw, group, method)
    seen: list[np.ndarray] = []

    def pipeline(run: RunInputs) -> np.ndarray:
        assert run.target is not None
        seen.append(run.target.copy())
        return _swap_left_half(run.sources[0], run.target)

    scene = load_image(group["scene"]).rgb
    result = guard.run(
        sources=[group["hopper"]],
        target=group["scene"],
        model=MODEL,
        pipeline=pipeline,
        output_path=tmp_path / "out.png",
    )
    record = guard.log.get(result.record_id).record
    block = record.extra["anonymised"]
    regions = block["regions"]
    # The six strangers (and whatever else the full-size scan finds that is no consenting person),
    # never the astronaut, the consenting target, whose face is at (175, 76)-(266, 167).
    assert len([r for r in regions if r["box"][0] >= 512]) == 6
    assert all(r["stage"] == "target" for r in regions)
    assert not [r for r in regions if r["box"][0] < 266 and r["box"][1] < 167 and r["box"][3] > 76]
    assert all(r["method"] in (method, "pixelate-strong") for r in regions)
    # The pipeline never saw a stranger's face, and no stranger is recognisable in the output.
    originals = [f for f in faces.detect(scene) if f.box[0] >= 512]
    threshold = faces.match_threshold + 0.2
    for image in (seen[0], result.output):
        for face in faces.detect(image):
            same_place = [o for o in originals if _iou(o.box, face.box) > 0.3]
            for original in same_place:  # the person who stood there is not recognisable
                assert faces.distance(face, original) >= threshold
    # The astronaut's half went through the swap untouched by anonymisation: Grace Hopper is there.
    assert record.sources[0].identities and record.decision == "allowed"
    # The record holds boxes, methods and hashes: no pixels, no identities of the strangers.
    assert len(str(record.to_json())) < 8000
    assert set(record.identities) <= {p.identity_id for p in guard.registry.identities()}

    store = SealedRegions(guard.log.engine)
    released = load_image(tmp_path / "out.png").rgb
    restored, count = recover_image(record, store, private.read_bytes(), released)
    assert count == len(regions)
    for entry in regions:
        left, top, right, bottom = entry["box"]
        assert not np.array_equal(released[top:bottom, left:right], scene[top:bottom, left:right])
        assert np.array_equal(restored[top:bottom, left:right], scene[top:bottom, left:right])

    wrong = tmp_path / "wrong.pem"
    write_recovery_keys(wrong, tmp_path / "elsewhere")
    with pytest.raises(RecoveryError, match="sealed to"):
        recover_image(record, store, wrong.read_bytes(), released)
    with guard.log.engine.begin() as connection:
        connection.execute(
            text("UPDATE sealed_regions SET ciphertext = :c WHERE record_id = :r AND region_index = 0"),
            {"c": b"\x00" * 64, "r": record.record_id},
        )
    with pytest.raises(RecoveryError, match="altered"):
        recover_image(record, store, private.read_bytes(), released)

    assert shred_record(record, store) == len(regions)
    with pytest.raises(RecoveryError, match="shredded"):
        recover_image(record, store, private.read_bytes(), released)
    assert verify_log(guard.log, full=True).ok
    assert not any(guard.workspaces.root.iterdir())


def test_a_stray_face_the_pipeline_adds_is_anonymised_in_the_output(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    wide_faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    group: dict[str, Path],
    tmp_path: Path,
) -> None:
    faces = wide_faces
    guard, private = _guard(db_url, home, ring, clock, faces, nsfw, group, "pixelate")
    stranger = load_image(testdata.biden()).rgb
    stranger = cv2.resize(stranger, (200, round(stranger.shape[0] * 200 / stranger.shape[1])))

    def pipeline(run: RunInputs) -> np.ndarray:
        swapped = swap.swap_face(run.sources[0], run.target)
        out = np.concatenate([swapped, np.zeros((512, 220, 3), np.uint8)], axis=1)
        out[: min(512, stranger.shape[0]), 520 : 520 + stranger.shape[1]] = stranger[:512]
        return out

    astronaut = group["astronaut"]
    result = guard.run(sources=[group["hopper"]], target=astronaut, model=MODEL, pipeline=pipeline)
    record = guard.log.get(result.record_id).record
    regions = record.extra["anonymised"]["regions"]
    assert all(r["stage"] == "output" for r in regions)
    assert len([r for r in regions if r["box"][0] >= 512]) == 1  # the stranger pasted at x = 520
    restored, _ = recover_image(record, SealedRegions(guard.log.engine), private.read_bytes(), result.output)
    biden_face = [f for f in faces.detect(restored) if f.box[0] >= 512]
    assert biden_face  # the original face is back, for the key holder only
    assert not [f for f in faces.detect(result.output) if f.box[0] >= 512 and f.size > 60]


def test_cli_keygen_recover_and_shred(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    wide_faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    group: dict[str, Path],
    tmp_path: Path,
) -> None:
    faces = wide_faces
    guard, private = _guard(db_url, home, ring, clock, faces, nsfw, group, "blur")
    guarded = protect_paths(guard, model=MODEL)(process_image)
    out = tmp_path / "out.png"
    guarded([str(group["hopper"])], str(group["scene"]), str(out))
    [stored] = guard.log.query(Filters(decision="allowed"))
    base = ["--home", str(home), "--db", db_url]
    restored = tmp_path / "restored.png"
    args = [
        "recover",
        stored.record.record_id,
        "--key",
        str(private),
        "--image",
        str(out),
        "--out",
        str(restored),
    ]
    assert main([*base, *args]) == 0
    assert main([*base, *args]) != 0  # never overwrites
    scene = load_image(group["scene"]).rgb
    box = stored.record.extra["anonymised"]["regions"][0]["box"]
    back = load_image(restored).rgb
    assert np.array_equal(back[box[1] : box[3], box[0] : box[2]], scene[box[1] : box[3], box[0] : box[2]])
    shred = [*base, "audit", "shred", stored.record.record_id]
    assert main(shred) == 2  # --reason is required: a deletion says why
    assert main([*shred, "--reason", "erasure request 7", "--actor", "dpo"]) == 0
    statement = guard.log.query()[-1].record
    assert (statement.kind, statement.actor, statement.extra) == (
        "admin_action",
        "dpo",
        {"action": "sealed.shred", "target": stored.record.record_id},
    )
    assert statement.reasons[0]["detail"] == "erasure request 7"
    count = guard.log.count()
    assert main([*shred, "--reason", "again"]) == 1  # nothing left: refused, nothing appended
    assert guard.log.count() == count
    assert main([*base, *args[:-1], str(tmp_path / "again.png")]) == 1
    assert main([*base, "audit", "verify"]) == 0


def test_anonymiser_identity_removal_on_a_real_group_photo(faces: DlibBackend) -> None:
    rgb = load_image(testdata.insightface_t1()).rgb
    found = faces.detect(rgb)
    assert len(found) >= 5
    for method in ("blur", "pixelate", "synthetic"):
        anonymiser = Anonymiser(faces, method=method, threshold=faces.match_threshold, margin=0.2)
        result = anonymiser.apply(rgb, found)
        outside = np.ones(rgb.shape[:2], bool)
        for region in result.regions:
            left, top, right, bottom = region.original.box
            outside[top:bottom, left:right] = False
            assert region.info["distance"] is None or region.info["distance"] >= faces.match_threshold + 0.2
        assert np.array_equal(result.rgb[outside], rgb[outside])  # nothing else changed
        if method == "synthetic":  # what fell back says so; what did not is still a face
            assert all(r.info["detected_after"] for r in result.regions if not r.info["fallback"])
            assert all(r.info.get("why") for r in result.regions if r.info["fallback"])
