"""A guarded run whose target is a video: :meth:`Guard.run_video <fusionguard.guard.Guard.run_video>`.

The spine is the image spine's, clip-shaped:

    load & validate (sources as images; the target probed: container, codec, limits)
    -> pre-checks: license, sources (NSFW, consent) as for images; the target's sampled frames
       (NSFW; faces grouped into tracks, every track needs target consent)
    -> the wrapped pipeline in a private workspace, with TMPDIR and tempfile.tempdir pointed into it:
         frame-wise  ``frame_pipeline(rgb, index, run) -> rgb``: the Guard decodes the target, calls
                     it per frame, marks and encodes each result (one decode, one encode);
         file-wise   ``file_pipeline(run) -> path``: the tool reads ``run.target_file`` (a workspace
                     copy of the validated clip) and writes its own clip inside the workspace; the
                     Guard probes and decodes that file and marks and re-encodes every frame
    -> every output frame watermarked with the run's ID, encoded with the policy's codec, the audio
       copied unchanged, no metadata; the output's sampled frames checked (NSFW; every face track a
       source identity or a consenting person of the target); the mark read back from the file
    -> SHA-256 + per-sample PDQ (vPDQ style) -> one signed record -> atomic release -> purge.

Any failure releases nothing; a blocked run (or a pipeline that raised) leaves a signed blocked record.

    result = guard.run_video(sources=["alice.jpg"], target="scene.mp4", model=ModelInfo("swap"),
                             frame_pipeline=lambda rgb, i, run: swap(run.sources[0], rgb),
                             output_path="out.mp4")
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fusionguard.audit.log import Receipt
from fusionguard.audit.record import InputRef, ModelInfo, OutputRef, format_watermark_id
from fusionguard.checks.consent import ConsentFindings
from fusionguard.errors import BadInput, ConfigError, FusionGuardError, Reason, WatermarkError
from fusionguard.fingerprint import MIN_QUALITY, pdq_hash
from fusionguard.media import ColorOrder, LoadedImage
from fusionguard.policy import VideoPolicy
from fusionguard.provenance.c2pa import video_refusal
from fusionguard.video.checks import (
    ClipScan,
    ClipScanner,
    nsfw_reasons,
    output_identity_reasons,
    target_consent_reasons,
)
from fusionguard.video.decode import DecodedFrame, decode_frames
from fusionguard.video.encode import VideoEncoder, output_container
from fusionguard.video.marking import MIN_FRAME_SIZE, detect_clip, frame_marker
from fusionguard.video.probe import VideoInfo, probe_video
from fusionguard.video.sampling import FrameSampler, Sample
from fusionguard.workspace import Workspace, temp_files_in

if TYPE_CHECKING:
    from fusionguard.guard import Guard, ImageInput, RunInputs, StepTimer

__all__ = ["FilePipeline", "FramePipeline", "VideoResult", "run_video"]

FramePipeline = Callable[[np.ndarray, int, "RunInputs"], np.ndarray]
FilePipeline = Callable[["RunInputs"], "str | os.PathLike[str]"]
_BATCH = 8  # sampled frames checked together (NSFW batches, concurrent face detection)
_VERIFY_FRAMES = 8  # frames of the encoded file the watermark is read back from


@dataclass(frozen=True)
class VideoResult:
    """A released video: its record, watermark ID, file and hash, and what the record says of it."""

    record_id: str
    seq: int
    watermark_id: int
    output_path: Path
    output_sha256: str
    receipt: Receipt
    video: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


class _PipelineFailed(Exception):
    """The wrapped function raised (carried out of the frame loop to be recorded, then re-raised)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(repr(error))
        self.error = error


def run_video(
    guard: Guard,
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
    """Run one guarded video job (see the module docstring); return the released clip or raise.

    ``color_order="BGR"`` hands ``frame_pipeline`` BGR frames and reads BGR back (OpenCV-based tools).
    """
    from fusionguard.guard import StepTimer, _check_destination

    began = time.perf_counter()
    if (frame_pipeline is None) == (file_pipeline is None):
        raise BadInput("run_video needs exactly one of frame_pipeline= or file_pipeline=")
    if not sources:
        raise BadInput("run_video needs at least one source image (the consenting face)")
    extra = dict(extra or {})
    timer = StepTimer()
    rules = guard.policy.video
    with timer("load"):
        destination = Path(output_path)
        _check_destination(destination)
        output_container(destination, rules)
        # C2PA (policy provenance.c2pa): refused now, before anything runs, where it cannot be honoured.
        refusal = video_refusal(guard.policy.provenance.c2pa, destination)
        if refusal is not None:
            raise ConfigError(f"policy {guard.policy.name!r}: {refusal}")
        loaded = [guard._load(item, f"source[{i}]", "RGB") for i, item in enumerate(sources)]
        target_info = probe_video(target, rules, label="target")
        target_sha256 = _sha256_file(target_info.path)

    def refs(
        findings: ConsentFindings, scan: ClipScan | None
    ) -> tuple[tuple[InputRef, ...], tuple[InputRef, ...]]:
        source_refs, _ = guard._input_refs(loaded, None, findings)
        identities = tuple(dict.fromkeys(t.identity for t in scan.tracks if t.identity)) if scan else ()
        faces = len(scan.tracks) if scan else 0
        return source_refs, (InputRef("target", 0, target_sha256, identities, faces),)

    with timer("pre_checks"):
        findings = guard._pre_checks(loaded, None, model, refs(ConsentFindings(), None), extra)
        target_scan = _scan_clip(guard, decode_frames(target_info, rules), "target")
        reasons: list[Reason] = []
        if guard.policy.nsfw.enabled and guard.policy.nsfw.check_targets:
            reasons += nsfw_reasons(
                target_scan, guard.policy.nsfw.threshold_inputs, rules, guard.nsfw.model_id
            )
        reasons += target_consent_reasons(target_scan, guard.policy.consent, guard.registry)
        if reasons:
            guard._block(model, refs(findings, target_scan), reasons, extra)
    input_refs = refs(findings, target_scan)

    with guard.workspaces.run() as workspace:
        run = _stage(guard, workspace, loaded, target_info, extra)
        watermark_id = _new_id()
        output_file = workspace.file("output" + destination.suffix.lower())
        try:
            with temp_files_in(workspace.mkdtemp("tmp")):
                if frame_pipeline is not None:
                    produced = _encode_marked(
                        guard,
                        target_info,
                        _in_order(frame_pipeline, color_order),
                        run,
                        watermark_id,
                        output_file,
                        timer,
                    )
                else:
                    assert file_pipeline is not None
                    with timer("pipeline"):
                        try:
                            written = file_pipeline(run)
                        except FusionGuardError:
                            raise
                        except Exception as error:
                            raise _PipelineFailed(error) from error
                    try:
                        tool_output = _tool_output(written, workspace, rules)
                    except BadInput as refused:  # the tool's clip is unusable: a failed run, recorded
                        raise _PipelineFailed(refused) from refused
                    produced = _encode_marked(guard, tool_output, None, run, watermark_id, output_file, timer)
        except _PipelineFailed as failed:
            detail = (
                f"the wrapped pipeline's video was refused: {failed.error}"
                if isinstance(failed.error, BadInput)
                else f"the wrapped pipeline failed: {failed.error!r}"
            )
            guard._record_block(model, input_refs, [Reason("pipeline", "output", detail)], extra)
            raise failed.error from None
        output_scan, fingerprints = produced
        with timer("post_checks"):
            reasons = []
            if guard.policy.nsfw.enabled and guard.policy.nsfw.check_outputs:
                reasons += nsfw_reasons(
                    output_scan, guard.policy.nsfw.threshold_outputs, rules, guard.nsfw.model_id
                )
            reasons += output_identity_reasons(
                output_scan, findings.source_identities, target_scan, guard.policy.consent
            )
            if reasons:
                guard._block(model, input_refs, reasons, extra)
        with timer("watermark"):
            _verify_mark(guard, output_file, watermark_id)
        record_id = uuid.uuid4().hex  # named in the C2PA manifest, which is signed before the hash
        if guard.c2pa is not None:
            with timer("c2pa"):
                facts = guard._run_facts(record_id, format_watermark_id(watermark_id), model, input_refs)
                guard.c2pa.sign_video(output_file, facts)
        with timer("fingerprint"):
            output_info = probe_video(output_file, rules, label="output")
            sha256 = _sha256_file(output_file)
        best = max(fingerprints, key=lambda f: f["quality"])
        output_ref = OutputRef(
            sha256=sha256,
            watermark_id=format_watermark_id(watermark_id),
            pdq=best["pdq"] if best["quality"] >= MIN_QUALITY else None,
            pdq_quality=best["quality"] if best["quality"] >= MIN_QUALITY else None,
        )
        video = {
            "pipeline": "frames" if frame_pipeline is not None else "file",
            "target": target_info.to_json(),
            "output": output_info.to_json(),
            "samples": {"target": target_scan.to_json(), "output": output_scan.to_json()},
            "vpdq": fingerprints,
        }
        record = guard._run_record(
            "allowed", model, input_refs, extra, output=output_ref, record_id=record_id
        )
        record = replace(record, extra={**record.extra, "video": video})
        receipt = _release(guard, record, output_file, destination, workspace, timer)
    guard._notify(record)
    timer.seconds["total"] = time.perf_counter() - began
    return VideoResult(
        record_id=record.record_id,
        seq=receipt.seq,
        watermark_id=watermark_id,
        output_path=destination,
        output_sha256=sha256,
        receipt=receipt,
        video=video,
        timings=dict(timer.seconds),
    )


def _in_order(pipeline: FramePipeline, color_order: ColorOrder) -> FramePipeline:
    if color_order == "RGB":
        return pipeline
    if color_order != "BGR":
        raise BadInput(f"color_order must be 'RGB' or 'BGR', got {color_order!r}")

    def bgr(rgb: np.ndarray, index: int, run: RunInputs) -> np.ndarray:
        produced = pipeline(np.ascontiguousarray(rgb[:, :, ::-1]), index, run)
        if isinstance(produced, np.ndarray) and produced.ndim == 3 and produced.shape[2] == 3:
            return np.ascontiguousarray(produced[:, :, ::-1])
        return produced  # refused with a clear message by the frame check

    return bgr


def _new_id() -> int:
    from fusionguard.guard import new_watermark_id

    return new_watermark_id()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stage(
    guard: Guard, workspace: Workspace, loaded: Sequence[LoadedImage], info: VideoInfo, extra: dict[str, Any]
) -> RunInputs:
    """Sources as PNG files, the target as a copy of the validated clip (keeping its extension)."""
    from fusionguard.guard import RunInputs

    suffix = info.path.suffix.lower() or f".{info.container}"
    target_file = workspace.file(f"target{suffix}")
    try:
        staged = guard._stage_inputs(workspace, loaded, None, extra)
        shutil.copyfile(info.path, target_file)
    except OSError as error:
        raise FusionGuardError(
            f"cannot stage the inputs in the workspace ({error.strerror or error})"
        ) from error
    return RunInputs(
        sources=staged.sources,
        target=None,
        workspace=workspace,
        source_files=staged.source_files,
        target_file=target_file,
        extra={**extra, "target_video": info},
    )


def _tool_output(written: object, workspace: Workspace, rules: VideoPolicy) -> VideoInfo:
    if not isinstance(written, str | os.PathLike):
        raise BadInput(f"the file pipeline must return the path of its video, got {type(written).__name__}")
    path = Path(written).resolve()
    if not path.is_relative_to(workspace.path.resolve()):
        raise BadInput(
            f"the file pipeline wrote {path}, outside its workspace; write into run.workspace "
            "so that nothing unguarded is left behind"
        )
    if not path.is_file():
        raise BadInput(f"the file pipeline returned {path.name}, which does not exist")
    return probe_video(path, rules, label="pipeline output")


class _Scanner:
    """Checks sampled frames in batches on one background thread, in order (tracks need order),
    so that face detection and NSFW scoring overlap decoding and encoding. Keeps results, not frames.
    """

    def __init__(self, guard: Guard, subject: str, *, fingerprints: bool) -> None:
        self.guard, self.fingerprints = guard, fingerprints
        self.vpdq: list[dict[str, Any]] = []
        self._clip = ClipScanner(
            subject,
            faces=guard.faces,
            registry=guard.registry,
            match_threshold=guard.consent._threshold(guard.policy.consent),
            detect_all=guard.consent._detect_all,  # several frames at once, on the consent check's pool
        )
        self._pending: list[Sample] = []
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fusionguard-video-scan")
        self._futures: list[Future[None]] = []

    def add(self, picked: list[Sample]) -> None:
        self._pending += picked
        if len(self._pending) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            # Convert the pixels now, on this thread: the decoder's frame is not the scanner's to keep.
            frozen = [Sample(DecodedFrame(s.frame.index, s.frame.time, s.frame.rgb), s.why) for s in batch]
            self._futures.append(self._thread.submit(self._check, frozen))

    def _check(self, batch: list[Sample]) -> None:
        images = [s.frame.rgb for s in batch]
        # NSFW (onnxruntime) runs beside face detection; both release the GIL.
        nsfw = (
            self.guard._background.submit(self.guard.nsfw.scores, images)
            if self.guard.policy.nsfw.enabled
            else None
        )
        try:
            self._clip_faces(batch, nsfw)
        finally:
            if nsfw is not None:
                nsfw.cancel()
        if self.fingerprints:
            for sample in batch:
                digest = pdq_hash(sample.frame.rgb)
                self.vpdq.append(
                    {"t": round(sample.frame.time, 3), "pdq": digest.hex(), "quality": int(digest.quality)}
                )

    def _clip_faces(self, batch: list[Sample], nsfw: Future[list[float]] | None) -> None:
        detected = self._clip.detect_all([s.frame.rgb for s in batch])
        self._clip.add(batch, nsfw.result() if nsfw is not None else None, detected)

    def finish(self) -> ClipScan:
        self._flush()
        try:
            for future in self._futures:
                future.result()
        finally:
            self._thread.shutdown(wait=True, cancel_futures=True)
        return self._clip.finish()

    def abandon(self) -> None:
        self._thread.shutdown(wait=True, cancel_futures=True)


def _scan_clip(guard: Guard, frames: Any, subject: str) -> ClipScan:
    rules = guard.policy.video
    sampler = FrameSampler(rules.sample_fps, rules.scene_cut_threshold)
    scanner = _Scanner(guard, subject, fingerprints=False)
    try:
        for frame in frames:
            scanner.add(sampler.feed(frame))
        scanner.add(sampler.finish())
    except BaseException:
        scanner.abandon()
        raise
    return scanner.finish()


def _encode_marked(
    guard: Guard,
    source: VideoInfo,
    frame_pipeline: FramePipeline | None,
    run: RunInputs,
    watermark_id: int,
    output_file: Path,
    timer: StepTimer,
) -> tuple[ClipScan, list[dict[str, Any]]]:
    """Decode ``source``, apply the frame pipeline (if any), mark, sample and encode every frame."""
    rules = guard.policy.video
    mark = frame_marker(guard.codec, watermark_id)
    sampler = FrameSampler(rules.sample_fps, rules.scene_cut_threshold)
    scanner = _Scanner(guard, "output", fingerprints=True)
    encoder: VideoEncoder | None = None
    size: tuple[int, int] | None = None
    try:
        for frame in decode_frames(source, rules):
            rgb = frame.rgb
            if frame_pipeline is not None:
                with timer("pipeline"):
                    try:
                        produced = frame_pipeline(rgb.copy(), frame.index, run)
                    except FusionGuardError:
                        raise
                    except Exception as error:
                        raise _PipelineFailed(error) from error
                rgb = _check_frame(produced, frame.index, size)
            if size is None:
                size = (rgb.shape[0], rgb.shape[1])
                if min(size) < MIN_FRAME_SIZE:
                    raise WatermarkError(
                        f"output frames are {size[1]}x{size[0]}, smaller than the video watermark's "
                        f"minimum {MIN_FRAME_SIZE} px; nothing released"
                    )
                encoder = VideoEncoder(
                    output_file,
                    rules,
                    width=size[1],
                    height=size[0],
                    fps=source.fps,
                    audio_from=source.path if source.audio_codecs else None,
                )
            with timer("watermark"):
                marked = mark(rgb)
            scanner.add(sampler.feed(DecodedFrame(frame.index, frame.time, marked)))
            with timer("encode"):
                assert encoder is not None
                encoder.write(marked, frame.time)
        scanner.add(sampler.finish())
        if encoder is not None:
            with timer("encode"):
                encoder.close()
    except BaseException:
        scanner.abandon()
        if encoder is not None:
            encoder._close_quietly()
        raise
    with timer("post_checks"):
        scan = scanner.finish()
    return scan, scanner.vpdq


def _check_frame(produced: Any, index: int, size: tuple[int, int] | None) -> np.ndarray:
    if not isinstance(produced, np.ndarray) or produced.dtype != np.uint8 or produced.ndim != 3:
        raise BadInput(
            f"frame pipeline returned {type(produced).__name__} for frame {index}; expected an HxWx3 "
            "uint8 RGB array"
        )
    if produced.shape[2] != 3:
        raise BadInput(f"frame pipeline returned {produced.shape[2]} channels for frame {index}; expected 3")
    if size is not None and produced.shape[:2] != size:
        raise BadInput(
            f"frame pipeline returned a {produced.shape[1]}x{produced.shape[0]} frame {index} after "
            f"{size[1]}x{size[0]} ones; every frame of a clip must have one size"
        )
    if size is None and (produced.shape[0] % 2 or produced.shape[1] % 2):
        raise BadInput(
            f"frame pipeline returned {produced.shape[1]}x{produced.shape[0]} frames; video frames need "
            "an even width and height"
        )
    return np.ascontiguousarray(produced)


def _verify_mark(guard: Guard, output_file: Path, watermark_id: int) -> None:
    """Read the ID back from the first frames of the encoded file: what is released carries it."""
    rules = guard.policy.video
    info = probe_video(output_file, rules, label="output")
    frames = []
    for frame in decode_frames(info, rules):
        frames.append(frame.rgb)
        if len(frames) >= _VERIFY_FRAMES:
            break
    found = detect_clip(guard.codec, frames)
    if found is None or found.payload != watermark_id:
        raise WatermarkError("the watermark did not read back from the encoded video; nothing released")


def _release(
    guard: Guard, record: Any, output_file: Path, destination: Path, workspace: Workspace, timer: StepTimer
) -> Receipt:
    staged = destination.with_name(f".{destination.name}.{workspace.run_id}.partial")
    with timer("release"):
        _copy_fsynced(output_file, staged)
    try:
        with timer("record"):
            receipt = guard.log.append(record)
        with timer("release"):
            os.replace(staged, destination)
    finally:
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
    return receipt


def _copy_fsynced(source: Path, target: Path) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        if isinstance(error, OSError):
            raise FusionGuardError(f"staging the output {target.name} failed ({error.strerror})") from error
        raise
