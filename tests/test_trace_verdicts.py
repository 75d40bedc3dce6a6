"""Trace verdicts on a real guarded face swap: a trace is evidence only when content and record agree.

One swap (Grace Hopper's face onto the astronaut photo) runs through the real Guard (real checks,
watermark, signed SQLite log) into a real home; then real attacks and real edits of its output are
traced, through the Python API and the CLI as an admin would:

* a JPEG copy and a crop of the output: ``verified``;
* the copy attack (the output's residual, marked minus Gaussian-blurred marked, added to an innocent
  photo at the embedding strength): the codec reads the mark, the trace says ``unverified``;
* the mark stripped by a regeneration proxy (heavy blur, noise, JPEG): ``fingerprint``;
* the untouched target photo: never a hit (``no_match``, related to the record's target);
* an unrelated photo: ``no_match``; a 160-px thumbnail: the fingerprint search, not an error;
* ``audit takedown --image`` refuses the unverified trace unless overridden, and says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from fusionguard import cli
from fusionguard.adapters import protect_paths
from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog, Filters
from fusionguard.audit.record import ModelInfo
from fusionguard.checks.nsfw import OpenNsfwOnnx
from fusionguard.content_fingerprint import ContentFingerprint
from fusionguard.demo import swap
from fusionguard.faces import DlibBackend
from fusionguard.guard import Guard, load_watermark_key
from fusionguard.media import encode_image, load_image
from fusionguard.policy import Policy
from fusionguard.registry import ConsentRegistry, IdentityKeyStore, enrol_photos
from fusionguard.store import db
from fusionguard.trace import Tracer, TraceResult
from fusionguard.trace_index import TraceIndex
from fusionguard.watermark import WatermarkCodec
from fusionguard.workspace import WorkspaceManager
from tests import testdata
from tests.conftest import FixedClock

pytestmark = pytest.mark.slow
MODEL = ModelInfo("fusionguard-demo-swap", "1.0", "apache-2.0")


class Swap:
    def __init__(self, home: Path, guard: Guard, record_id: str, output: np.ndarray, target: np.ndarray):
        self.home, self.guard, self.record_id = home, guard, record_id
        self.output, self.target = output, target

    def trace(self, rgb: np.ndarray) -> TraceResult:
        return Tracer(self.guard.log, self.guard.codec, index_dir=self.home / "trace-index").trace(rgb)


@pytest.fixture(scope="module")
def swapped(tmp_path_factory: pytest.TempPathFactory, faces: DlibBackend, nsfw: OpenNsfwOnnx) -> Swap:
    root = tmp_path_factory.mktemp("trace")
    home = root / "home"
    clock = FixedClock()
    ring = KeyRing.create(home / "keys", now=clock())
    url = f"sqlite:///{home / 'audit.db'}"
    db.upgrade(db.open_engine(url))
    log = AuditLog.open(url, ring, clock=clock, witness_path=home / "log-head.note")
    guard = Guard(
        policy=Policy.default(),
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
    )
    astronaut, hopper = root / "astronaut.png", root / "hopper.png"
    astronaut.write_bytes(encode_image(testdata.astronaut(), "png"))
    hopper.write_bytes(encode_image(testdata.grace_hopper(), "png"))
    enrol_photos(guard.registry, faces, "Eileen Collins", [astronaut], roles=["source", "target"])
    enrol_photos(guard.registry, faces, "Grace Hopper", [hopper], roles=["source"])
    output = root / "out.png"
    protect_paths(guard, model=MODEL)(swap.process_image)([str(hopper)], str(astronaut), str(output))
    [stored] = guard.log.query(Filters(decision="allowed"))
    return Swap(home, guard, stored.record.record_id, load_image(output).rgb, testdata.astronaut())


def jpeg(rgb: np.ndarray, quality: int = 75) -> np.ndarray:
    return load_image(encode_image(rgb, "jpeg", quality)).rgb


def copy_attack(marked: np.ndarray, innocent: np.ndarray) -> np.ndarray:
    """Kutter's copy attack from one marked image: its high-pass residual added to another photo."""
    residual = marked.astype(np.float64) - cv2.GaussianBlur(marked, (0, 0), 2.0).astype(np.float64)
    cover = cv2.resize(innocent, (marked.shape[1], marked.shape[0]), interpolation=cv2.INTER_AREA)
    return np.clip(cover.astype(np.float64) + residual, 0, 255).round().astype(np.uint8)


def test_the_record_points_to_a_compact_fingerprint_of_output_and_target(swapped: Swap) -> None:
    stored = swapped.guard.log.get(swapped.record_id)
    assert stored.record.output is not None and stored.record.output.fingerprint is not None
    index = TraceIndex.in_memory(swapped.guard.log.engine, swapped.guard.log.state()[0])
    assert len(index) == 1
    fingerprint = ContentFingerprint.compute(swapped.output, swapped.target)
    blob = fingerprint.to_bytes()
    assert len(blob) <= 8000  # a few KB
    assert fingerprint.target_pdq is not None and fingerprint.box is not None  # the swap changed a region
    again = ContentFingerprint.from_bytes(blob)
    assert again.to_bytes() == blob


def test_a_recompressed_copy_is_verified(swapped: Swap) -> None:
    result = swapped.trace(jpeg(swapped.output, 80))
    assert result.verdict == "verified" and result.exit_code == 0
    assert result.matches[0].method == "watermark" and result.matches[0].record_id == swapped.record_id
    assert result.matches[0].matched == "output"


def test_a_crop_showing_the_face_is_verified_or_found(swapped: Swap) -> None:
    h, w = swapped.output.shape[:2]
    crop = swapped.output[h // 8 : h // 8 + h // 2, w // 4 : w // 4 + w // 2]  # 25 % of the area, the face
    leaked = jpeg(cv2.resize(crop, None, fx=0.9, fy=0.9, interpolation=cv2.INTER_AREA), 85)
    result = swapped.trace(leaked)
    assert result.verdict in ("verified", "fingerprint")
    assert result.matches[0].record_id == swapped.record_id
    # Never the target; "either" when the changed-region comparison is not decisive on the crop.
    assert result.matches[0].matched in ("output", "either")
    assert result.matches[0].content["feature_inliers"] >= 8


def test_a_copied_mark_on_an_innocent_photo_is_unverified(swapped: Swap) -> None:
    forged = copy_attack(jpeg(swapped.output, 90), testdata.coffee())
    detection = swapped.guard.codec.detect(forged)
    stored = swapped.guard.log.get(swapped.record_id)
    assert detection is not None  # the attack works on the raw codec ...
    assert (
        stored.record.output is not None and f"{detection.payload:016x}" == stored.record.output.watermark_id
    )
    result = swapped.trace(forged)  # ... and the trace does not believe it
    assert result.verdict == "unverified" and result.exit_code == 4
    [hit] = result.matches
    assert hit.method == "watermark" and hit.record_id == swapped.record_id
    assert hit.false_alarm_probability is not None and hit.false_alarm_probability < 1e-10
    assert hit.content["content_match"] is False and hit.content["pdq_distance"] > 31
    # The residual carries the output's edges, so features may locate it; its low frequencies do not agree.
    region = hit.content["region_distance"]
    assert region is None or region > 48


def test_the_mark_copied_onto_the_target_photo_is_unverified(swapped: Swap) -> None:
    forged = copy_attack(swapped.output, swapped.target)
    if swapped.guard.codec.detect(forged) is None:
        pytest.skip("the codec did not read the copied mark on this photo")
    result = swapped.trace(forged)
    assert result.verdict == "unverified"
    assert result.matches[0].matched == "target"


def test_a_stripped_mark_falls_back_to_the_fingerprint(swapped: Swap) -> None:
    rng = np.random.default_rng(5)
    regenerated = cv2.GaussianBlur(swapped.output, (0, 0), 2.5).astype(np.float64)
    regenerated += rng.normal(0, 6, regenerated.shape)
    stripped = jpeg(np.clip(regenerated, 0, 255).round().astype(np.uint8), 60)
    assert swapped.guard.codec.detect(stripped) is None
    result = swapped.trace(stripped)
    assert result.verdict == "fingerprint" and result.exit_code == 0
    assert result.matches[0].method == "fingerprint" and result.matches[0].record_id == swapped.record_id
    assert result.matches[0].matched in ("output", "either")


def test_the_untouched_target_photo_is_never_a_hit(swapped: Swap) -> None:
    result = swapped.trace(swapped.target)
    assert result.verdict == "no_match" and result.exit_code == 3 and not result.found
    assert all(m.record_id != swapped.record_id for m in result.matches)
    assert [m.record_id for m in result.related] == [swapped.record_id]
    assert result.related[0].matched == "target"
    assert "target" in result.note


def test_an_unrelated_photo_is_no_match(swapped: Swap) -> None:
    result = swapped.trace(testdata.chelsea())
    assert result.verdict == "no_match" and not result.matches and not result.related


def test_a_thumbnail_below_the_detector_minimum_gets_the_fingerprint_search(swapped: Swap) -> None:
    thumbnail = cv2.resize(swapped.output, (160, 160), interpolation=cv2.INTER_AREA)
    result = swapped.trace(jpeg(thumbnail, 85))
    assert "fingerprint search only" in result.note
    assert result.verdict == "fingerprint"
    assert result.matches[0].record_id == swapped.record_id


def _cli(home: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["--home", str(home), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_trace_prints_the_verdict_and_its_exit_code(
    swapped: Swap, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = tmp_path / "forged.png"
    forged.write_bytes(encode_image(copy_attack(jpeg(swapped.output, 90), testdata.coffee()), "png"))
    code, out, _ = _cli(swapped.home, "trace", str(forged), "--json", capsys=capsys)
    traced: dict[str, Any] = json.loads(out)
    assert code == 4 and traced["verdict"] == "unverified"
    code, out, _ = _cli(swapped.home, "trace", str(forged), capsys=capsys)
    assert code == 4 and "UNVERIFIED" in out.splitlines()[0] and "does NOT match" in out
    target = tmp_path / "target.png"
    target.write_bytes(encode_image(swapped.target, "png"))
    code, out, _ = _cli(swapped.home, "trace", str(target), capsys=capsys)
    assert code == 3 and out.startswith(f"{target}: no match") and "related (not a hit)" in out
    assert "NOT its output" in out and "watermark" not in out.split("\n", 1)[1]
    code, out, _ = _cli(swapped.home, "trace-index", "--verify", capsys=capsys)
    assert code == 0 and "ok: the index agrees" in out


def test_takedown_refuses_an_unverified_trace_unless_overridden(
    swapped: Swap, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = tmp_path / "forged.png"
    forged.write_bytes(encode_image(copy_attack(jpeg(swapped.output, 90), testdata.coffee()), "png"))
    before = swapped.guard.log.count()
    code, _, err = _cli(
        swapped.home, "audit", "takedown", swapped.record_id, "--reason", "report", "--image", str(forged),
        capsys=capsys,
    )  # fmt: skip
    assert code == 3 and "unverified" in err and "--override-unverified" in err
    assert swapped.guard.log.count() == before
    code, _, err = _cli(
        swapped.home, "audit", "takedown", swapped.record_id, "--reason", "report", "--image", str(forged),
        "--override-unverified", "the reporter sent the original file too", capsys=capsys,
    )  # fmt: skip
    assert code == 0, err
    takedown = swapped.guard.log.get(str(before))
    data = takedown.record.reasons[0]["data"]["trace"]
    assert data["verdict"] == "unverified"
    assert data["override_unverified"] == "the reporter sent the original file too"
    leak = tmp_path / "leak.jpg"
    leak.write_bytes(encode_image(swapped.output, "jpeg", 85))
    code, _, err = _cli(
        swapped.home, "audit", "takedown", swapped.record_id, "--reason", "report", "--image", str(leak),
        capsys=capsys,
    )  # fmt: skip
    assert code == 1 and "already taken down" in err  # one takedown per record, however it is traced
    assert swapped.guard.log.count() == before + 1
    code, out, err = _cli(swapped.home, "trace", str(leak), "--json", capsys=capsys)
    assert code == 0 and json.loads(out)["verdict"] == "verified", err
