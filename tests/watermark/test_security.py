"""The key-less attacks of issue 10 (tests/watermark/attacks.py) against the real codec and trace.

Small-scale versions of bench/watermark/security.py on real photos: what must hold is that an
attacker never gets a payload that was not embedded (collusion), never gets a copied mark
*verified* by the trace (the content check of the record catches it, even though the raw codec
reads the copied mark), and cannot remove the mark by estimating it -- from one image by folding it
over its tile period, or from many outputs by averaging -- at a PSNR of 40 dB or more: the
aperiodic layer (fusionguard/watermark/aperiodic.py) is still read.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog
from fusionguard.audit.record import AuditRecord, ModelInfo, OutputRef, PolicyRef
from fusionguard.content_fingerprint import ContentFingerprint, QueryFeatures
from fusionguard.media import encode_image, load_image
from fusionguard.store import db
from fusionguard.trace import Tracer
from fusionguard.trace_index import save_fingerprint
from fusionguard.watermark import WatermarkCodec
from tests import testdata
from tests.watermark import attacks

KEY = b"fusionguard-security-test-key-01"


def at_512(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = np.ascontiguousarray(image[top : top + side, left : left + side])
    return np.asarray(cv2.resize(crop, (512, 512), interpolation=cv2.INTER_CUBIC), np.uint8)


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    return load_image(encode_image(rgb, "jpeg", quality)).rgb


def record_output(log: AuditLog, marked: np.ndarray, payload: int) -> str:
    """Record a marked output as the Guard does: watermark ID, content fingerprint, signed record."""
    fingerprint = ContentFingerprint.compute(marked)
    blob = fingerprint.to_bytes()
    record = AuditRecord(
        kind="run",
        decision="allowed",
        timestamp=datetime.now(UTC),
        actor="test",
        model=ModelInfo("test", "1", "apache-2.0"),
        policy=PolicyRef("default", "0" * 64),
        output=OutputRef(
            hashlib.sha256(marked.tobytes()).hexdigest(),
            f"{payload:016x}",
            fingerprint.pdq.hex(),
            fingerprint.pdq.quality,
            hashlib.sha256(blob).hexdigest(),
        ),
    )
    save_fingerprint(log.engine, record.record_id, blob)
    log.append(record)
    return record.record_id


@pytest.fixture(scope="module")
def codec() -> WatermarkCodec:
    return WatermarkCodec(KEY)


def test_a_copied_mark_is_read_by_the_codec_but_never_verified_by_the_trace(
    tmp_path: Path, codec: WatermarkCodec
) -> None:
    ring = KeyRing.create(tmp_path / "keys", now=datetime.now(UTC))
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    db.upgrade(db.open_engine(url))
    log = AuditLog.open(url, ring)
    payload = 0x0123_4567_89AB_CDEF
    source = codec.embed(testdata.astronaut(), payload)
    record_id = record_output(log, source, payload)
    tracer = Tracer(log, codec)
    genuine = tracer.trace(jpeg(source, 80))
    assert genuine.verdict == "verified" and genuine.matches[0].record_id == record_id  # the control
    innocents = [
        at_512(testdata.coffee()),
        at_512(testdata.chelsea()),
        at_512(testdata.grace_hopper()),
    ]
    leaked = jpeg(source, 75)
    raw_reads = 0
    for innocent in innocents:
        for forged in (attacks.residual_copy(leaked, innocent), attacks.folded_copy(leaked, innocent)):
            found = codec.detect(forged)
            raw_reads += found is not None and found.payload == payload
            result = tracer.trace(forged)
            assert result.verdict in ("unverified", "no_match"), result.to_json()
            assert result.exit_code != 0
    assert raw_reads >= 1  # the attack is real: the raw codec does read the copied mark


@pytest.mark.parametrize("sigma", [2.0, 3.0])
def test_a_busy_texture_copied_onto_another_photo_is_not_its_content(
    codec: WatermarkCodec, sigma: float
) -> None:
    """The residual of a marked busy texture (gravel) carries its fine detail as well as the mark:
    added to a clock photo it brings enough features and about half the regions near, and only
    the 80th-percentile region rule (REGION_SPREAD) sees that the rest of the picture is another
    one. Genuine copies of the texture stay matches."""
    gravel = at_512(np.stack([testdata.skimage_image("gravel")] * 3, axis=-1))
    clock = np.stack([testdata.skimage_image("clock")] * 3, axis=-1)
    marked = codec.embed(gravel, 0x6A7E_0001_C10C_0002)
    fingerprint = ContentFingerprint.compute(marked)
    forged = attacks.residual_copy(jpeg(marked, 90), clock, sigma)
    comparison = fingerprint.compare(QueryFeatures.of(forged))
    assert not comparison.content_match, comparison.to_json()
    assert comparison.inliers >= 8  # the forgery is a hard one: the features alone would match
    for genuine in (jpeg(marked, 60), marked[64:448, 100:480], cv2.resize(marked, (256, 256))):
        assert fingerprint.compare(QueryFeatures.of(np.ascontiguousarray(genuine))).content_match


@pytest.mark.parametrize("copies", [2, 4, 8])
def test_collusion_never_yields_a_payload_that_was_not_embedded(codec: WatermarkCodec, copies: int) -> None:
    rng = np.random.default_rng(copies)
    image = testdata.astronaut()
    payloads = [int(p) for p in rng.integers(0, 2**63, size=copies, dtype=np.int64)]
    marked = [codec.embed(image, p) for p in payloads]
    for merged in (attacks.collude_average(marked), attacks.collude_mosaic(marked, rng)):
        found = codec.detect(merged)
        assert found is None or found.payload in payloads


def test_folding_one_image_over_its_period_does_not_remove_the_mark(codec: WatermarkCodec) -> None:
    for image in (testdata.astronaut(), at_512(testdata.coffee())):
        payload = 0x5EC0_0001_D00D_F00D
        marked = codec.embed(image, payload)
        tile = attacks.fold_estimate([marked])
        kept_quality = 0
        for strength in (0.75, 1.0, 1.25):
            cleaned = attacks.subtract(marked, tile, strength)
            if attacks.psnr(cleaned, marked) < 40.0:
                continue
            kept_quality += 1
            found = codec.detect(cleaned)
            assert found is not None and found.payload == payload, strength
        assert kept_quality >= 1
        shifted = codec.detect(np.ascontiguousarray(marked[1:, 1:]))
        assert shifted is not None and shifted.payload == payload


def test_averaging_many_outputs_does_not_remove_the_mark(codec: WatermarkCodec) -> None:
    rng = np.random.default_rng(50)
    photos = [testdata.astronaut(), testdata.coffee(), testdata.chelsea(), testdata.grace_hopper()]
    outputs = []
    for i in range(10):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        side = int(min(h, w) * rng.uniform(0.6, 1.0))
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = np.ascontiguousarray(photo[top : top + side, left : left + side])
        outputs.append(codec.embed(at_512(crop), int(rng.integers(0, 2**63))))
    tile = attacks.fold_estimate(outputs)
    payload = 0x0A7E_0A7E_0A7E_0A7E
    target = codec.embed(at_512(load_image(testdata.insightface_t1().read_bytes()).rgb), payload)
    for strength in (1.0, 1.5):
        cleaned = attacks.subtract(target, tile, strength)
        assert attacks.psnr(cleaned, target) >= 40.0
        found = codec.detect(cleaned)
        assert found is not None and found.payload == payload, strength
