"""The Guard: the one fixed, fail-closed sequence every guarded run goes through.

    load & validate inputs -> pre-checks (NSFW, consent, license, extra hooks)
    -> the wrapped pipeline, inside a private workspace -> post-checks (NSFW, output identity)
    -> watermark (verified by detection) + metadata-free encoding -> hashes + PDQ
    -> output staged beside its destination -> signed record appended -> output released (rename)
    -> workspace purged (always)

A blocked run appends a signed "blocked" record and raises :class:`PolicyViolation` with the reasons.
If the watermark, the signature or the database write fails, no output is released. Adapters
(:mod:`fusionguard.adapters`) only translate arguments into :meth:`Guard.run`; they never reorder it.

The order is that of decisions, not of CPU work: independent computations share the cores (inputs are
decoded and scanned side by side, NSFW runs beside face detection, and the watermark, encoding and PDQ
are computed beside the post-checks), but nothing is recorded or released before the step it depends
on has passed, and a blocked run's marked output is thrown away unseen.

    guard = Guard.from_policy("default")
    result = guard.run(sources=["alice.jpg"], target="scene.jpg", model=ModelInfo("demo-swap"),
                       pipeline=lambda run: my_swap(run.sources[0], run.target),
                       output_path="out.png")
    result.record_id, result.watermark_id
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from fusionguard.anonymise.bystanders import BystanderProtection, RunRegions
from fusionguard.anonymise.sealing import load_recovery_public
from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog, Receipt
from fusionguard.audit.record import AuditRecord, InputRef, ModelInfo, OutputRef, format_watermark_id
from fusionguard.checks.consent import ConsentCheck, ConsentFindings
from fusionguard.checks.license import LicenseCheck
from fusionguard.checks.nsfw import NsfwBackend
from fusionguard.config import Clock, Settings, utc_now
from fusionguard.errors import (
    AnonymisationFailed,
    BadInput,
    ConfigError,
    ConsentRequired,
    FusionGuardError,
    LicenseDenied,
    NsfwContent,
    PolicyViolation,
    Reason,
    WatermarkError,
)
from fusionguard.faces.base import FaceBackend
from fusionguard.fingerprint import pdq_hash
from fusionguard.media import ColorOrder, LoadedImage, encode_image, from_array, load_image, sha256_hex
from fusionguard.policy import Policy
from fusionguard.registry.identity_keys import IdentityKeyStore
from fusionguard.registry.registry import ConsentRegistry
from fusionguard.watermark import WatermarkCodec
from fusionguard.workspace import Workspace, WorkspaceManager

if TYPE_CHECKING:
    from fusionguard.stream import StreamSession
    from fusionguard.video.run import FilePipeline, FramePipeline, VideoResult

ImageInput = str | os.PathLike[str] | bytes | np.ndarray
ExtraCheck = Callable[["RunInputs"], None]
Observer = Callable[[AuditRecord], None]
WATERMARK_KEY_FILE = "watermark.key"


@dataclass(frozen=True)
class RunInputs:
    """What the wrapped pipeline receives: validated RGB arrays and its private workspace."""

    sources: tuple[np.ndarray, ...]
    target: np.ndarray | None
    workspace: Workspace
    source_files: tuple[Path, ...] = ()
    target_file: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GuardResult:
    record_id: str
    seq: int
    watermark_id: int
    output: np.ndarray
    output_path: Path | None
    output_sha256: str
    receipt: Receipt
    #: Seconds per step of the spine (``load``, ``pre_checks``, ``pipeline``, ``post_checks``,
    #: ``watermark``, ``fingerprint``, ``record``, ``release``) and ``total`` (the whole run, wall
    #: clock), for operators' dashboards and bench/. ``watermark`` and ``fingerprint`` run beside
    #: ``post_checks``, so the steps can add up to more than ``total``.
    timings: dict[str, float] = field(default_factory=dict)


class StepTimer:
    """Accumulates wall time per named step (steps may run on two threads at once)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - began
            with self._lock:
                self.seconds[step] = self.seconds.get(step, 0.0) + elapsed


@dataclass(frozen=True)
class _Marked:
    """The watermarked output, its metadata-free encoding and what the record says about it."""

    rgb: np.ndarray
    watermark_id: int
    encoded: bytes
    ref: OutputRef


class Hooks:
    """Declared extension points. The spine's order is not overridable; hooks add to it.

    ``extra_checks`` run with the pre-checks and raise :class:`PolicyViolation` to block;
    ``observers`` see every record after it is appended (allowed or blocked).
    """

    def __init__(self) -> None:
        self.extra_checks: list[tuple[str, ExtraCheck]] = []
        self.observers: list[tuple[str, Observer]] = []

    @staticmethod
    def _validate(kind: str, name: str, function: object) -> None:
        if not name or not isinstance(name, str):
            raise BadInput(f"{kind} hook needs a non-empty name")
        if not callable(function):
            raise BadInput(f"{kind} hook {name!r} is not callable (got {type(function).__name__})")

    def add_check(self, name: str, check: ExtraCheck) -> None:
        self._validate("check", name, check)
        self.extra_checks.append((name, check))

    def add_observer(self, name: str, observer: Observer) -> None:
        self._validate("observer", name, observer)
        self.observers.append((name, observer))


def load_watermark_key(keys_dir: Path) -> bytes:
    """The watermark secret: 32 random bytes beside the signing keys (0600), created on first use."""
    path = keys_dir / WATERMARK_KEY_FILE
    with contextlib.suppress(FileExistsError):
        keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    if path.stat().st_mode & 0o077:
        raise WatermarkError(f"watermark key {path} is readable by others; run 'chmod 600 {path}'")
    key = path.read_bytes()
    if len(key) != 32:
        raise WatermarkError(f"watermark key {path} is {len(key)} bytes, expected 32")
    return key


def new_watermark_id() -> int:
    """A random 64-bit ID, never near all-zeros or all-ones (at least 16 bits of each)."""
    while True:
        value = secrets.randbits(64)
        if 16 <= value.bit_count() <= 48:
            return value


class Guard:
    def __init__(
        self,
        *,
        policy: Policy,
        log: AuditLog,
        registry: ConsentRegistry,
        faces: FaceBackend,
        nsfw: NsfwBackend,
        codec: WatermarkCodec,
        workspaces: WorkspaceManager,
        clock: Clock = utc_now,
        actor: str | None = None,
        hooks: Hooks | None = None,
        recovery_public_key: bytes | None = None,
    ) -> None:
        self.policy = policy
        self.log = log
        self.registry = registry
        self.faces = faces
        self.nsfw = nsfw
        self.codec = codec
        self.workspaces = workspaces
        self.clock = clock
        self.actor = actor or f"{socket.gethostname()}:{os.getpid()}"
        self.hooks = hooks or Hooks()
        _refuse_unsupported(policy)
        # NSFW scoring and output marking run beside face detection (both release the GIL).
        self._background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fusionguard-bg")
        self.consent = ConsentCheck(faces, registry)
        self.license = LicenseCheck()
        # Bystanders (policy consent.unknown_target_faces: anonymise); refuses to start without the
        # admin's recovery public key, so no original face is ever kept unsealed.
        self.bystanders: BystanderProtection | None = None
        if policy.consent.unknown_target_faces == "anonymise":
            self.bystanders = BystanderProtection(
                faces=faces,
                registry=registry,
                engine=log.engine,
                recovery_public_key=recovery_public_key,
                method=policy.consent.anonymise_method,
                threshold=(
                    policy.consent.max_distance
                    if policy.consent.max_distance is not None
                    else faces.match_threshold
                ),
                margin=policy.consent.anonymise_margin,
            )
        workspaces.sweep()  # purge what a killed run left behind

    @classmethod
    def from_policy(
        cls,
        policy: str | os.PathLike[str] | Policy = "default",
        *,
        home: str | os.PathLike[str] | None = None,
        db_url: str | None = None,
        faces: FaceBackend | None = None,
        nsfw: NsfwBackend | None = None,
        clock: Clock = utc_now,
        actor: str | None = None,
    ) -> Guard:
        """A Guard over the home's keys and database (run ``fusionguard init`` first)."""
        if isinstance(policy, Policy):
            resolved = policy
        elif isinstance(policy, str) and not policy.endswith((".yaml", ".yml")) and os.sep not in policy:
            resolved = Policy.named(policy)
        else:
            resolved = Policy.load(Path(policy))
        settings = Settings.resolve(Path(home) if home is not None else None, db_url)
        ring = KeyRing.load(settings.keys_dir)
        log = AuditLog.open(settings.db_url, ring, clock=clock, witness_path=settings.witness_path)
        # -- witnessing (fusionguard.witness): a background client when <home>/witness-policy exists --
        from fusionguard.witness.config import start_witnessing

        start_witnessing(settings.home, log)
        if faces is None:
            from fusionguard.faces import DlibBackend

            # A Guard lives for many runs: the ResNet's helper processes (~1 s to start) pay for
            # themselves by embedding a run's faces in parallel and off this interpreter's GIL.
            faces = DlibBackend(embed_processes=2 if (os.cpu_count() or 1) >= 2 else 0)
        if nsfw is None:
            from fusionguard.checks.nsfw import OpenNsfwOnnx

            nsfw = OpenNsfwOnnx()
        return cls(
            policy=resolved,
            log=log,
            registry=ConsentRegistry(
                log.engine, keys=IdentityKeyStore(settings.identity_keys_dir), log=log, clock=clock
            ),
            faces=faces,
            nsfw=nsfw,
            codec=WatermarkCodec(load_watermark_key(settings.keys_dir)),
            workspaces=WorkspaceManager(settings.workspace_root),
            clock=clock,
            actor=actor,
            recovery_public_key=load_recovery_public(settings.keys_dir),
        )

    # -- the spine ------------------------------------------------------------------------------

    def run(
        self,
        *,
        sources: Sequence[ImageInput],
        target: ImageInput | None,
        model: ModelInfo,
        pipeline: Callable[[RunInputs], np.ndarray],
        output_path: str | os.PathLike[str] | None = None,
        color_order: ColorOrder = "RGB",
        extra: dict[str, Any] | None = None,
    ) -> GuardResult:
        """Run ``pipeline`` under the policy; return the released output or raise."""
        began = time.perf_counter()
        extra = dict(extra or {})
        timer = StepTimer()
        with timer("load"):
            # Decoding releases the GIL: the inputs are decoded side by side (errors in input order).
            labelled = [(item, f"source[{i}]") for i, item in enumerate(sources)]
            labelled += [(target, "target")] if target is not None else []
            loading = [
                self._background.submit(self._load, item, label, color_order) for item, label in labelled
            ]
            loaded = [future.result() for future in loading]
            loaded_sources = loaded[: len(sources)]
            loaded_target = loaded[len(sources)] if target is not None else None
            destination = Path(output_path) if output_path is not None else None
            if destination is not None:
                _check_destination(destination)

        refs = self._input_refs(loaded_sources, loaded_target, ConsentFindings())
        with timer("pre_checks"):
            findings = self._pre_checks(loaded_sources, loaded_target, model, refs, extra)
        refs = self._input_refs(loaded_sources, loaded_target, findings)
        regions = RunRegions()
        bystanders, target_faces = self.bystanders, findings.to_anonymise.get("target")
        if bystanders is not None and loaded_target is not None and target_faces:
            original = loaded_target.rgb
            with timer("anonymise"):
                anonymised = self._anonymise(
                    lambda: bystanders.target(original, target_faces, regions), model, refs, extra
                )
            loaded_target = replace(loaded_target, rgb=anonymised)

        with self.workspaces.run() as workspace:
            with timer("load"):
                inputs = self._stage_inputs(workspace, loaded_sources, loaded_target, extra)
            try:
                with timer("pipeline"):
                    produced = pipeline(inputs)
            except FusionGuardError:
                raise
            except Exception as error:
                # A crash is not a policy decision, but the run still leaves a signed record of it.
                self._record_block(
                    model,
                    refs,
                    [Reason("pipeline", "output", f"the wrapped pipeline failed: {error!r}")],
                    extra,
                )
                raise
            with timer("post_checks"):
                output = from_array(produced, color_order=color_order, source="pipeline output")
                if bystanders is not None:
                    allowed = (*findings.source_identities, *findings.identities.get("target", ()))
                    produced_rgb = output
                    output = self._anonymise(
                        lambda: bystanders.output(produced_rgb, allowed, regions, self.policy.consent),
                        model,
                        refs,
                        extra,
                    )
                # Marking (watermark, encoding, PDQ) is pure computation on the output: it starts beside
                # the post-checks to use the second core, and its result is used only if they pass.
                marking = self._background.submit(self._mark, output, timer)
                try:
                    self._post_checks(output, model, refs, findings, extra)
                except BaseException:
                    marking.cancel()
                    futures_wait([marking])  # nothing of a blocked run keeps computing after it
                    raise
            marked = marking.result()
            result = self._record_release(marked, model, refs, destination, workspace, extra, timer, regions)
        timer.seconds["total"] = time.perf_counter() - began
        return replace(result, timings=dict(timer.seconds))

    # -- video (fusionguard.video.run holds the logic) --------------------------------------------

    def run_video(
        self,
        *,
        sources: Sequence[ImageInput],
        target: str | os.PathLike[str],
        model: ModelInfo,
        output_path: str | os.PathLike[str],
        frame_pipeline: FramePipeline | None = None,
        file_pipeline: FilePipeline | None = None,
        extra: dict[str, Any] | None = None,
        color_order: ColorOrder = "RGB",
    ) -> VideoResult:
        """Run a video job under the policy: ``frame_pipeline(rgb, index, run) -> rgb`` per frame, or
        ``file_pipeline(run) -> path`` writing a clip inside ``run.workspace`` (``color_order="BGR"``:
        frames in and out are BGR). Returns the released clip or raises; see
        :mod:`fusionguard.video.run`."""
        from fusionguard.video.run import run_video

        return run_video(
            self,
            sources=sources,
            target=target,
            model=model,
            output_path=output_path,
            frame_pipeline=frame_pipeline,
            file_pipeline=file_pipeline,
            extra=extra,
            color_order=color_order,
        )

    # -- live streams (fusionguard.stream) -------------------------------------------------------

    def stream(
        self,
        *,
        sources: Sequence[ImageInput],
        model: ModelInfo,
        color_order: ColorOrder = "RGB",
        extra: dict[str, Any] | None = None,
    ) -> StreamSession:
        """A guarded live stream: sources checked now, faces/NSFW in the background, every frame marked.

        Raises the violation (after recording it) when a source fails its checks. See
        :mod:`fusionguard.stream` for what runs when, and what a frame with an unchecked face does.
        """
        from fusionguard.stream import StreamSession

        return StreamSession(self, sources=sources, model=model, color_order=color_order, extra=extra)

    def _load(self, item: ImageInput, label: str, color_order: str) -> LoadedImage:
        max_pixels = self.policy.media.max_pixels
        if isinstance(item, np.ndarray):
            rgb = from_array(item, color_order=color_order, max_pixels=max_pixels, source=label)  # type: ignore[arg-type]
            return LoadedImage(rgb=rgb, format="ARRAY", sha256=sha256_hex(rgb.tobytes()), source=label)
        if isinstance(item, str | os.PathLike | bytes):
            return load_image(item, max_pixels=max_pixels, source=label if isinstance(item, bytes) else None)
        raise BadInput(f"{label}: expected a path, bytes or an image array, got {type(item).__name__}")

    def _input_refs(
        self, sources: Sequence[LoadedImage], target: LoadedImage | None, findings: ConsentFindings
    ) -> tuple[tuple[InputRef, ...], tuple[InputRef, ...]]:
        src = tuple(
            InputRef(
                "source",
                i,
                image.sha256,
                findings.identities.get(f"source[{i}]", ()),
                findings.faces.get(f"source[{i}]", 0),
            )
            for i, image in enumerate(sources)
        )
        tgt = (
            (
                InputRef(
                    "target",
                    0,
                    target.sha256,
                    findings.identities.get("target", ()),
                    findings.faces.get("target", 0),
                ),
            )
            if target is not None
            else ()
        )
        return src, tgt

    def _pre_checks(
        self,
        sources: Sequence[LoadedImage],
        target: LoadedImage | None,
        model: ModelInfo,
        refs: tuple[tuple[InputRef, ...], tuple[InputRef, ...]],
        extra: dict[str, Any],
    ) -> ConsentFindings:
        reasons: list[Reason] = []
        try:
            self.license.check(model, self.policy)
        except LicenseDenied as denied:
            reasons += denied.reasons
        rules = self.policy.nsfw
        labelled = []
        if rules.enabled and rules.check_sources:
            labelled += [(f"source[{i}]", s.rgb) for i, s in enumerate(sources)]
        if rules.enabled and rules.check_targets and target is not None:
            labelled.append(("target", target.rgb))
        # The NSFW model (onnxruntime, which releases the GIL) runs beside face detection.
        nsfw = self._background.submit(self._nsfw_reasons, labelled, rules.threshold_inputs)
        findings = self.consent.check_inputs(
            [(f"source[{i}]", s.rgb) for i, s in enumerate(sources)],
            [("target", target.rgb)] if target is not None else [],
            self.policy.consent,
        )
        reasons += nsfw.result() + findings.reasons
        for name, check in self.hooks.extra_checks:
            try:
                check(RunInputs(tuple(s.rgb for s in sources), target.rgb if target else None, _NO_WORKSPACE))
            except PolicyViolation as violation:
                reasons += [Reason(f"hook:{name}", r.subject, r.detail, r.data) for r in violation.reasons]
        if reasons:
            refs = self._input_refs(sources, target, findings)
            self._block(model, refs, reasons, extra)
        return findings

    def _nsfw_reasons(self, labelled: Sequence[tuple[str, np.ndarray]], threshold: float) -> list[Reason]:
        if not labelled:
            return []
        scores = self.nsfw.scores([rgb for _, rgb in labelled])
        return [
            Reason(
                "nsfw",
                label,
                f"NSFW score {score:.3f} is above the policy threshold {threshold}",
                {"score": round(float(score), 4), "threshold": threshold, "model": self.nsfw.model_id},
            )
            for (label, _), score in zip(labelled, scores, strict=True)
            if score > threshold
        ]

    def _stage_inputs(
        self,
        workspace: Workspace,
        sources: Sequence[LoadedImage],
        target: LoadedImage | None,
        extra: dict[str, Any],
    ) -> RunInputs:
        """Write the *checked* pixels into the workspace, so path-based code reads what was checked."""
        source_files = []
        for i, image in enumerate(sources):
            path = workspace.file(f"source-{i}.png")
            path.write_bytes(encode_image(image.rgb, "png", png_level=0))
            source_files.append(path)
        target_file = None
        if target is not None:
            target_file = workspace.file("target.png")
            target_file.write_bytes(encode_image(target.rgb, "png", png_level=0))
        return RunInputs(
            sources=tuple(s.rgb for s in sources),
            target=target.rgb if target is not None else None,
            workspace=workspace,
            source_files=tuple(source_files),
            target_file=target_file,
            extra=extra,
        )

    def _post_checks(
        self,
        output: np.ndarray,
        model: ModelInfo,
        refs: tuple[tuple[InputRef, ...], tuple[InputRef, ...]],
        findings: ConsentFindings,
        extra: dict[str, Any],
    ) -> None:
        reasons: list[Reason] = []
        rules = self.policy.nsfw
        labelled = [("output", output)] if rules.enabled and rules.check_outputs else []
        nsfw = self._background.submit(self._nsfw_reasons, labelled, rules.threshold_outputs)
        if refs[0]:  # face swap: the output's face must be a source identity
            reasons += self.consent.check_output(output, findings.source_identities, self.policy.consent)
        else:  # generation: an enrolled person's likeness needs their consent
            reasons += self.consent.check_generated(output, self.policy.consent)
        reasons = nsfw.result() + reasons
        if reasons:
            self._block(model, refs, reasons, extra)

    def _mark(self, output: np.ndarray, timer: StepTimer) -> _Marked:
        """Watermark the output (verified by detection), encode it without metadata, hash it."""
        if min(output.shape[:2]) < self.policy.watermark.min_size:
            raise WatermarkError(
                f"output is {output.shape[1]}x{output.shape[0]}, smaller than the watermark's minimum "
                f"{self.policy.watermark.min_size} px; nothing released"
            )
        watermark_id = new_watermark_id()
        with timer("watermark"):
            try:
                marked = self.codec.embed(output, watermark_id)
                detection = self.codec.detect(marked)
            except FusionGuardError:
                raise
            except Exception as error:
                raise WatermarkError(f"watermark embedding failed: {error!r}; nothing released") from error
            if detection is None or detection.payload != watermark_id:
                raise WatermarkError("watermark did not verify on the output; nothing released")
        with timer("fingerprint"):
            encoded = encode_image(marked, self.policy.media.output_format)
            fingerprint = pdq_hash(marked)
        output_ref = OutputRef(
            sha256=sha256_hex(encoded),
            watermark_id=format_watermark_id(watermark_id),
            pdq=fingerprint.hex(),
            pdq_quality=int(fingerprint.quality),
        )
        return _Marked(marked, watermark_id, encoded, output_ref)

    def _record_release(
        self,
        marked: _Marked,
        model: ModelInfo,
        refs: tuple[tuple[InputRef, ...], tuple[InputRef, ...]],
        destination: Path | None,
        workspace: Workspace,
        extra: dict[str, Any],
        timer: StepTimer,
        regions: RunRegions | None = None,
    ) -> GuardResult:
        output_ref, encoded = marked.ref, marked.encoded
        anonymised = None
        if self.bystanders is not None and regions is not None:
            with timer("anonymise"):
                anonymised = self.bystanders.seal(regions)
        staged = None
        if destination is not None:
            # Stage beside the destination first (same file system, fsynced), so that after the record
            # is appended the release is a rename — the step least likely to fail.
            staged = destination.with_name(f".{destination.name}.{workspace.run_id}.partial")
            with timer("release"):
                _write_fsynced(staged, encoded)
        appended = False
        try:
            record = self._run_record("allowed", model, refs, extra, output=output_ref)
            if anonymised is not None and regions is not None:
                record = replace(
                    record, record_id=regions.record_id, extra={**record.extra, "anonymised": anonymised}
                )
            with timer("record"):
                receipt = self.log.append(record)
                appended = True
            if destination is not None and staged is not None:
                with timer("release"):
                    os.replace(staged, destination)
        finally:
            if staged is not None:
                with contextlib.suppress(FileNotFoundError):
                    staged.unlink()
            if anonymised is not None and regions is not None and not appended:
                # Best effort: the append failed (that error is what the caller sees), and the
                # ciphertexts of a run that never happened should not outlive it. They are sealed,
                # so one that survives a dead database reveals nothing.
                with contextlib.suppress(Exception):
                    self.bystanders.unseal_failed_run(regions)  # type: ignore[union-attr]
        self._notify(record)
        return GuardResult(
            record_id=record.record_id,
            seq=receipt.seq,
            watermark_id=marked.watermark_id,
            output=marked.rgb,
            output_path=destination,
            output_sha256=output_ref.sha256,
            receipt=receipt,
        )

    def _run_record(
        self,
        decision: Literal["allowed", "blocked"],
        model: ModelInfo,
        refs: tuple[tuple[InputRef, ...], tuple[InputRef, ...]],
        extra: dict[str, Any],
        *,
        output: OutputRef | None = None,
        reasons: Sequence[Reason] = (),
    ) -> AuditRecord:
        return AuditRecord(
            kind="run",
            decision=decision,
            timestamp=self.clock(),
            actor=self.actor,
            model=model,
            policy=self.policy.ref(),
            sources=refs[0],
            targets=refs[1],
            output=output,
            reasons=tuple(r.to_dict() for r in reasons),
            # Only plain values: the record is canonical JSON, and callers' objects are not records.
            extra={k: v for k, v in extra.items() if isinstance(v, str | int | bool) or v is None},
        )

    def _block(
        self,
        model: ModelInfo,
        refs: tuple[tuple[InputRef, ...], tuple[InputRef, ...]],
        reasons: Sequence[Reason],
        extra: dict[str, Any],
    ) -> None:
        """Append the signed blocked record, then raise the most specific violation."""
        record = self._record_block(model, refs, reasons, extra)
        checks = {r.check for r in reasons}
        error_type: type[PolicyViolation] = PolicyViolation
        if checks == {"consent"}:
            error_type = ConsentRequired
        elif checks == {"nsfw"}:
            error_type = NsfwContent
        elif checks == {"license"}:
            error_type = LicenseDenied
        raise error_type(reasons, record_id=record.record_id)

    def _record_block(
        self,
        model: ModelInfo,
        refs: tuple[tuple[InputRef, ...], tuple[InputRef, ...]],
        reasons: Sequence[Reason],
        extra: dict[str, Any],
    ) -> AuditRecord:
        record = self._run_record("blocked", model, refs, extra, reasons=reasons)
        self.log.append(record)
        self._notify(record)
        return record

    def _anonymise(
        self,
        step: Callable[[], np.ndarray],
        model: ModelInfo,
        refs: tuple[tuple[InputRef, ...], tuple[InputRef, ...]],
        extra: dict[str, Any],
    ) -> np.ndarray:
        """Run one anonymisation stage; a face that stays recognisable blocks the run (recorded)."""
        try:
            return step()
        except AnonymisationFailed as failed:
            self._block(model, refs, [Reason("consent", "bystander", str(failed), {})], extra)
            raise  # _block raises; this line is never reached

    def _notify(self, record: AuditRecord) -> None:
        for _name, observer in self.hooks.observers:
            observer(record)


class _NoWorkspace:
    """Pre-check hooks run before any workspace exists; touching it is a bug in the hook."""

    path = Path("/nonexistent")
    run_id = "pre-check"

    def file(self, name: str) -> Path:
        raise BadInput("pre-check hooks have no workspace")


_NO_WORKSPACE: Any = _NoWorkspace()


def _refuse_unsupported(policy: Policy) -> None:
    """Options this version cannot honour raise now, rather than being skipped at run time."""
    if policy.metadata.signed_manifest:
        raise ConfigError(
            f"policy {policy.name!r} asks for a signed manifest, which this version cannot "
            "write yet; set metadata.signed_manifest: false"
        )
    if not policy.watermark.required:
        raise ConfigError(
            f"policy {policy.name!r} allows unwatermarked outputs, which this version never "
            "releases; set watermark.required: true"
        )
    if not policy.metadata.strip:
        raise ConfigError(
            f"policy {policy.name!r} keeps hidden metadata, which this version always "
            "strips; set metadata.strip: true"
        )


def _check_destination(path: Path) -> None:
    if path.is_dir():
        raise BadInput(f"output path {path} is a directory")
    if not path.parent.is_dir():
        raise BadInput(f"output directory {path.parent} does not exist")


def _write_fsynced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise
