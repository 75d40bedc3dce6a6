"""C2PA Content Credentials on released outputs (policy ``provenance.c2pa: off | embed | sidecar``).

The order is fixed: watermark, encode, then sign the manifest over the final bytes (its hard binding
covers the released pixels), then hash those bytes into the record and release. The record's sequence
number exists only after the append, while the record must hold the hash of the bytes including the
manifest; so the manifest names the log origin and the record ID (pre-assigned before the run) and no
sequence number. A reader finds the sequence number by looking the record ID up in the log.

Nothing personal is written: no identity IDs, names or prompts; only the action, fusionguard's
version, the model's name, version and license, the watermark ID (soft binding) and the record ID.

The signing chain and key are the operator's: ``<home>/c2pa/chain.pem`` (leaf first, then
intermediates) and ``<home>/c2pa/key.pem`` (PKCS#8 EC P-256, ES256). ``fusionguard keys
c2pa-dev-cert`` writes a NOT TRUSTED test CA + leaf there for trying it out.

Videos: ``embed`` only, in MP4/M4V/MOV (:meth:`C2paSigner.sign_video`); others are refused up front.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from fusionguard.errors import BadInput, ConfigError, ProvenanceError

#: What to install when the policy asks for C2PA and c2pa-python is missing.
INSTALL_HINT: Final = "pip install 'fusionguard[c2pa]' (c2pa-python==0.38.1)"
SOFT_BINDING_ALG: Final = "fusionguard.watermark.v1"
RUN_ASSERTION: Final = "org.fusionguard.run"
IPTC: Final = "http://cv.iptc.org/newscodes/digitalsourcetype/"
COMPOSITE: Final = IPTC + "compositeWithTrainedAlgorithmicMedia"
GENERATED: Final = IPTC + "trainedAlgorithmicMedia"
MIME: Final[dict[str, str]] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
#: Video containers a manifest is embedded in (ISO BMFF); others are refused before a video run.
VIDEO_MIME: Final[dict[str, str]] = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime"}
CHAIN_FILE: Final = "chain.pem"
KEY_FILE: Final = "key.pem"
DEV_LABEL: Final = "fusionguard DEV TEST - NOT TRUSTED"


def require_c2pa() -> Any:
    """The c2pa module, or a one-line :class:`ConfigError` saying what to install."""
    try:
        import c2pa
    except ImportError:
        raise ConfigError(f"the policy asks for C2PA Content Credentials: {INSTALL_HINT}") from None
    return c2pa


@dataclass(frozen=True)
class RunFacts:
    """What a manifest says about a run (nothing personal)."""

    record_id: str
    log_origin: str
    watermark_id: str
    model_name: str
    model_version: str
    model_license: str
    with_target: bool
    software_version: str


def sidecar_path(output: Path) -> Path:
    """Where ``sidecar`` mode puts an output's manifest: ``<output>.c2pa``."""
    return output.with_name(output.name + ".c2pa")


def manifest_definition(facts: RunFacts, mime: str) -> dict[str, Any]:
    """The manifest JSON for ``c2pa.Builder``."""
    agent = {"name": "fusionguard", "version": facts.software_version}
    source = COMPOSITE if facts.with_target else GENERATED
    actions: list[dict[str, Any]] = [
        {"action": "c2pa.created", "digitalSourceType": source, "softwareAgent": agent}
    ]
    if facts.with_target:
        # c2pa-rs requires the first action to be created or opened; opened would need the target
        # photo as a parent ingredient, which is personal, so a swap is created, then edited.
        actions.append({"action": "c2pa.edited", "digitalSourceType": source, "softwareAgent": agent})
    watermark = base64.b64encode(facts.watermark_id.encode()).decode()
    return {
        "claim_generator_info": [agent],
        "format": mime,
        "title": f"fusionguard output {facts.record_id}",
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": actions}},
            {
                "label": "c2pa.soft-binding",
                "data": {"alg": SOFT_BINDING_ALG, "blocks": [{"scope": {}, "value": watermark}]},
            },
            {
                "label": RUN_ASSERTION,
                "data": {
                    "log_origin": facts.log_origin,
                    "record_id": facts.record_id,
                    "watermark_id": facts.watermark_id,
                    "model": {
                        "name": facts.model_name,
                        "version": facts.model_version,
                        "license": facts.model_license,
                    },
                },
            },
        ],
    }


class C2paSigner:
    """Signs released outputs with the operator's chain and key (ES256)."""

    def __init__(self, chain_pem: bytes, key_pem: bytes, *, mode: str = "embed") -> None:
        self._c2pa = require_c2pa()
        if mode not in ("embed", "sidecar"):
            raise ConfigError(f"provenance.c2pa: unknown mode {mode!r} (expected embed or sidecar)")
        self.mode = mode
        self._chain, self._key = chain_pem, key_pem
        self._signer()  # a bad chain or key is refused now, not at the first release

    @classmethod
    def from_dir(cls, directory: Path, *, mode: str = "embed") -> C2paSigner:
        require_c2pa()  # the missing package is said first
        chain, key = directory / CHAIN_FILE, directory / KEY_FILE
        for path in (chain, key):
            if not path.is_file():
                raise ConfigError(
                    f"C2PA signing needs {path} (run 'fusionguard keys c2pa-dev-cert' for a test one, "
                    "or install your certificate chain and key there)"
                )
        return cls(chain.read_bytes(), key.read_bytes(), mode=mode)

    def _signer(self) -> Any:
        c2pa = self._c2pa
        try:
            info = c2pa.C2paSignerInfo(b"es256", self._chain, self._key, None)
            return c2pa.Signer.from_info(info)
        except Exception as error:
            raise ConfigError(f"C2PA signing certificate or key refused: {error}") from None

    def sign_video(self, path: Path, facts: RunFacts) -> None:
        """Embed a manifest in an MP4/MOV file in place (see :func:`video_refusal`)."""
        c2pa, mime = self._c2pa, VIDEO_MIME[path.suffix.lower()]
        signed = path.with_name(path.name + ".c2pa-signing")
        try:
            settings = c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}})
            definition = json.dumps(manifest_definition(facts, mime))
            with (
                c2pa.Builder(definition, c2pa.Context(settings)) as builder,
                self._signer() as signer,
                open(path, "rb") as source,
                open(signed, "w+b") as dest,
            ):
                builder.sign(signer, mime, source, dest)
            signed.replace(path)
        except Exception as error:
            signed.unlink(missing_ok=True)
            raise ProvenanceError(f"C2PA signing of the video failed: {error}; nothing released") from error

    def sign(self, encoded: bytes, fmt: str | None, facts: RunFacts) -> tuple[bytes, bytes | None]:
        """(released bytes, sidecar manifest or None); embed: the manifest is inside the bytes."""
        c2pa = self._c2pa
        mime = MIME[fmt] if fmt else _sniff(encoded)
        try:
            # No claim thumbnail: the manifest carries no second copy of the picture.
            settings = c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}})
            context = c2pa.Context(settings)
            with c2pa.Builder(json.dumps(manifest_definition(facts, mime)), context) as builder:
                if self.mode == "sidecar":
                    builder.set_no_embed()
                dest = io.BytesIO()
                with self._signer() as signer:
                    manifest = builder.sign(signer, mime, io.BytesIO(encoded), dest)
        except Exception as error:
            raise ProvenanceError(f"C2PA signing failed: {error}; nothing released") from error
        if self.mode == "sidecar":
            return encoded, bytes(manifest)
        return dest.getvalue(), None


def video_refusal(mode: str, destination: Path) -> str | None:
    """Why a video run under ``provenance.c2pa: mode`` cannot carry credentials, or None."""
    if mode == "off":
        return None
    if mode == "sidecar":
        return "provenance.c2pa: sidecar is not supported for videos yet (use embed with .mp4/.m4v/.mov)"
    if destination.suffix.lower() not in VIDEO_MIME:
        found = destination.suffix or "no extension"
        return f"provenance.c2pa: embed needs an .mp4, .m4v or .mov video output, not {found}"
    return None


@dataclass(frozen=True)
class ManifestClaim:
    """What a C2PA manifest on an image claims (to be checked against the log, never trusted)."""

    record_id: str
    log_origin: str
    watermark_id: str
    validation_state: str
    assertions: tuple[str, ...]
    manifest: dict[str, Any]


def read_manifest(data: bytes, fmt: str | None = None, sidecar: bytes | None = None) -> ManifestClaim | None:
    """The fusionguard claim in ``data``'s active C2PA manifest; None when there is none."""
    c2pa = require_c2pa()
    mime = MIME.get(fmt or "", "") or _sniff(data)
    try:
        with c2pa.Reader(mime, io.BytesIO(data), sidecar) as reader:
            store = json.loads(reader.json())
    except Exception:  # no manifest, or one too broken to read: the watermark path decides
        return None
    active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    labels = tuple(str(a.get("label", "")) for a in active.get("assertions", []))
    run = next(
        (a.get("data", {}) for a in active.get("assertions", []) if a.get("label") == RUN_ASSERTION), None
    )
    if not isinstance(run, dict):
        return None
    return ManifestClaim(
        record_id=str(run.get("record_id", "")),
        log_origin=str(run.get("log_origin", "")),
        watermark_id=str(run.get("watermark_id", "")),
        validation_state=str(store.get("validation_state", "")),
        assertions=labels,
        manifest=active,
    )


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- a local, NOT TRUSTED test CA + leaf ---------------------------------------------------------


def make_dev_cert(out: Path) -> tuple[Path, Path]:
    """Write a NOT TRUSTED test CA + ES256 leaf to ``out`` (chain.pem, key.pem, ca.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    for existing in (out / CHAIN_FILE, out / KEY_FILE):
        if existing.exists():
            raise BadInput(f"{existing} already exists; not overwriting a signing certificate or key")
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def name(common: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_LABEL),
            ]
        )

    ca_name = name("fusionguard dev CA (NOT TRUSTED)")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("fusionguard dev signer (NOT TRUSTED)"))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    chain_path, key_path = out / CHAIN_FILE, out / KEY_FILE
    chain_path.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    (out / "ca.pem").write_bytes(ca.public_bytes(pem))
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return chain_path, key_path


def _usage(*, cert_sign: bool) -> Any:
    from cryptography import x509

    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
