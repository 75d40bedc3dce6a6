"""Live streams under the Guard: checks at start and in the background, a mark on every frame.

    with guard.stream(sources=["alice.jpg"], model=ModelInfo("inswapper", "128", "mit"),
                      color_order="BGR") as session:
        swap_face = session.wrap(swap_face, frame_arg="frame")   # the tool's own function, unchanged
        while running:
            shown = swap_face(source_face, target_face, camera.read())   # marked, or black if blocked

What runs when
    At start (:meth:`Guard.stream`): the sources are checked once like a still run's (license, NSFW,
    consent as *source*, the Guard's extra checks); a failure appends a signed blocked record and
    raises, and no session exists. Then per frame, on the caller's thread, only cheap work: the
    frame is marked with the session's 64-bit watermark ID (:class:`~fusionguard.watermark.FrameMarker`)
    and hashed into the session's running SHA-256. Two background threads sample frames: faces at
    ``stream.face_fps`` on the *input* frame (the camera picture, ``target=``), NSFW at
    ``stream.nsfw_fps`` on the frame released. Detected faces are grouped into tracks by position
    (box IoU); a face that starts a new track is identified and needs active *target* consent
    (an unknown face passes only with ``consent.unknown_target_faces: allow``). A track's identity
    is not re-checked on every detection; consent is read again for every track at each interim
    record, so a revocation stops the stream within ``interim_seconds``.

A frame with a face that was not yet checked (read this)
    Face detection is sampled, so a face that enters the picture is released, marked, in the frames
    shown before the next detection covers it: at most ``1 / face_fps`` plus one detection time
    (about 0.3 to 0.5 s at the default 4/s). That is the gap this design accepts for live latency;
    everything else fails closed. No frame is released before the first face check of the session
    has finished (the first call waits for it, up to ``max_check_age``); a frame is *withheld* --
    replaced by a black frame -- whenever the newest finished face check is older than
    ``stream.max_check_age`` (the checker fell behind, crashed or cannot keep up); once a check
    fails, every later frame is black (``on_block: black``) or raises the violation
    (``on_block: raise``), for the rest of the session, and a signed blocked record says why. A
    blocked session does not resume: start a new one.

Records
    A signed *start* record when the session opens (the sources' checks passed; it holds the
    watermark ID, so a frame leaked at any moment leads to it), a signed *interim* record every
    ``stream.interim_seconds`` while it runs (a crash loses at most that much accountability), a
    *blocked* record when a check fails, and one *close* record (start and end times, frames
    released / withheld / blocked, the watermark ID, the SHA-256 of the released frames' bytes in
    order -- black ones included --, the face tracks and their decisions, NSFW samples). All carry
    ``extra["stream"]`` with the ``session`` and ``phase``; each names the record before it
    (``previous``) and refers to the start record (``refers_to``).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import cv2
import numpy as np

from fusionguard.audit.record import AuditRecord, InputRef, ModelInfo, OutputRef, format_watermark_id
from fusionguard.errors import (
    AuditError,
    BadInput,
    ConsentRequired,
    FusionGuardError,
    NsfwContent,
    PolicyViolation,
    Reason,
)
from fusionguard.faces.base import Face
from fusionguard.media import ColorOrder
from fusionguard.watermark.frames import FrameMarker

if TYPE_CHECKING:
    from fusionguard.guard import Guard, ImageInput

__all__ = [
    "StreamSession",
    "StreamStats",
    "wrap_process_frame",
    "wrap_process_stream_frame",
    "wrap_swap_face",
]

TRACK_IOU = 0.3  # a detection continues a track when their boxes overlap at least this much
TRACK_TTL = 2.0  # seconds a track survives without being detected
FIRST_CHECK_GRACE = 10.0  # the first frame waits at most this long for the session's first face check
Frame = np.ndarray
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class _Track:
    number: int
    box: tuple[int, int, int, int]
    first_seen: float
    last_seen: float
    identity: str | None
    decision: Literal["allowed", "blocked"]
    frame_sha256: str

    def summary(self, started: float) -> dict[str, Any]:
        return {
            "track": self.number,
            "identity": self.identity,
            "decision": self.decision,
            "first_seen": round(self.first_seen - started, 3),
        }


@dataclass
class StreamStats:
    """Counters of a session (a snapshot; see :attr:`StreamSession.stats`)."""

    released: int = 0  # frames released with their content, marked
    withheld: int = 0  # black frames released while no recent face check covered the stream
    blocked: int = 0  # black frames (or raised calls) after a failed check
    face_checks: int = 0
    nsfw_checks: int = 0
    max_nsfw: float = 0.0
    tracks: list[dict[str, Any]] = field(default_factory=list)


class _Sampler:
    """A background thread that takes one frame at a time from the hot path, at most ``rate``/s.

    ``offer`` costs a clock read and, when a frame is due, one copy: the caller never waits for the
    check itself.
    """

    def __init__(
        self, name: str, rate: float, work: Callable[[Frame, float], None], fail: Callable[[str], None]
    ):
        self._interval = 1.0 / rate
        self._work = work
        self._fail = fail
        self._due = 0.0
        self._frame: Frame | None = None
        self._taken_at = 0.0
        self._ready = threading.Event()
        self._idle = True
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"fusionguard-stream-{name}", daemon=True)
        self._thread.start()

    def offer(self, frame: Frame, now: float) -> None:
        if self._idle and now >= self._due:
            self._idle = False
            self._frame = np.array(frame, copy=True)
            self._taken_at = now
            self._ready.set()

    def _run(self) -> None:
        while True:
            self._ready.wait()
            self._ready.clear()
            if self._stop:
                return
            frame, taken_at = self._frame, self._taken_at
            self._frame = None
            try:
                if frame is not None:
                    self._work(frame, taken_at)
            except Exception as error:  # a failing check must stop the stream, not vanish in a thread
                self._fail(f"{self._thread.name} failed: {error!r}")
                return
            self._due = taken_at + self._interval
            self._idle = True

    def stop(self) -> None:
        self._stop = True
        self._ready.set()
        self._thread.join(timeout=30)


class _FrameHasher:
    """SHA-256 over the released frames' bytes in release order, computed on its own thread."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Frame | None] = queue.Queue()
        self._hash = hashlib.sha256()
        self._count = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="fusionguard-stream-hash", daemon=True)
        self._thread.start()

    def put(self, frame: Frame) -> None:
        self._queue.put(frame)

    def _run(self) -> None:
        while True:
            frame = self._queue.get()
            try:
                if frame is None:
                    return
                with self._lock:
                    self._hash.update(frame.data)
                    self._count += 1
            finally:
                self._queue.task_done()

    def digest(self, *, wait: bool) -> tuple[int, str]:
        """(frames hashed, hex digest); with ``wait``, after every frame put so far."""
        if wait:
            self._queue.join()
        with self._lock:
            return self._count, self._hash.copy().hexdigest()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)


class StreamSession:
    """One guarded live stream; build it with :meth:`fusionguard.guard.Guard.stream`.

    Thread-safe: :meth:`release` may be called from several threads (FaceFusion's streamer uses a
    pool). Use it as a context manager, or call :meth:`close` -- the close record is the session's
    account.
    """

    def __init__(
        self,
        guard: Guard,
        *,
        sources: Sequence[ImageInput],
        model: ModelInfo,
        color_order: ColorOrder = "RGB",
        extra: dict[str, Any] | None = None,
    ) -> None:
        from fusionguard.guard import new_watermark_id

        if color_order not in ("RGB", "BGR"):
            raise BadInput(f"color_order: expected 'RGB' or 'BGR', got {color_order!r}")
        if not sources:
            raise BadInput("stream: at least one source image is required (the face swapped in)")
        self.guard = guard
        self.policy = guard.policy
        self.rules = guard.policy.stream
        self.model = model
        self.color_order = color_order
        self._extra = {k: v for k, v in (extra or {}).items() if isinstance(v, str | int | bool) or v is None}
        self.session_id = uuid.uuid4().hex
        self.watermark_id = new_watermark_id()
        self.records: list[str] = []  # IDs of the records this session appended, in order
        self._lock = threading.Lock()
        self._stats = StreamStats()
        self._tracks: list[_Track] = []
        self._all_tracks: list[_Track] = []
        self._checked_at: float | None = None  # capture time of the frame of the newest face check
        self._first_check = threading.Event()
        self._violation: PolicyViolation | None = None
        self._reasons: list[Reason] = []
        self._closed = False
        self._started_wall = guard.clock()
        self._started = time.monotonic()

        # Sources: checked once, as a still run's pre-checks (records a block and raises).
        loaded = [guard._load(item, f"source[{i}]", color_order) for i, item in enumerate(sources)]
        refs = guard._input_refs(loaded, None, _empty_findings())
        findings = guard._pre_checks(loaded, None, model, refs, dict(self._extra))
        self._source_refs = guard._input_refs(loaded, None, findings)[0]

        self.marker = FrameMarker(guard.codec, self.watermark_id)
        self._hasher = _FrameHasher()
        # The start record holds the watermark ID (one record per ID), so that a frame leaked even
        # before the first interim record leads to this session; the others refer to it.
        try:
            self._start_record = self._append("start", "allowed").record_id
        except BaseException:
            self._hasher.stop()
            raise
        self._faces = _Sampler("faces", self.rules.face_fps, self._check_faces, self._fail)
        nsfw_rules = self.policy.nsfw
        self._nsfw: _Sampler | None = None
        if nsfw_rules.enabled and nsfw_rules.check_outputs:
            self._nsfw = _Sampler("nsfw", self.rules.nsfw_fps, self._check_nsfw, self._fail)
        self._stop_interim = threading.Event()
        self._interim = threading.Thread(
            target=self._interim_loop, name="fusionguard-stream-records", daemon=True
        )
        self._interim.start()

    # -- the hot path ----------------------------------------------------------------------------

    def release(self, frame: Frame, *, target: Frame | None = None) -> Frame:
        """The frame to show: ``frame`` marked, or a marked black frame when withheld or blocked.

        ``frame`` is the output (HxWx3 uint8 in the session's colour order, at least 128x128);
        ``target`` the input it was made from (the camera frame), which the face checks look at
        (default: ``frame`` itself). Raises the violation instead of a black frame after a block
        when the policy says ``on_block: raise``, and :class:`BadInput` after :meth:`close`.
        """
        if self._closed:
            raise BadInput("stream session is closed; start a new one with guard.stream(...)")
        if not isinstance(frame, np.ndarray):
            raise BadInput(f"stream frame: expected a numpy uint8 array, got {type(frame).__name__}")
        now = time.monotonic()
        watched = frame if target is None else target
        if self._violation is None:
            self._faces.offer(watched, now)
            if self._checked_at is None:
                # The session's first frame: nothing leaves before a face check has looked at it.
                self._first_check.wait(FIRST_CHECK_GRACE)
        violation = self._violation
        if violation is not None:
            with self._lock:
                self._stats.blocked += 1
            if self.rules.on_block == "raise":
                raise violation
            return self._leave(np.zeros_like(frame))
        checked = self._checked_at
        if checked is None or now - checked > self.rules.max_check_age:
            with self._lock:
                self._stats.withheld += 1
            return self._leave(np.zeros_like(frame))
        if self._nsfw is not None:
            self._nsfw.offer(frame, now)
        with self._lock:
            self._stats.released += 1
        return self._leave(frame)

    def _leave(self, frame: Frame) -> Frame:
        """Mark a frame that leaves and queue it for the hash of everything that left."""
        marked = self.marker.mark(frame)
        # Hashed on a background thread (SHA-256 of a 640x480 frame is 2-5 ms), from a copy: the
        # caller may draw on the frame it gets back.
        self._hasher.put(marked.copy())
        return marked

    def wrap(self, fn: F, *, frame_arg: int | str) -> F:
        """``fn`` unchanged except that its returned frame goes through :meth:`release`.

        ``frame_arg`` names the parameter holding the input frame (the camera picture), by position
        or by name; it is handed to the face checks as ``target``. The tool's own signature and
        positional/keyword conventions are kept.
        """
        parameters = list(inspect.signature(fn).parameters)
        if isinstance(frame_arg, bool) or not isinstance(frame_arg, int | str):
            raise BadInput(f"frame_arg: expected a parameter position or name, got {frame_arg!r}")
        if isinstance(frame_arg, int):
            if not 0 <= frame_arg < len(parameters):
                raise BadInput(f"frame_arg: {fn.__name__} has no parameter number {frame_arg} ({parameters})")
            name, index = parameters[frame_arg], frame_arg
        else:
            if frame_arg not in parameters:
                raise BadInput(f"frame_arg: {fn.__name__} has no parameter {frame_arg!r} ({parameters})")
            name, index = frame_arg, parameters.index(frame_arg)

        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            target = args[index] if len(args) > index else kwargs.get(name)
            produced = fn(*args, **kwargs)
            if not isinstance(produced, np.ndarray):
                raise BadInput(
                    f"{fn.__name__} returned {type(produced).__name__}, expected the frame (a numpy array)"
                )
            return self.release(produced, target=target if isinstance(target, np.ndarray) else None)

        return guarded  # type: ignore[return-value]

    # -- state -----------------------------------------------------------------------------------

    @property
    def state(self) -> Literal["live", "blocked", "closed"]:
        if self._closed:
            return "closed"
        return "blocked" if self._violation is not None else "live"

    @property
    def violation(self) -> PolicyViolation | None:
        """The violation that blocked the session (None while it is live)."""
        return self._violation

    @property
    def stats(self) -> StreamStats:
        with self._lock:
            return StreamStats(
                released=self._stats.released,
                withheld=self._stats.withheld,
                blocked=self._stats.blocked,
                face_checks=self._stats.face_checks,
                nsfw_checks=self._stats.nsfw_checks,
                max_nsfw=self._stats.max_nsfw,
                tracks=[t.summary(self._started) for t in self._all_tracks],
            )

    # -- background checks -----------------------------------------------------------------------

    def _rgb(self, frame: Frame) -> Frame:
        if frame.ndim == 2:
            return np.asarray(cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB))
        return np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)) if self.color_order == "BGR" else frame

    def _check_faces(self, frame: Frame, taken_at: float) -> None:
        faces = self.guard.faces.detect(self._rgb(frame))
        reasons: list[Reason] = []
        digest: str | None = None
        with self._lock:
            live = [t for t in self._tracks if taken_at - t.last_seen <= TRACK_TTL]
        continuing: set[int] = set()
        for face in faces:
            best, overlap = None, TRACK_IOU
            for track in live:
                if track.number in continuing:
                    continue
                value = _iou(track.box, face.box)
                if value >= overlap:
                    best, overlap = track, value
            if best is not None:
                best.box, best.last_seen = face.box, taken_at
                continuing.add(best.number)
                continue
            digest = digest or hashlib.sha256(frame.tobytes()).hexdigest()
            track, reason = self._new_track(face, taken_at, digest, len(self._all_tracks) + 1)
            live.append(track)
            continuing.add(track.number)
            with self._lock:
                self._all_tracks.append(track)
            if reason is not None:
                reasons.append(reason)
        with self._lock:
            self._tracks = live
            self._stats.face_checks += 1
        if reasons:
            self._block(reasons)
        else:
            self._checked_at = max(self._checked_at or taken_at, taken_at)
        self._first_check.set()

    def _new_track(
        self, face: Face, taken_at: float, digest: str, number: int
    ) -> tuple[_Track, Reason | None]:
        rules = self.policy.consent
        identity, data = self.guard.consent._identify(face, rules)
        when = round(taken_at - self._started, 3)
        reason = None
        if identity is None:
            # Only an explicit "allow" lets an unknown face through: a live frame cannot be
            # anonymised here, so any other setting blocks (fail closed).
            if rules.required and rules.unknown_target_faces != "allow":
                nearest = (
                    f"nearest {data['nearest']} at distance {data['distance']}"
                    if data["nearest"]
                    else "no enrolled reference for this face model"
                )
                reason = Reason(
                    "consent",
                    f"stream track {number}",
                    f"a face that appeared at {when} s matches no enrolled identity ({nearest}; "
                    f"threshold {data['threshold']})",
                    {**data, "track": number, "at": when},
                )
        else:
            roles = self.guard.registry.active_roles(identity)
            if rules.required and "target" not in roles:
                reason = Reason(
                    "consent",
                    f"stream track {number}",
                    f"a face that appeared at {when} s is {identity} (distance {data['distance']}), who "
                    "has no active target consent",
                    {
                        **data,
                        "identity": identity,
                        "active_roles": sorted(roles),
                        "track": number,
                        "at": when,
                    },
                )
        decision: Literal["allowed", "blocked"] = "blocked" if reason else "allowed"
        return _Track(number, face.box, taken_at, taken_at, identity, decision, digest), reason

    def _check_nsfw(self, frame: Frame, taken_at: float) -> None:
        score = float(self.guard.nsfw.scores([self._rgb(frame)])[0])
        threshold = self.policy.nsfw.threshold_outputs
        with self._lock:
            self._stats.nsfw_checks += 1
            self._stats.max_nsfw = max(self._stats.max_nsfw, round(score, 4))
        if score > threshold:
            when = round(taken_at - self._started, 3)
            self._block(
                [
                    Reason(
                        "nsfw",
                        "stream",
                        f"the frame released at {when} s has NSFW score {score:.3f}, above the policy "
                        f"threshold {threshold}",
                        {
                            "score": round(score, 4),
                            "threshold": threshold,
                            "at": when,
                            "model": self.guard.nsfw.model_id,
                        },
                    )
                ]
            )

    def _fail(self, message: str) -> None:
        self._block([Reason("stream", "checks", f"{message}; the stream is stopped (fail closed)")])
        self._first_check.set()

    def _recheck_consent(self) -> None:
        """Consent is read again for every identity on screen: a revocation stops the stream."""
        if not self.policy.consent.required:
            return
        with self._lock:
            tracks = [t for t in self._tracks if t.identity is not None and t.decision == "allowed"]
        for track in tracks:
            assert track.identity is not None
            roles = self.guard.registry.active_roles(track.identity)
            if "target" not in roles:
                track.decision = "blocked"
                self._block(
                    [
                        Reason(
                            "consent",
                            f"stream track {track.number}",
                            f"{track.identity} no longer has active target consent "
                            "(revoked during the stream)",
                            {
                                "identity": track.identity,
                                "active_roles": sorted(roles),
                                "track": track.number,
                            },
                        )
                    ]
                )
                return

    # -- records ---------------------------------------------------------------------------------

    def _block(self, reasons: list[Reason]) -> None:
        with self._lock:
            if self._violation is not None:
                return
            # Frames stop now, before the record is written (the write may take a moment).
            checks = {r.check for r in reasons}
            kind: type[PolicyViolation] = PolicyViolation
            if checks == {"consent"}:
                kind = ConsentRequired
            elif checks == {"nsfw"}:
                kind = NsfwContent
            self._violation = kind(reasons)
            self._reasons = list(reasons)
        try:
            record = self._append("blocked", "blocked")
        except FusionGuardError as error:
            self._violation = type(self._violation)(
                [*reasons, Reason("audit", "stream", f"the blocked record could not be written: {error}")]
            )
            return
        self._violation = type(self._violation)(reasons, record_id=record.record_id)

    def _interim_loop(self) -> None:
        while not self._stop_interim.wait(self.rules.interim_seconds):
            try:
                self._recheck_consent()
                if self._violation is None:
                    self._append("interim", "allowed")
            except Exception as error:  # accountability lost: stop the stream
                self._fail(f"interim record failed: {error!r}")
                return

    def _append(self, phase: str, decision: Literal["allowed", "blocked"]) -> AuditRecord:
        now = self.guard.clock()
        with self._lock:
            stats = StreamStats(
                released=self._stats.released,
                withheld=self._stats.withheld,
                blocked=self._stats.blocked,
                face_checks=self._stats.face_checks,
                nsfw_checks=self._stats.nsfw_checks,
                max_nsfw=self._stats.max_nsfw,
            )
            tracks = list(self._all_tracks)
            previous = self.records[-1] if self.records else None
        frames_hashed, frames_sha256 = self._hasher.digest(wait=phase != "interim")
        detail: dict[str, Any] = {
            "session": self.session_id,
            "phase": phase,
            "previous": previous,
            "started": self._started_wall.isoformat(),
            "at": now.isoformat(),
            "seconds": round(time.monotonic() - self._started, 3),
            "frames_released": stats.released,
            "frames_withheld": stats.withheld,
            "frames_blocked": stats.blocked,
            "frames_hashed": frames_hashed,
            "frames_sha256": frames_sha256,
            "watermark_id": format_watermark_id(self.watermark_id),
            "face_checks": stats.face_checks,
            "nsfw_checks": stats.nsfw_checks,
            "max_nsfw": stats.max_nsfw,
            "tracks": [t.summary(self._started) for t in tracks],
            "rates": {"face_fps": self.rules.face_fps, "nsfw_fps": self.rules.nsfw_fps},
        }
        targets = tuple(
            InputRef("target", t.number - 1, t.frame_sha256, (t.identity,) if t.identity else (), 1)
            for t in tracks
        )
        start = phase == "start"
        output = (
            OutputRef(sha256=frames_sha256, watermark_id=format_watermark_id(self.watermark_id))
            if start
            else None
        )
        record = AuditRecord(
            kind="run",
            decision=decision,
            timestamp=now,
            actor=self.guard.actor,
            model=self.model,
            policy=self.policy.ref(),
            sources=self._source_refs,
            targets=targets,
            output=output,
            reasons=tuple(r.to_dict() for r in self._reasons) if decision == "blocked" else (),
            refers_to=None if start else self._start_record,
            extra={**self._extra, "stream": detail},
        )
        self.guard.log.append(record)
        with self._lock:
            self.records.append(record.record_id)
        self.guard._notify(record)
        return record

    def close(self) -> AuditRecord:
        """Stop the checks and append the session's signed close record; returns it.

        Raises :class:`AuditError` when the record cannot be written, :class:`BadInput` when the
        session was closed already (leaving a ``with`` block closes it).
        """
        with self._lock:
            if self._closed:
                raise BadInput("stream session is already closed")
            self._closed = True
        self._stop_interim.set()
        self._faces.stop()
        if self._nsfw is not None:
            self._nsfw.stop()
        self._interim.join(timeout=30)
        decision: Literal["allowed", "blocked"] = "blocked" if self._violation is not None else "allowed"
        try:
            return self._append("close", decision)
        except FusionGuardError:
            raise
        except Exception as error:
            raise AuditError(f"stream close record could not be written: {error!r}") from error
        finally:
            self._hasher.stop()

    def __enter__(self) -> StreamSession:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._closed:
            self.close()


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def _empty_findings() -> Any:
    from fusionguard.checks.consent import ConsentFindings

    return ConsentFindings()


# -- the real tools' per-frame call sites -----------------------------------------------------------


def wrap_swap_face(session: StreamSession, swap_face: F) -> F:
    """Deep-Live-Cam's and roop's ``swap_face(source_face, target_face, frame) -> frame``."""
    return session.wrap(swap_face, frame_arg=2)


def wrap_process_frame(session: StreamSession, process_frame: F, *, frame_arg: int | str = 1) -> F:
    """Deep-Live-Cam's ``process_frame(source_face, frame, target_face=None) -> frame``.

    roop's is ``process_frame(source_face, reference_face, temp_frame)``: pass ``frame_arg=2``.
    """
    return session.wrap(process_frame, frame_arg=frame_arg)


def wrap_process_stream_frame(session: StreamSession, process_stream_frame: F) -> F:
    """FaceFusion's ``process_stream_frame(source_vision_frames, target_vision_frame) -> frame``."""
    return session.wrap(process_stream_frame, frame_arg=1)
