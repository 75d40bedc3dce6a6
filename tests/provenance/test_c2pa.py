"""C2PA Content Credentials on released outputs: a real c2pa-python round trip on real guarded runs,
on SQLite and PostgreSQL (policy provenance.c2pa: embed | sidecar)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import c2pa
import pytest

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog, Filters
from fusionguard.audit.record import ModelInfo
from fusionguard.audit.verify import verify_log
from fusionguard.checks.nsfw import OpenNsfwOnnx
from fusionguard.demo import swap
from fusionguard.errors import ConfigError, ConsentRequired
from fusionguard.faces import DlibBackend
from fusionguard.guard import Guard, load_watermark_key
from fusionguard.media import encode_image, load_image, sha256_hex
from fusionguard.policy import Policy, ProvenancePolicy
from fusionguard.provenance.c2pa import (
    COMPOSITE,
    GENERATED,
    RUN_ASSERTION,
    C2paSigner,
    RunFacts,
    make_dev_cert,
    read_manifest,
    sidecar_path,
)
from fusionguard.provenance.trace_c2pa import trace_bytes
from fusionguard.registry import ConsentRegistry, IdentityKeyStore, enrol_photos
from fusionguard.trace import Tracer
from fusionguard.watermark import WatermarkCodec
from fusionguard.workspace import WorkspaceManager
from tests import testdata
from tests.conftest import FixedClock
from tests.test_guard import enrol_pair
from tests.test_guard import make_guard as base_guard

pytestmark = pytest.mark.slow
MODEL = ModelInfo("fusionguard-demo-swap", "1.0", "apache-2.0")


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("photos")
    paths = {
        "astronaut": testdata.astronaut(),
        "hopper": testdata.grace_hopper(),
        "coffee": testdata.coffee(),
    }
    for name, rgb in paths.items():
        (folder / f"{name}.png").write_bytes(encode_image(rgb, "png"))
    return {name: folder / f"{name}.png" for name in paths}


@pytest.fixture(scope="session")
def dev_cert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("c2pa") / "c2pa"
    make_dev_cert(folder)
    return folder


def policy(mode: str) -> Policy:
    return replace(Policy.default(), provenance=ProvenancePolicy(c2pa=mode))  # type: ignore[arg-type]


def make_guard(
    mode: str,
    dev_cert: Path,
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    photos: dict[str, Path],
) -> Guard:
    signer = C2paSigner.from_dir(dev_cert, mode=mode)
    guard = base_guard(db_url, home, ring, clock, faces, nsfw, policy(mode), c2pa_signer=signer)
    enrol_pair(guard, faces, photos)
    return guard


@pytest.fixture
def embed(
    dev_cert: Path,
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    photos: dict[str, Path],
) -> Guard:
    return make_guard("embed", dev_cert, db_url, home, ring, clock, faces, nsfw, photos)


@pytest.fixture
def sidecar(
    dev_cert: Path,
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    photos: dict[str, Path],
) -> Guard:
    return make_guard("sidecar", dev_cert, db_url, home, ring, clock, faces, nsfw, photos)


def released(tmp_path: Path) -> Path:
    """A folder of its own for the outputs (tmp_path also holds the home and the database)."""
    folder = tmp_path / "released"
    folder.mkdir(exist_ok=True)
    return folder


def swap_run(guard: Guard, photos: dict[str, Path], output: Path) -> Any:
    return guard.run(
        sources=[photos["hopper"]],
        target=photos["astronaut"],
        model=MODEL,
        pipeline=lambda run: swap.swap_face(run.sources[0], run.target),
        output_path=output,
    )


def store_of(data: bytes, manifest: bytes | None = None) -> dict[str, Any]:
    with c2pa.Reader("image/png", io.BytesIO(data), manifest) as reader:
        return dict(json.loads(reader.json()))


def personal(guard: Guard) -> list[str]:
    """Everything about the enrolled people a manifest must never carry."""
    people = guard.registry.identities()
    return [p.identity_id for p in people] + ["Eileen", "Collins", "Grace", "Hopper", "astronaut", "hopper"]


def test_embedded_manifest_round_trip(embed: Guard, photos: dict[str, Path], tmp_path: Path) -> None:
    output = released(tmp_path) / "out.png"
    result = swap_run(embed, photos, output)
    data = output.read_bytes()
    record = embed.log.get(result.record_id).record
    assert record.output is not None and record.output.sha256 == sha256_hex(data)  # manifest included
    store = store_of(data)
    # Cryptographically valid (claim signature, hard binding over the released bytes); the only
    # failure is that the dev certificate is, as labelled, not trusted.
    assert store["validation_state"] == "Valid"
    failures = store["validation_results"]["activeManifest"]["failure"]
    assert [f["code"] for f in failures] == ["signingCredential.untrusted"]
    success = {s["code"] for s in store["validation_results"]["activeManifest"]["success"]}
    assert {"claimSignature.validated", "assertion.dataHash.match"} <= success
    active = store["manifests"][store["active_manifest"]]
    by_label = {a["label"]: a["data"] for a in active["assertions"]}
    assert set(by_label) == {"c2pa.actions.v2", "c2pa.soft-binding", RUN_ASSERTION}
    actions = by_label["c2pa.actions.v2"]["actions"]
    assert [a["action"] for a in actions] == ["c2pa.created", "c2pa.edited"]
    assert {a["digitalSourceType"] for a in actions} == {COMPOSITE}
    assert actions[1]["softwareAgent"]["name"] == "fusionguard"
    assert by_label["c2pa.soft-binding"]["alg"] == "fusionguard.watermark.v1"
    run = by_label[RUN_ASSERTION]
    assert run["record_id"] == result.record_id and run["watermark_id"] == record.output.watermark_id
    assert run["log_origin"] == embed.log.state()[0]
    assert run["model"] == {"name": MODEL.name, "version": MODEL.version, "license": MODEL.license}
    text = json.dumps(store)
    assert not [word for word in personal(embed) if word in text]
    # The watermark was embedded before signing: it is in the released pixels.
    detection = embed.codec.detect(load_image(data).rgb)
    assert detection is not None and detection.payload == result.watermark_id
    assert verify_log(embed.log, full=True).ok


def test_generation_without_target_is_created(embed: Guard, photos: dict[str, Path], tmp_path: Path) -> None:
    output = released(tmp_path) / "gen.png"
    coffee = load_image(photos["coffee"]).rgb
    embed.run(sources=[], target=None, model=MODEL, pipeline=lambda run: coffee, output_path=output)
    store = store_of(output.read_bytes())
    active = store["manifests"][store["active_manifest"]]
    [actions] = [a["data"]["actions"] for a in active["assertions"] if a["label"] == "c2pa.actions.v2"]
    assert [(a["action"], a["digitalSourceType"]) for a in actions] == [("c2pa.created", GENERATED)]


def test_exiftool_sees_only_c2pa(embed: Guard, photos: dict[str, Path], tmp_path: Path) -> None:
    exiftool = shutil.which("exiftool")
    assert exiftool is not None, "exiftool is installed on every machine that runs these tests"
    output = released(tmp_path) / "out.png"
    swap_run(embed, photos, output)
    tags = json.loads(
        subprocess.run(
            [exiftool, "-j", "-a", "-G1", str(output)], capture_output=True, text=True, check=True
        ).stdout
    )[0]
    groups = {key.split(":")[0] for key in tags if ":" in key}
    # File system, ExifTool, derived values, the PNG header, and the JUMBF boxes of the manifest
    # (ExifTool names their parts JUMBF, Jpeg2000 (box salts) and CBOR): nothing else.
    assert groups <= {"ExifTool", "System", "File", "Composite", "PNG", "JUMBF", "Jpeg2000", "CBOR"}
    assert {"JUMBF", "CBOR"} <= groups
    png = {key for key in tags if key.startswith("PNG:")}
    assert png <= {
        f"PNG:{k}"
        for k in ("ImageWidth", "ImageHeight", "BitDepth", "ColorType", "Compression", "Filter", "Interlace")
    }
    assert tags["JUMBF:JUMDLabel"] == "c2pa"


def test_sidecar_beside_the_output(sidecar: Guard, photos: dict[str, Path], tmp_path: Path) -> None:
    output = released(tmp_path) / "out.png"
    result = swap_run(sidecar, photos, output)
    data, manifest = output.read_bytes(), sidecar_path(output).read_bytes()
    assert sorted(p.name for p in output.parent.iterdir()) == ["out.png", "out.png.c2pa"]
    record = sidecar.log.get(result.record_id).record
    assert record.output is not None and record.output.sha256 == sha256_hex(data)
    assert read_manifest(data) is None  # nothing inside the image
    claim = read_manifest(data, sidecar=manifest)
    assert claim is not None and claim.record_id == result.record_id
    assert claim.validation_state == "Valid"
    # The sidecar is bound to these bytes: another image does not validate with it.
    other = encode_image(load_image(photos["coffee"]).rgb, "png")
    assert store_of(other, manifest)["validation_state"] == "Invalid"


def test_a_block_leaves_no_output_and_no_sidecar(
    sidecar: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    output = released(tmp_path) / "out.png"
    with pytest.raises(ConsentRequired):  # Grace Hopper never consented to be a target
        sidecar.run(
            sources=[photos["astronaut"]],
            target=photos["hopper"],
            model=MODEL,
            pipeline=lambda run: swap.swap_face(run.sources[0], run.target),
            output_path=output,
        )
    assert list(output.parent.iterdir()) == []


def test_a_failed_append_leaves_no_output_and_no_sidecar(
    sidecar: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    """The sidecar was staged beside the output when the record could not be written."""
    output = released(tmp_path) / "out.png"
    original = sidecar.log.append

    def failing(record: Any) -> Any:
        if record.decision == "allowed":
            raise RuntimeError("database went away")
        return original(record)

    sidecar.log.append = failing  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        swap_run(sidecar, photos, output)
    assert list(output.parent.iterdir()) == []
    assert not sidecar.log.query(Filters(decision="allowed"))


def test_trace_reads_the_manifest_and_falls_back_when_stripped(
    embed: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    output = released(tmp_path) / "out.png"
    result = swap_run(embed, photos, output)
    data = output.read_bytes()
    tracer = Tracer(embed.log, embed.codec)
    fast = trace_bytes(tracer, data, "out.png")
    assert fast.verdict == "verified" and fast.matches[0].method == "c2pa"
    assert fast.matches[0].record_id == result.record_id and fast.details["c2pa"]["accepted"]
    # Stripped (decoded and re-encoded): no manifest, the watermark and fingerprint decide.
    stripped = encode_image(load_image(data).rgb, "png")
    assert read_manifest(stripped) is None
    slow = trace_bytes(tracer, stripped, "stripped.png")
    assert slow.verdict == "verified" and slow.matches[0].method == "watermark"
    assert slow.matches[0].record_id == result.record_id and "c2pa" not in slow.details


def test_a_manifest_is_checked_against_the_log_never_trusted(
    embed: Guard, photos: dict[str, Path], tmp_path: Path, dev_cert: Path
) -> None:
    output = released(tmp_path) / "out.png"
    result = swap_run(embed, photos, output)
    record = embed.log.get(result.record_id).record
    assert record.output is not None
    tracer = Tracer(embed.log, embed.codec)
    signer = C2paSigner.from_dir(dev_cert)
    facts = RunFacts(
        record_id="0" * 32,
        log_origin=embed.log.state()[0],
        watermark_id=record.output.watermark_id,
        model_name="m",
        model_version="1",
        model_license="mit",
        with_target=True,
        software_version="0",
    )
    # A manifest naming a record that does not exist, on an innocent photo: reported, no hit.
    innocent, _ = signer.sign(encode_image(load_image(photos["coffee"]).rgb, "png"), "png", facts)
    traced = trace_bytes(tracer, innocent, "innocent.png")
    assert traced.verdict == "no_match" and not traced.details["c2pa"]["accepted"]
    assert "not in this log" in traced.note
    # A re-signed copy of the real output naming the real record: not the released bytes, so the
    # manifest is not accepted; the watermark and content still find (and verify) the record.
    resigned, _ = signer.sign(
        encode_image(load_image(output).rgb, "png"), "png", replace(facts, record_id=result.record_id)
    )
    traced = trace_bytes(tracer, resigned, "resigned.png")
    assert not traced.details["c2pa"]["accepted"] and "SHA-256 differs" in traced.note
    assert traced.verdict == "verified" and traced.matches[0].method == "watermark"


def test_policy_section_is_additive() -> None:
    default = Policy.default()
    assert "provenance" not in default.to_dict()
    embed = Policy.from_mapping({**default.to_dict(), "provenance": {"c2pa": "embed"}})
    assert embed.provenance.c2pa == "embed" and embed.sha256 != default.sha256
    with pytest.raises(ConfigError, match=r"provenance\.c2pa: found 'yes'"):
        Policy.from_mapping({**default.to_dict(), "provenance": {"c2pa": "yes"}})


def test_guard_refuses_without_c2pa_python_or_signer(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = AuditLog.open(db_url, ring, clock=clock)

    def build() -> Guard:
        return Guard(
            policy=policy("embed"),
            log=log,
            registry=ConsentRegistry(
                log.engine, keys=IdentityKeyStore(home / "identity-keys"), log=log, clock=clock
            ),
            faces=faces,
            nsfw=nsfw,
            codec=WatermarkCodec(load_watermark_key(home / "keys")),
            workspaces=WorkspaceManager(home / "workspaces"),
        )

    with pytest.raises(ConfigError, match=r"no signer was given"):
        build()
    monkeypatch.setitem(sys.modules, "c2pa", None)  # as if c2pa-python were not installed
    with pytest.raises(ConfigError, match=r"pip install 'fusionguard\[c2pa\]'"):
        build()


def test_dev_cert_cli_is_labelled_not_trusted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cryptography import x509

    from fusionguard.cli import main

    out = tmp_path / "c2pa"
    command = ["--home", str(tmp_path / "home"), "keys", "c2pa-dev-cert", "--out", str(out)]
    assert main(command) == 0
    assert "NOT TRUSTED" in capsys.readouterr().out
    leaf, ca = x509.load_pem_x509_certificates((out / "chain.pem").read_bytes())
    assert "NOT TRUSTED" in leaf.subject.rfc4514_string() and "NOT TRUSTED" in ca.subject.rfc4514_string()
    assert leaf.issuer == ca.subject
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert (out / "key.pem").stat().st_mode & 0o077 == 0
    # Never overwrites a chain or key (an operator's real one may be there): one-line error.
    assert main(command) != 0
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error:") and "already exists" in line
    assert C2paSigner.from_dir(out).mode == "embed"  # what the CLI wrote signs


def test_from_policy_and_trace_cli_with_a_sidecar(
    tmp_path: Path,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    photos: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The operator's path: init, dev cert in <home>/c2pa, a policy file, then ``fusionguard trace``."""
    from fusionguard.cli import main

    home = tmp_path / "home"
    assert main(["--home", str(home), "init"]) == 0
    assert main(["--home", str(home), "keys", "c2pa-dev-cert"]) == 0
    assert (home / "c2pa" / "chain.pem").is_file()
    policy_file = tmp_path / "c2pa.yaml"
    policy_file.write_text(json.dumps({**policy("sidecar").to_dict(), "name": "c2pa-sidecar"}))
    output = released(tmp_path) / "out.png"
    with Guard.from_policy(policy_file, home=home, faces=faces, nsfw=nsfw) as guard:
        enrol_photos(guard.registry, faces, "Eileen Collins", [photos["astronaut"]], roles=["target"])
        enrol_photos(guard.registry, faces, "Grace Hopper", [photos["hopper"]], roles=["source"])
        result = swap_run(guard, photos, output)
    assert sidecar_path(output).is_file()
    capsys.readouterr()
    assert main(["--home", str(home), "trace", str(output.parent), "--json"]) == 0
    [traced] = json.loads(capsys.readouterr().out)["results"]  # the sidecar is read with its image
    assert traced["verdict"] == "verified" and traced["matches"][0]["method"] == "c2pa"
    assert traced["matches"][0]["record_id"] == result.record_id


def test_recovery_after_a_kill_settles_the_sidecar_with_its_output(
    sidecar: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    """A kill after the append finishes both renames; a kill before it discards both staged files."""
    import hashlib
    import os

    from fusionguard.release import recover, staged_path

    output = released(tmp_path) / "out.png"
    kept = swap_run(sidecar, photos, output)
    data, manifest = output.read_bytes(), sidecar_path(output).read_bytes()
    output.unlink()
    sidecar_path(output).unlink()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)

    def entry(destination: Path, record_id: str) -> None:
        run_id = hashlib.sha256(destination.name.encode()).hexdigest()[:32]
        scratch = tmp_path / f"scratch-{destination.name}"
        scratch.mkdir()
        made = sidecar.journal.begin(
            run_id=run_id, record_id=record_id, destination=destination, scratch=scratch
        )
        made.path.write_text(
            made.to_json().decode().replace(f'"pid": {os.getpid()}', f'"pid": {int(dead.stdout)}')
        )
        staged = staged_path(destination, run_id)
        staged.write_bytes(data)
        staged.with_name(staged.name + ".c2pa").write_bytes(manifest)

    entry(output, kept.record_id)  # recorded, killed before the renames
    unrecorded = output.with_name("unrecorded.png")
    entry(unrecorded, "0" * 32)  # killed before the append
    report = recover(sidecar.journal, sidecar.log, actor="test")
    assert report.finished == [str(output)] and report.discarded == [str(unrecorded)]
    assert sorted(p.name for p in output.parent.iterdir()) == ["out.png", "out.png.c2pa"]
    claim = read_manifest(output.read_bytes(), sidecar=sidecar_path(output).read_bytes())
    assert claim is not None and claim.record_id == kept.record_id and claim.validation_state == "Valid"


def test_video_embeds_a_manifest_in_mp4_and_refuses_what_it_cannot(
    embed: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    from fusionguard.video.decode import decode_frames
    from fusionguard.video.marking import detect_clip
    from fusionguard.video.probe import probe_video
    from tests.video.clips import portrait_frames, write_clip

    clip = write_clip(tmp_path / "clean.mp4", portrait_frames(25))
    output = released(tmp_path) / "swapped.mp4"
    # The identity pipeline on Eileen Collins's own clip: the demo swap onto 25 small frames passed
    # the output-identity check only by chance (the watermark key moves its faces' embeddings).
    result = embed.run_video(
        sources=[photos["astronaut"]],
        target=clip,
        model=MODEL,
        frame_pipeline=lambda rgb, index, run: rgb,
        output_path=output,
    )
    data = output.read_bytes()
    record = embed.log.get(result.record_id).record
    assert record.output is not None and record.output.sha256 == sha256_hex(data)
    claim = read_manifest(data)
    assert claim is not None and claim.validation_state == "Valid"
    assert claim.record_id == result.record_id and claim.watermark_id == record.output.watermark_id
    assert "c2pa.hash.bmff.v3" in claim.assertions  # the hard binding of an MP4
    assert not [word for word in personal(embed) if word in json.dumps(claim.manifest)]
    frames = [f.rgb for f in decode_frames(probe_video(output, embed.policy.video), embed.policy.video)]
    found = detect_clip(embed.codec, frames)
    assert found is not None and found.payload == result.watermark_id
    # A container C2PA cannot carry here: refused before anything runs.
    refused_run(embed, photos, clip, output.with_name("out.mkv"), "needs an .mp4")
    assert sorted(p.name for p in output.parent.iterdir()) == ["swapped.mp4"]


def refused_run(guard: Guard, photos: dict[str, Path], clip: Path, output: Path, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        guard.run_video(
            sources=[photos["hopper"]],
            target=clip,
            model=MODEL,
            frame_pipeline=lambda rgb, index, run: rgb,
            output_path=output,
        )
    assert not output.exists()


def test_video_sidecars_are_refused_before_anything_runs(
    sidecar: Guard, photos: dict[str, Path], tmp_path: Path
) -> None:
    from tests.video.clips import portrait_frames, write_clip

    clip = write_clip(tmp_path / "clean.mp4", portrait_frames(5))
    output = released(tmp_path) / "out.mp4"
    refused_run(sidecar, photos, clip, output, "sidecar is not supported for videos")
    assert list(output.parent.iterdir()) == []
