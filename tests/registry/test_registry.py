"""The consent registry and the consent check with the real dlib models on real photos."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog
from fusionguard.checks.consent import ConsentCheck
from fusionguard.errors import BadInput, NotFound
from fusionguard.faces import DlibBackend
from fusionguard.media import encode_image, load_image
from fusionguard.policy import Policy
from fusionguard.registry import ConsentRegistry, IdentityKeyStore, enrol_photos
from tests import testdata
from tests.conftest import FixedClock

pytestmark = pytest.mark.slow


@pytest.fixture
def backend(faces: DlibBackend) -> DlibBackend:
    return faces


@pytest.fixture
def registry(db_url: str, clock: FixedClock, ring: KeyRing, home: Path) -> ConsentRegistry:
    log = AuditLog.open(db_url, ring, clock=clock, witness_path=home / "log-head.note")
    return ConsentRegistry(log.engine, keys=IdentityKeyStore(home / "identity-keys"), log=log, clock=clock)


def png(tmp_path: Path, name: str, rgb: np.ndarray) -> Path:
    path = tmp_path / f"{name}.png"
    path.write_bytes(encode_image(rgb, "png"))
    return path


def test_one_enrolment_matches_other_photos_and_refuses_other_people(
    registry: ConsentRegistry, backend: DlibBackend, tmp_path: Path
) -> None:
    obama = testdata.obama_full_face_photos()
    names = sorted(obama)
    identity = enrol_photos(registry, backend, "Barack Obama", [obama[names[0]]], roles=["source", "target"])
    check = ConsentCheck(backend, registry)
    rules = Policy.default().consent
    for name in names[1:]:
        found = check.check_inputs([(name, load_image(obama[name]).rgb)], [], rules)
        assert found.identities[name] == (identity,), (name, found.reasons)
        assert not found.reasons
    others = {
        "biden": load_image(testdata.biden()).rgb,
        "astronaut": testdata.astronaut(),
        "grace_hopper": testdata.grace_hopper(),
    }
    for label, rgb in others.items():
        found = check.check_inputs([(label, rgb)], [], rules)
        assert found.identities[label] == ()
        assert found.reasons and "matches no enrolled identity" in found.reasons[0].detail
        assert found.reasons[0].data["distance"] > found.reasons[0].data["threshold"]
    crowd = check.check_inputs([], [("t1", load_image(testdata.insightface_t1()).rgb)], rules)
    assert crowd.faces["t1"] == 6 and len(crowd.reasons) == 6  # six strangers, six refusals


def test_revocation_and_expiry_apply_to_the_next_check(
    registry: ConsentRegistry, backend: DlibBackend, clock: FixedClock
) -> None:
    obama = testdata.obama_full_face_photos()
    first, second = sorted(obama)[:2]
    identity = enrol_photos(
        registry,
        backend,
        "Barack Obama",
        [obama[first]],
        roles=["source"],
        valid_until=clock() + timedelta(days=30),
    )
    check = ConsentCheck(backend, registry)
    rules = Policy.default().consent
    probe = load_image(obama[second]).rgb
    assert not check.check_inputs([("source[0]", probe)], [], rules).reasons
    as_target = check.check_inputs([], [("target", probe)], rules)
    assert "no active target consent" in as_target.reasons[0].detail
    clock.advance(days=31)
    expired = check.check_inputs([("source[0]", probe)], [], rules)
    assert "no active source consent" in expired.reasons[0].detail
    clock.advance(days=-31)
    assert registry.revoke(identity) == 1
    revoked = check.check_inputs([("source[0]", probe)], [], rules)
    assert revoked.reasons and revoked.reasons[0].data["identity"] == identity


def test_erase_removes_biometrics_but_keeps_the_pseudonym(
    registry: ConsentRegistry, backend: DlibBackend
) -> None:
    photo = testdata.obama_full_face_photos()
    identity = enrol_photos(registry, backend, "Barack Obama", [next(iter(photo.values()))], roles=["source"])
    registry.erase(identity)
    info = registry.show(identity)
    assert info.erased and info.display_name is None and info.embeddings == {}
    assert info.active_roles(registry.clock()) == set()
    with pytest.raises(NotFound):
        registry.show("id-0000000000000000")


def test_enrolment_refuses_bad_photos(
    registry: ConsentRegistry, backend: DlibBackend, tmp_path: Path
) -> None:
    with pytest.raises(BadInput, match="no face found"):
        enrol_photos(
            registry, backend, "Coffee", [png(tmp_path, "coffee", testdata.coffee())], roles=["source"]
        )
    with pytest.raises(BadInput, match="6 faces found"):
        enrol_photos(registry, backend, "Crowd", [testdata.insightface_t1()], roles=["source"])
    biden = load_image(testdata.biden()).rgb
    scale = 60 / backend.detect(biden)[0].size  # a face of about 60 px: detectable, below the minimum
    small = cv2.resize(biden, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    with pytest.raises(BadInput, match="smaller than the 80 px minimum"):
        enrol_photos(registry, backend, "Tiny", [png(tmp_path, "tiny", small)], roles=["source"])
    with pytest.raises(BadInput, match="roles"):
        enrol_photos(registry, backend, "Joe", [testdata.biden()], roles=["bystander"])
    assert registry.identities() == []
