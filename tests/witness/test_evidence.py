"""Evidence bundles: built from a witnessed log, checked offline by the standalone verifier."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from skimage import data

import fusionguard.verify_evidence as standalone
from fusionguard.audit.record import AuditRecord, InputRef, ModelInfo, OutputRef, PolicyRef
from fusionguard.errors import AuditError
from fusionguard.evidence import build_evidence, compare_image
from fusionguard.fingerprint import pdq_hash
from fusionguard.verify_evidence import Invalid, describe, verify
from fusionguard.watermark import WatermarkCodec
from fusionguard.witness.cosignature import Verifier, raw_public
from tests.witness.conftest import Setup


def _witnessed(setup: Setup, n: int) -> None:
    setup.fill(n)
    statuses = setup.client().submit_now()
    assert all(s.size == setup.log.state()[1] for s in statuses.values()), statuses


def test_bundle_proves_the_record_under_a_witnessed_checkpoint(setup: Setup, tmp_path: Path) -> None:
    _witnessed(setup, 7)
    setup.fill(2)  # newer records are not witnessed yet
    bundle = build_evidence(setup.log, setup.policy, "3", now=setup.clock())
    result = verify(bundle)
    assert result["index"] == 3 and result["tree_size"] == 7 and set(result["cosigned"]) == {"w1", "w2"}
    assert bundle["proof"].startswith("c2sp.org/tlog-proof@v1\nindex 3\n")
    words = "\n".join(describe(result))
    assert "PROVEN: it is entry 3" in words and "WARNING: keys were taken from the file" in words
    with pytest.raises(AuditError, match="witness submit"):
        build_evidence(setup.log, setup.policy, "8", now=setup.clock())

    # The standalone verifier as a platform runs it: one file, a pinned policy, no fusionguard.
    policy_file = tmp_path / "trusted.policy"
    policy_file.write_text(bundle["witness_policy"])
    evidence = tmp_path / "evidence.json"
    evidence.write_text(json.dumps(bundle))
    script = tmp_path / "verify_evidence.py"
    script.write_text(Path(standalone.__file__).read_text())
    done = subprocess.run(
        [sys.executable, "-I", str(script), str(evidence), "--policy", str(policy_file)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "PROVEN: witnesses w1 at" in done.stdout and "WARNING" not in done.stdout


def test_the_standalone_verifier_imports_only_cryptography_and_the_standard_library() -> None:
    source = Path(standalone.__file__).read_text()
    assert len(source.splitlines()) <= 200
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported - {"cryptography", "__future__"} <= set(sys.stdlib_module_names)


def test_tampered_or_unwitnessed_bundles_fail(setup: Setup, tmp_path: Path) -> None:
    _witnessed(setup, 5)
    bundle = build_evidence(setup.log, setup.policy, "1", now=setup.clock())

    edited = dict(bundle, envelope=bundle["envelope"].replace('"decision":"allowed"', '"decision":"blocked"'))
    with pytest.raises(Invalid, match="not in the log"):
        verify(edited)
    lines = bundle["proof"].rstrip("\n").split("\n")
    one_cosignature = dict(bundle, proof="\n".join(lines[:-1]) + "\n")
    with pytest.raises(Invalid, match="do not meet the quorum"):
        verify(one_cosignature)
    # The platform pins its own keys: a w2 key other than the one that cosigned does not count.
    impostor = Verifier.cosigner("witness.test/w2", raw_public(Ed25519PrivateKey.generate().public_key()))
    pinned = bundle["witness_policy"].replace(setup.w2.verifier.vkey, impostor.vkey)
    assert pinned != bundle["witness_policy"]
    with pytest.raises(Invalid, match="do not meet the quorum"):
        verify(bundle, pinned)
    forged = dict(bundle, trace={"record_id": "0" * 32})
    with pytest.raises(Invalid, match="another record"):
        verify(forged)


def _released(codec: WatermarkCodec, payload: int) -> tuple[np.ndarray, OutputRef]:
    rgb = codec.embed(np.ascontiguousarray(data.astronaut()), payload)
    png = io.BytesIO()
    Image.fromarray(rgb).save(png, format="PNG")
    fingerprint = pdq_hash(rgb)
    output = OutputRef(hashlib.sha256(png.getvalue()).hexdigest(), f"{payload:016x}", fingerprint.hex(), 100)
    return rgb, output


def _leak(rgb: np.ndarray) -> bytes:
    """Shrunk and re-compressed, as a takedown request brings it (a crop would move the PDQ hash)."""
    image = Image.fromarray(rgb).resize((400, 400))
    jpeg = io.BytesIO()
    image.save(jpeg, format="JPEG", quality=75)
    return jpeg.getvalue()


def test_bundle_with_a_leaked_image_carries_the_trace(setup: Setup, tmp_path: Path) -> None:
    codec = WatermarkCodec(b"k" * 32)
    payload = 0x1234_5678_9ABC_DEF0
    rgb, output = _released(codec, payload)
    setup.fill(2)
    record = AuditRecord(
        kind="run",
        decision="allowed",
        timestamp=setup.clock(),
        actor="worker-1",
        model=ModelInfo("demo-swap", "1.0", "apache-2.0"),
        policy=PolicyRef("default", "ab" * 32),
        sources=(InputRef("source", 0, "1" * 64, ("id-alice",), 1),),
        targets=(InputRef("target", 0, "2" * 64, ("id-bob",), 1),),
        output=output,
    )
    seq = setup.log.append(record).seq
    _witnessed(setup, 1)
    leak = _leak(rgb)
    leaked_rgb = np.asarray(Image.open(io.BytesIO(leak)).convert("RGB"))
    trace = compare_image(setup.log, str(seq), leaked_rgb, leak, codec)
    assert trace["verdict"] == "verified" and trace["watermark_id"] == output.watermark_id
    assert trace["pdq_distance"] is not None and trace["pdq_distance"] <= 31
    bundle = build_evidence(setup.log, setup.policy, str(seq), now=setup.clock(), trace=trace)
    words = "\n".join(describe(verify(bundle)))
    assert "verdict verified" in words and hashlib.sha256(leak).hexdigest() in words

    unmarked = _leak(np.ascontiguousarray(data.astronaut()))  # the same picture without the mark
    unmarked_rgb = np.asarray(Image.open(io.BytesIO(unmarked)).convert("RGB"))
    assert compare_image(setup.log, str(seq), unmarked_rgb, unmarked, codec)["verdict"] == "fingerprint"
