"""The Guard: the one fixed, fail-closed sequence every guarded run goes through.

    load & validate inputs -> pre-checks (NSFW, consent, license, extra hooks)
    -> the wrapped pipeline, inside a private workspace -> post-checks (NSFW, output identity)
    -> watermark (verified by detection) + metadata-free encoding -> hashes + PDQ
    -> output staged beside its destination -> signed record appended -> output released (rename)
    -> workspace purged (always)

A blocked run appends a signed "blocked" record and raises :class:`PolicyViolation` with the reasons.
If the watermark, the signature or the database write fails, no output is released. Adapters
(:mod:`fusionguard.adapters`) only translate arguments into :meth:`Guard.run`; they never reorder it.

How every run ends (after its inputs loaded):

* allowed: a signed ``allowed`` record, the output at its destination, the result returned. What fails
  after that (an observer hook, purging a workspace a stray child still writes into) is logged, never
  raised: the caller's result must agree with the record.
* blocked, or failed at any step (a backend raising inside a check, a float or too-small output, a
  pipeline that wrote nothing): a signed ``blocked`` record whose reasons say where and why, then the
  error. A file that appeared at the destination during the run (code that writes there itself) is
  removed and the record says so.
* killed: the release journal (:mod:`fusionguard.release`) lets the next start finish or undo the
  release, so no file the Guard wrote outlives the lack of a record.

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
import logging
import os
import secrets
import socket
import threading
import time
import uuid
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
from fusionguard.audit.record import (
    MAX_ACTOR,
    AuditRecord,
    InputRef,
    ModelInfo,
    OutputRef,
    format_watermark_id,
    not_released_record,
)
from fusionguard.checks.consent import ConsentCheck, ConsentFindings
from fusionguard.checks.license import LicenseCheck
from fusionguard.checks.nsfw import NsfwBackend
from fusionguard.config import Clock, Settings, utc_now
from fusionguard.content_fingerprint import ContentFingerprint
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
from fusionguard.home import require_initialised
from fusionguard.media import ColorOrder, LoadedImage, encode_image, from_array, load_image, sha256_hex
from fusionguard.policy import NsfwPolicy, Policy
from fusionguard.provenance.c2pa import C2paSigner, RunFacts, require_c2pa, sidecar_path
from fusionguard.registry.identity_keys import IdentityKeyStore
from fusionguard.registry.registry import ConsentRegistry
from fusionguard.release import (
    JOURNAL_DIR,
    JournalEntry,
    RecoveryReport,
    ReleaseJournal,
    Snapshot,
    destination_changed,
    fsync_directory,
    recover,
    remove_file,
    snapshot,
)
from fusionguard.trace_index import save_fingerprint
from fusionguard.watermark import WatermarkCodec
from fusionguard.workspace import Workspace, WorkspaceManager

logger = logging.getLogger(__name__)

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
    fingerprint: bytes = b""  # the content fingerprint (trace_fingerprints row), see OutputRef.fingerprint


@dataclass
class _Attempt:
    """One run's bookkeeping for how it ends: the record it will append, where it is, what it left."""

    model: ModelInfo
    extra: dict[str, Any]
    destination: Path | None
    refs: tuple[tuple[InputRef, ...], tuple[InputRef, ...]]
    record_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    step: str = "pre_checks"
    before: Snapshot = None
    entry: JournalEntry | None = None
    recorded: AuditRecord | None = None
    released: bool = False
    #: C2PA sidecar (policy provenance.c2pa: sidecar): staged and final paths, cleaned like the output.
    sidecar: tuple[Path, Path] | None = None
    sidecar_moved: bool = False


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
        journal: ReleaseJournal | None = None,
        recovery_public_key: bytes | None = None,
        c2pa_signer: C2paSigner | None = None,
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
        if len(self.actor) > MAX_ACTOR:  # refused now, not at the first record
            raise BadInput(
                f"actor is {len(self.actor)} characters long, more than the audit log's limit of {MAX_ACTOR}"
            )
        #: Staged releases, in the home beside the workspaces (see :mod:`fusionguard.release`).
        self.journal = journal or ReleaseJournal(workspaces.root.parent / JOURNAL_DIR, clock=clock)
        self._owned: list[Callable[[], None]] = []  # closed by close(): what from_policy made
        _refuse_unsupported(policy)
        # -- C2PA Content Credentials (fusionguard.provenance.c2pa; policy provenance.c2pa) --
        self.c2pa: C2paSigner | None = None
        self._log_origin = ""
        if policy.provenance.c2pa != "off":
            require_c2pa()  # a one-line "install fusionguard[c2pa]"
            if c2pa_signer is None:
                raise ConfigError(
                    f"policy {policy.name!r} asks for C2PA ({policy.provenance.c2pa}) but no signer was "
                    "given (Guard.from_policy reads <home>/c2pa/chain.pem and key.pem)"
                )
            self.c2pa, self._log_origin = c2pa_signer, log.state()[0]
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
        #: What this start's recovery of killed runs' releases did (see :mod:`fusionguard.release`).
        self.recovered: RecoveryReport = self.recover()

    def recover(self) -> RecoveryReport:
        """Finish or undo the releases of killed runs (also run by ``fusionguard recover``)."""
        report = recover(self.journal, self.log, actor=self.actor, clock=self.clock)
        for line in report.lines():
            logger.warning("release recovery: %s", line)
        return report

    def close(self) -> None:
        """Stop the Guard's threads; close what :meth:`from_policy` made for it (the face backend's
        embedding helpers, the database engine). Backends and logs passed in are the caller's to close."""
        self._background.shutdown(wait=True, cancel_futures=True)
        self.consent.close()
        while self._owned:
            self._owned.pop()()

    def __enter__(self) -> Guard:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

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
        resolved = Policy.resolve(policy)
        settings = Settings.resolve(Path(home) if home is not None else None, db_url)
        require_initialised(settings)  # a one-line "run 'fusionguard init'", and nothing created
        ring = KeyRing.load(settings.keys_dir)
        log = AuditLog.open(settings.db_url, ring, clock=clock, witness_path=settings.witness_path)
        owned: list[Callable[[], None]] = [log.close]
        # -- witnessing (fusionguard.witness): a background client when <home>/witness-policy exists --
        from fusionguard.witness.config import start_witnessing

        witnessing = start_witnessing(settings.home, log)
        if witnessing is not None:
            owned.append(witnessing.stop)  # closed in reverse order: the client stops before the log
        if faces is None:
            from fusionguard.faces import DlibBackend

            # A Guard lives for many runs: the ResNet's helper processes (~1 s to start) pay for
            # themselves by embedding a run's faces in parallel and off this interpreter's GIL.
            faces = DlibBackend(embed_processes=2 if (os.cpu_count() or 1) >= 2 else 0)
            owned.append(faces.close)
        if nsfw is None:
            from fusionguard.checks.nsfw import OpenNsfwOnnx

            nsfw = OpenNsfwOnnx()
        c2pa_mode = resolved.provenance.c2pa
        guard = cls(
            c2pa_signer=(
                C2paSigner.from_dir(settings.home / "c2pa", mode=c2pa_mode) if c2pa_mode != "off" else None
            ),
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
        guard._owned += owned
        return guard

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
            output_format: str = self.policy.media.output_format
            if destination is not None:
                _check_destination(destination)
                output_format = self._output_format(destination)

        # From here on, every way the run ends leaves a signed record of it.
        attempt = _Attempt(
            model,
            extra,
            destination,
            self._input_refs(loaded_sources, loaded_target, ConsentFindings()),
            before=snapshot(destination) if destination is not None else None,
        )
        try:
            result = self._guarded(
                attempt, loaded_sources, loaded_target, pipeline, color_order, output_format, timer
            )
        except BaseException as error:
            self._end_unreleased(attempt, error)
            raise
        timer.seconds["total"] = time.perf_counter() - began
        return replace(result, timings=dict(timer.seconds))

    def _guarded(
        self,
        attempt: _Attempt,
        loaded_sources: Sequence[LoadedImage],
        loaded_target: LoadedImage | None,
        pipeline: Callable[[RunInputs], np.ndarray],
        color_order: ColorOrder,
        output_format: str,
        timer: StepTimer,
    ) -> GuardResult:
        """The spine after loading; :meth:`run` records how it ended if this raises."""
        model, extra = attempt.model, attempt.extra
        with timer("pre_checks"):
            findings = self._pre_checks(
                loaded_sources, loaded_target, model, attempt.refs, extra, attempt=attempt
            )
        attempt.refs = self._input_refs(loaded_sources, loaded_target, findings)
        refs = attempt.refs
        # The sealed regions of an anonymised run are keyed by the run's record ID.
        regions = RunRegions(record_id=attempt.record_id)
        bystanders, target_faces = self.bystanders, findings.to_anonymise.get("target")
        if bystanders is not None and loaded_target is not None and target_faces:
            original = loaded_target.rgb
            attempt.step = "anonymise"
            with timer("anonymise"):
                anonymised = self._anonymise(
                    lambda: bystanders.target(original, target_faces, regions), model, refs, extra, attempt
                )
            loaded_target = replace(loaded_target, rgb=anonymised)

        workspace = self.workspaces.create()
        try:
            if attempt.destination is not None:
                attempt.entry = self.journal.begin(
                    run_id=workspace.run_id,
                    record_id=attempt.record_id,
                    destination=attempt.destination,
                    scratch=workspace.path,
                )
                attempt.before = attempt.entry.before
            with timer("load"):
                inputs = self._stage_inputs(workspace, loaded_sources, loaded_target, extra)
            attempt.step = "pipeline"
            with timer("pipeline"):
                produced = pipeline(inputs)
            attempt.step = "output"
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
                        attempt,
                    )
                # Marking (watermark, encoding, PDQ) is pure computation on the output: it starts beside
                # the post-checks to use the second core, and its result is used only if they pass.
                marking = self._background.submit(
                    self._mark,
                    output,
                    timer,
                    output_format,
                    loaded_target.rgb if loaded_target is not None else None,
                )
                attempt.step = "post_checks"
                try:
                    self._post_checks(output, model, refs, findings, extra, attempt=attempt)
                except BaseException:
                    marking.cancel()
                    futures_wait([marking])  # nothing of a blocked run keeps computing after it
                    raise
            attempt.step = "watermark"
            marked = marking.result()
            return self._record_release(
                marked, model, refs, attempt.destination, workspace, extra, timer, regions, attempt=attempt
            )
        finally:
            try:
                self.workspaces.purge(workspace)
            except Exception as error:  # the run's outcome stands; a later sweep retries
                logger.warning("workspace %s not purged: %s", workspace.path, error)

    def _end_unreleased(self, attempt: _Attempt, error: BaseException) -> None:
        """Leave the run consistent with its record after ``error``: a failure record if it has none,
        a not-released record after an ``allowed`` one, and nothing of it at the destination."""
        if attempt.released:
            return
        settled = True
        if attempt.entry is not None:
            remove_file(attempt.entry.staged)
        if attempt.sidecar is not None:  # neither the staged nor a moved sidecar outlives the run
            remove_file(attempt.sidecar[1] if attempt.sidecar_moved else attempt.sidecar[0])
        if attempt.recorded is None and attempt.step == "record":
            # An append that failed ambiguously (connection lost after COMMIT) may have landed.
            with contextlib.suppress(Exception):
                attempt.recorded = self.log.get(attempt.record_id).record
        if attempt.recorded is None and isinstance(error, Exception | KeyboardInterrupt):
            if attempt.step == "pipeline":
                reason = Reason("pipeline", "output", f"the wrapped pipeline failed: {error!r}")
            else:
                detail = str(error) if isinstance(error, FusionGuardError) else repr(error)
                reason = Reason(
                    "error",
                    attempt.step,
                    f"the run failed at {attempt.step}: {detail}",
                    {"error": type(error).__name__},
                )
            try:
                self._record_block(attempt.model, attempt.refs, [reason], attempt.extra, attempt=attempt)
            except Exception as failure:  # the database may be what failed: keep the first error
                logger.warning("could not record the failed run %s: %s", attempt.record_id, failure)
                settled = False
        elif attempt.recorded is not None and attempt.recorded.decision == "allowed":
            try:
                self.log.append(
                    not_released_record(
                        attempt.recorded.record_id,
                        f"the output was not released: {error!r}",
                        actor=self.actor,
                        timestamp=self.clock(),
                    )
                )
            except Exception as failure:  # the journal entry stays: the next start settles it
                logger.warning("could not record that %s was not released: %s", attempt.record_id, failure)
                settled = False
        if attempt.recorded is None and not isinstance(error, Exception | KeyboardInterrupt):
            self._clear_destination(attempt)
        if attempt.entry is not None and settled:
            self.journal.end(attempt.entry)

    def _clear_destination(self, attempt: _Attempt) -> list[Reason]:
        """Remove a file that appeared at (or replaced what was at) the destination during the run."""
        destination = attempt.destination
        if destination is None or not destination_changed(destination, attempt.before):
            return []
        if not remove_file(destination):
            return []
        return [
            Reason(
                "release",
                "output",
                f"removed {destination}: a file appeared there during the run, written around the guard "
                "(it is not watermarked or recorded)",
                {"path": str(destination)},
            )
        ]

    def _output_format(self, destination: Path) -> str:
        """The format the destination's extension names (or the policy's), if the policy allows it."""
        named = _EXTENSIONS.get(destination.suffix.lower())
        chosen = named or self.policy.media.output_format
        if chosen not in self.policy.media.allowed_formats:
            raise BadInput(
                f"output path {destination} names a {chosen.upper()} file, but policy "
                f"{self.policy.name!r} allows only {', '.join(self.policy.media.allowed_formats)} "
                "(media.allowed_formats); give another extension"
            )
        return chosen

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
            image = load_image(item, max_pixels=max_pixels, source=label if isinstance(item, bytes) else None)
            allowed = self.policy.media.allowed_formats
            if image.format.lower() not in allowed:
                raise BadInput(
                    f"{image.source}: a {image.format} file, but policy {self.policy.name!r} accepts only "
                    f"{', '.join(allowed)} inputs (media.allowed_formats)"
                )
            return image
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
        *,
        attempt: _Attempt | None = None,
    ) -> ConsentFindings:
        reasons: list[Reason] = []
        try:
            self.license.check(model, self.policy)
        except LicenseDenied as denied:
            reasons += denied.reasons
        rules = self.policy.nsfw
        labelled = screened_inputs(
            rules,
            [(f"source[{i}]", s.rgb) for i, s in enumerate(sources)],
            [("target", target.rgb)] if target is not None else [],
        )
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
            self._block(model, refs, reasons, extra, attempt=attempt)
        return findings

    def _nsfw_reasons(self, labelled: Sequence[tuple[str, np.ndarray]], threshold: float) -> list[Reason]:
        return nsfw_screen(self.nsfw, labelled, threshold)[1]

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
        *,
        attempt: _Attempt | None = None,
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
            self._block(model, refs, reasons, extra, attempt=attempt)

    def _mark(
        self,
        output: np.ndarray,
        timer: StepTimer,
        output_format: str | None = None,
        target: np.ndarray | None = None,
    ) -> _Marked:
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
            chosen = output_format or self.policy.media.output_format
            encoded = encode_image(marked, chosen)  # type: ignore[arg-type]
            if chosen != "png":  # lossy: the mark must survive the encoding that is released
                decoded = load_image(encoded, source="encoded output").rgb
                found = self.codec.detect(decoded)
                if found is None or found.payload != watermark_id:
                    raise WatermarkError(
                        f"watermark did not survive {chosen.upper()} encoding; nothing released"
                    )
            fingerprint = pdq_hash(marked)
            # Crop-tolerant content fingerprint of the released output (and of the target it was made
            # from): what a trace checks an image against before it calls a watermark hit verified.
            content = ContentFingerprint.compute(marked, target).to_bytes()
        output_ref = OutputRef(
            sha256=sha256_hex(encoded),
            watermark_id=format_watermark_id(watermark_id),
            pdq=fingerprint.hex(),
            pdq_quality=int(fingerprint.quality),
            fingerprint=sha256_hex(content),
        )
        return _Marked(marked, watermark_id, encoded, output_ref, content)

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
        *,
        attempt: _Attempt | None = None,
    ) -> GuardResult:
        attempt = attempt or _Attempt(model, extra, destination, refs)
        output_ref, encoded = marked.ref, marked.encoded
        sidecar: bytes | None = None
        if self.c2pa is not None:  # signed over the final (watermarked, encoded) bytes; then hashed
            attempt.step = "c2pa"
            with timer("c2pa"):
                encoded, sidecar = self.c2pa.sign(
                    encoded, None, self._run_facts(attempt.record_id, marked.ref.watermark_id, model, refs)
                )
            output_ref = replace(output_ref, sha256=sha256_hex(encoded))
        anonymised = None
        if self.bystanders is not None and regions is not None:
            with timer("anonymise"):
                anonymised = self.bystanders.seal(regions)
        staged = None
        if destination is not None:
            # Stage beside the destination first (same file system, fsynced), so that after the record
            # is appended the release is a rename — the step least likely to fail. The journal entry
            # written before the pipeline ran lets the next start settle a kill at any point here.
            attempt.step = "release"
            staged = (
                attempt.entry.staged
                if attempt.entry is not None
                else destination.with_name(f".{destination.name}.{workspace.run_id}.partial")
            )
            with timer("release"):
                _write_fsynced(staged, encoded)
                if sidecar is not None:
                    attempt.sidecar = (staged.with_name(staged.name + ".c2pa"), sidecar_path(destination))
                    _write_fsynced(attempt.sidecar[0], sidecar)
        attempt.step = "record"
        record = self._run_record(
            "allowed", model, refs, extra, output=output_ref, record_id=attempt.record_id
        )
        if anonymised is not None and regions is not None:
            record = replace(
                record, record_id=regions.record_id, extra={**record.extra, "anonymised": anonymised}
            )
        try:
            with timer("record"):
                if marked.fingerprint:  # stored first: a record never exists without its fingerprint
                    save_fingerprint(self.log.engine, record.record_id, marked.fingerprint)
                receipt = self.log.append(record)
        except BaseException:
            if anonymised is not None and regions is not None:
                # Best effort: the append failed (that error is what the caller sees), and the
                # ciphertexts of a run that never happened should not outlive it. They are sealed,
                # so one that survives a dead database reveals nothing.
                with contextlib.suppress(Exception):
                    self.bystanders.unseal_failed_run(regions)  # type: ignore[union-attr]
            raise
        attempt.recorded = record
        if destination is not None and staged is not None:
            attempt.step = "release"
            with timer("release"):
                if attempt.sidecar is not None:  # the manifest first: an output never lacks it
                    os.replace(*attempt.sidecar)
                    attempt.sidecar_moved = True
                os.replace(staged, destination)
                fsync_directory(destination.parent)
        attempt.released = True
        # Released and recorded: from here on nothing may turn the result into an exception.
        if attempt.entry is not None:
            try:
                self.journal.end(attempt.entry)
            except OSError as error:
                logger.warning("release journal entry %s not removed: %s", attempt.entry.path, error)
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

    def _run_facts(
        self,
        record_id: str,
        watermark_id: str,
        model: ModelInfo,
        refs: tuple[tuple[InputRef, ...], tuple[InputRef, ...]],
    ) -> RunFacts:
        """What the C2PA manifest says about this run (nothing personal)."""
        return RunFacts(
            record_id=record_id,
            log_origin=self._log_origin,
            watermark_id=watermark_id,
            model_name=model.name,
            model_version=model.version,
            model_license=model.license,
            with_target=bool(refs[0] or refs[1]),
            software_version=_fusionguard_version(),
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
        record_id: str | None = None,
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
            record_id=record_id if record_id is not None else uuid.uuid4().hex,
        )

    def _block(
        self,
        model: ModelInfo,
        refs: tuple[tuple[InputRef, ...], tuple[InputRef, ...]],
        reasons: Sequence[Reason],
        extra: dict[str, Any],
        *,
        attempt: _Attempt | None = None,
    ) -> None:
        """Append the signed blocked record, then raise the most specific violation."""
        record = self._record_block(model, refs, reasons, extra, attempt=attempt)
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
        *,
        attempt: _Attempt | None = None,
    ) -> AuditRecord:
        record_id = None
        if attempt is not None:
            reasons = [*reasons, *self._clear_destination(attempt)]
            record_id = attempt.record_id
        record = self._run_record("blocked", model, refs, extra, reasons=reasons, record_id=record_id)
        self.log.append(record)
        if attempt is not None:
            attempt.recorded = record
        self._notify(record)
        return record

    def _anonymise(
        self,
        step: Callable[[], np.ndarray],
        model: ModelInfo,
        refs: tuple[tuple[InputRef, ...], tuple[InputRef, ...]],
        extra: dict[str, Any],
        attempt: _Attempt | None = None,
    ) -> np.ndarray:
        """Run one anonymisation stage; a face that stays recognisable blocks the run (recorded)."""
        try:
            return step()
        except AnonymisationFailed as failed:
            reasons = [Reason("consent", "bystander", str(failed), {})]
            self._block(model, refs, reasons, extra, attempt=attempt)
            raise  # _block raises; this line is never reached

    def _notify(self, record: AuditRecord) -> None:
        """Observers see every appended record; one that raises is logged, never raised: the record
        stands, and neither a released result nor a PolicyViolation may be replaced by its error."""
        for name, observer in self.hooks.observers:
            try:
                observer(record)
            except Exception:
                logger.exception("observer hook %r failed on record %s", name, record.record_id)


def screened_inputs(
    rules: NsfwPolicy,
    sources: Sequence[tuple[str, np.ndarray]],
    targets: Sequence[tuple[str, np.ndarray]],
) -> list[tuple[str, np.ndarray]]:
    """The labelled inputs the NSFW pre-check screens under ``rules`` (used by the Guard and ``check``)."""
    if not rules.enabled:
        return []
    return [*(sources if rules.check_sources else []), *(targets if rules.check_targets else [])]


def nsfw_screen(
    backend: NsfwBackend, labelled: Sequence[tuple[str, np.ndarray]], threshold: float
) -> tuple[dict[str, float], list[Reason]]:
    """Score ``labelled`` images; the scores by label, and a reason for each above ``threshold``."""
    if not labelled:
        return {}, []
    scores = backend.scores([rgb for _, rgb in labelled])
    by_label = {label: float(score) for (label, _), score in zip(labelled, scores, strict=True)}
    reasons = [
        Reason(
            "nsfw",
            label,
            f"NSFW score {score:.3f} is above the policy threshold {threshold}",
            {"score": round(score, 4), "threshold": threshold, "model": backend.model_id},
        )
        for label, score in by_label.items()
        if score > threshold
    ]
    return by_label, reasons


class _NoWorkspace:
    """Pre-check hooks run before any workspace exists; touching it is a bug in the hook."""

    path = Path("/nonexistent")
    run_id = "pre-check"

    def file(self, name: str) -> Path:
        raise BadInput("pre-check hooks have no workspace")


_NO_WORKSPACE: Any = _NoWorkspace()


def _fusionguard_version() -> str:
    from fusionguard import __version__

    return __version__


def _refuse_unsupported(policy: Policy) -> None:
    """Options this version cannot honour raise now, rather than being skipped at run time."""
    if policy.metadata.signed_manifest:
        raise ConfigError(
            f"policy {policy.name!r} sets metadata.signed_manifest, which is not how manifests are "
            "asked for: set it to false and use provenance.c2pa: embed or sidecar (C2PA Content Credentials)"
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


_EXTENSIONS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}


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
