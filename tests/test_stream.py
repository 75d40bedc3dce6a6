"""Live streams: real frames (test photos moved like a camera), real face/NSFW models, real databases."""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import Filters
from fusionguard.audit.record import AuditRecord, ModelInfo
from fusionguard.audit.verify import verify_log
from fusionguard.checks.nsfw import FakeNsfw, OpenNsfwOnnx
from fusionguard.errors import BadInput, ConsentRequired, NsfwContent, PolicyError
from fusionguard.faces import DlibBackend
from fusionguard.guard import Guard
from fusionguard.media import encode_image
from fusionguard.policy import Policy
from fusionguard.stream import StreamSession, wrap_process_frame, wrap_process_stream_frame, wrap_swap_face
from fusionguard.watermark import detect_frames
from tests import testdata
from tests.conftest import FixedClock
from tests.support.clips import camera_frames
from tests.test_guard import enrol_pair, make_guard

pytestmark = pytest.mark.slow
MODEL = ModelInfo("fusionguard-demo-swap", "1.0", "apache-2.0")
FRAME_PACE = 0.02  # seconds between frames, like a 50 fps camera


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("stream-photos")
    paths = {
        "astronaut": folder / "astronaut.png",
        "hopper": folder / "hopper.png",
        "coffee": folder / "coffee.png",
    }
    paths["astronaut"].write_bytes(encode_image(testdata.astronaut(), "png"))
    paths["hopper"].write_bytes(encode_image(testdata.grace_hopper(), "png"))
    paths["coffee"].write_bytes(encode_image(testdata.coffee(), "png"))  # no face
    return paths


@pytest.fixture(scope="module")
def astronaut_frames() -> list[np.ndarray]:
    """Eileen Collins (source and target consent) filmed by a moving camera, 640x480."""
    return camera_frames(
        testdata.astronaut(), (640, 480), 40, seed=11, amplitude=0.3, centre=(0.45, 0.3), zoom=1.1
    )


@pytest.fixture(scope="module")
def hopper_frames() -> list[np.ndarray]:
    """Grace Hopper (source consent only: she may not be a target), 640x480."""
    return camera_frames(testdata.grace_hopper(), (640, 480), 40, seed=12, amplitude=0.3)


def stream_guard(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    photos: dict[str, Path],
    **stream: Any,
) -> Guard:
    policy = Policy.from_mapping({"name": "live", "version": 1, "stream": stream}) if stream else None
    guard = make_guard(db_url, home, ring, clock, faces, nsfw, policy)
    enrol_pair(guard, faces, photos)
    return guard


@pytest.fixture
def guard(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    photos: dict[str, Path],
) -> Guard:
    return stream_guard(db_url, home, ring, clock, faces, nsfw, photos)


def stream_records(guard: Guard, session: StreamSession) -> list[AuditRecord]:
    records = [s.record for s in guard.log.query(Filters())]
    return [r for r in records if r.extra.get("stream", {}).get("session") == session.session_id]


def play(frames: list[np.ndarray], repeat: int = 1) -> Iterator[np.ndarray]:
    for _ in range(repeat):
        for frame in frames:
            time.sleep(FRAME_PACE)
            yield frame


def swap(frame: np.ndarray) -> np.ndarray:
    """A small real image operation standing in for the swap model: blur the middle of the frame."""
    out = frame.copy()
    h, w = out.shape[:2]
    out[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = cv2.GaussianBlur(
        out[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4], (0, 0), 2.0
    )
    return out


def test_allowed_stream_marks_every_frame_and_closes_with_a_record(
    guard: Guard, photos: dict[str, Path], astronaut_frames: list[np.ndarray]
) -> None:
    shown = []
    with guard.stream(sources=[photos["hopper"]], model=MODEL) as session:
        for frame in play(astronaut_frames):
            shown.append(session.release(swap(frame), target=frame))
        stats = session.stats
    assert session.state == "closed"
    # Withheld (black) frames only if the face checker fell behind max_check_age on a busy machine.
    assert stats.released + stats.withheld == len(astronaut_frames) and stats.released > 0
    assert stats.blocked == 0
    assert stats.face_checks >= 1 and stats.tracks and stats.tracks[0]["decision"] == "allowed"
    # What left carries the session's ID, readable from the frames.
    found = detect_frames(guard.codec, shown)
    assert found is not None and found.payload == session.watermark_id
    [close] = [r for r in stream_records(guard, session) if r.extra["stream"]["phase"] == "close"]
    detail = close.extra["stream"]
    assert close.decision == "allowed"
    assert int(detail["watermark_id"], 16) == session.watermark_id
    assert detail["frames_released"] == stats.released and detail["frames_withheld"] == stats.withheld
    # The record commits to exactly the frames that left, in order.
    assert detail["frames_hashed"] == len(shown)
    assert detail["frames_sha256"] == hashlib.sha256(b"".join(s.tobytes() for s in shown)).hexdigest()
    collins = next(p.identity_id for p in guard.registry.identities() if p.display_name == "Eileen Collins")
    assert collins in close.identities  # the person on camera, as a target
    assert close.sources[0].identities  # the checked source
    assert verify_log(guard.log, full=True).ok


def test_small_frames_and_bgr_wrappers_of_the_real_call_sites(
    guard: Guard, photos: dict[str, Path], astronaut_frames: list[np.ndarray]
) -> None:
    """320x240 BGR frames through the three per-frame call sites, signatures unchanged."""
    small = [np.ascontiguousarray(cv2.resize(f, (320, 240))[..., ::-1]) for f in astronaut_frames[:12]]

    def swap_face(source_face: object, target_face: object, temp_frame: np.ndarray) -> np.ndarray:
        return swap(temp_frame)

    def process_frame(source_face: object, temp_frame: np.ndarray, target_face: object = None) -> np.ndarray:
        return swap(temp_frame)

    def process_stream_frame(
        source_vision_frames: list[np.ndarray], target_vision_frame: np.ndarray
    ) -> np.ndarray:
        return swap(target_vision_frame)

    with guard.stream(sources=[photos["hopper"]], model=MODEL, color_order="BGR") as session:
        guarded_swap = wrap_swap_face(session, swap_face)
        guarded_process = wrap_process_frame(session, process_frame)
        guarded_stream = wrap_process_stream_frame(session, process_stream_frame)
        assert guarded_swap.__name__ == "swap_face"
        shown = []
        for i, frame in enumerate(play(small)):
            if i % 3 == 0:
                shown.append(guarded_swap("src", "tgt", frame))
            elif i % 3 == 1:
                shown.append(guarded_process("src", temp_frame=frame))
            else:
                shown.append(guarded_stream([frame], frame))
        assert session.stats.released + session.stats.withheld == len(small)
    assert all(s.shape == (240, 320, 3) for s in shown)
    found = detect_frames(guard.codec, shown)
    assert found is not None and found.payload == session.watermark_id


def test_non_consenting_face_appearing_blocks_the_stream(
    guard: Guard,
    photos: dict[str, Path],
    astronaut_frames: list[np.ndarray],
    hopper_frames: list[np.ndarray],
) -> None:
    with guard.stream(sources=[photos["hopper"]], model=MODEL) as session:
        for frame in play(astronaut_frames[:10]):
            session.release(swap(frame), target=frame)
        assert session.state == "live"
        # Grace Hopper walks in: she consented as a source only.
        after = []
        for frame in play(hopper_frames, repeat=5):
            shown = session.release(swap(frame), target=frame)
            if session.state == "blocked":
                after.append(shown)
            if len(after) >= 5:
                break
        assert session.state == "blocked"
        assert isinstance(session.violation, ConsentRequired)
        assert session.violation.record_id is not None
        # Frames stop: what leaves is black (marked, no content).
        assert all(float(a.mean()) < 8.0 for a in after[1:])
        assert session.stats.blocked >= 4
    records = stream_records(guard, session)
    blocked = [r for r in records if r.extra["stream"]["phase"] == "blocked"]
    assert len(blocked) == 1 and blocked[0].record_id == session.violation.record_id
    assert "no active target consent" in blocked[0].reasons[0]["detail"]
    [close] = [r for r in records if r.extra["stream"]["phase"] == "close"]
    assert close.decision == "blocked" and close.extra["stream"]["previous"] == blocked[0].record_id
    decisions = [t["decision"] for t in close.extra["stream"]["tracks"]]
    assert decisions[0] == "allowed" and "blocked" in decisions


def test_on_block_raise(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    photos: dict[str, Path],
    hopper_frames: list[np.ndarray],
) -> None:
    guard = stream_guard(db_url, home, ring, clock, faces, nsfw, photos, on_block="raise")
    session = guard.stream(sources=[photos["astronaut"]], model=MODEL)
    with pytest.raises(ConsentRequired, match="no active target consent"):
        for frame in play(hopper_frames, repeat=5):
            session.release(frame)
    with pytest.raises(ConsentRequired):
        session.release(hopper_frames[0])
    close = session.close()
    assert close.decision == "blocked"
    with pytest.raises(BadInput, match="closed"):
        session.release(hopper_frames[0])


def test_interim_records_every_n_seconds(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    photos: dict[str, Path],
    astronaut_frames: list[np.ndarray],
) -> None:
    guard = stream_guard(db_url, home, ring, clock, faces, nsfw, photos, interim_seconds=1)
    with guard.stream(sources=[photos["hopper"]], model=MODEL) as session:
        for frame in play(astronaut_frames, repeat=20):
            session.release(frame)
            if len(session.records) >= 3:
                break
    records = stream_records(guard, session)
    phases = [r.extra["stream"]["phase"] for r in records]
    assert phases[:3] == ["start", "interim", "interim"] and phases[-1] == "close"
    assert all(r.refers_to == records[0].record_id for r in records[1:])
    # A chain: each names the one before; counts only grow; all carry the session's ID.
    for before, after in itertools.pairwise(records):
        assert after.extra["stream"]["previous"] == before.record_id
        assert after.extra["stream"]["frames_released"] >= before.extra["stream"]["frames_released"]
    assert records[1].extra["stream"]["frames_released"] > 0
    # One record holds the ID (the start record): that is where a leaked frame leads.
    assert [r.output.watermark_id for r in records if r.output] == [f"{session.watermark_id:016x}"]
    assert guard.log.get(f"{session.watermark_id:016x}").record.record_id == records[0].record_id
    assert verify_log(guard.log, full=True).ok


def test_revoked_consent_stops_the_stream_at_the_next_interim(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    photos: dict[str, Path],
    astronaut_frames: list[np.ndarray],
) -> None:
    guard = stream_guard(db_url, home, ring, clock, faces, nsfw, photos, interim_seconds=1)
    collins = next(p.identity_id for p in guard.registry.identities() if p.display_name == "Eileen Collins")
    with guard.stream(sources=[photos["hopper"]], model=MODEL) as session:
        for frame in play(astronaut_frames[:5]):
            session.release(frame)
        guard.registry.revoke(collins, ["target"])
        for frame in play(astronaut_frames, repeat=10):
            session.release(frame)
            if session.state == "blocked":
                break
        assert isinstance(session.violation, ConsentRequired)
        assert "revoked" in str(session.violation)


def test_source_without_a_face_blocks_at_start(guard: Guard, photos: dict[str, Path]) -> None:
    with pytest.raises(ConsentRequired, match="no face found in the source"):
        guard.stream(sources=[photos["coffee"]], model=MODEL)
    [record] = [s.record for s in guard.log.query(Filters(decision="blocked"))]
    assert record.reasons[0]["subject"] == "source[0]"


def test_bad_frames_and_arguments(guard: Guard, photos: dict[str, Path]) -> None:
    with guard.stream(sources=[photos["hopper"]], model=MODEL) as session:
        with pytest.raises(BadInput, match="minimum is 128x128"):
            session.release(np.zeros((100, 100, 3), np.uint8))
        with pytest.raises(BadInput, match="numpy"):
            session.release("frame.png")  # type: ignore[arg-type]
        with pytest.raises(BadInput, match="no parameter 'image'"):
            session.wrap(swap, frame_arg="image")
    with pytest.raises(BadInput, match="color_order"):
        guard.stream(sources=[photos["hopper"]], model=MODEL, color_order="YUV")  # type: ignore[arg-type]
    with pytest.raises(BadInput, match="at least one source"):
        guard.stream(sources=[], model=MODEL)


def test_stream_policy_is_validated() -> None:
    with pytest.raises(PolicyError, match=r"stream\.on_block"):
        Policy.from_mapping({"name": "x", "version": 1, "stream": {"on_block": "pause"}})
    with pytest.raises(PolicyError, match=r"stream\.interim_seconds"):
        Policy.from_mapping({"name": "x", "version": 1, "stream": {"interim_seconds": 0}})
    with pytest.raises(PolicyError, match="no frame could ever pass"):
        Policy.from_mapping({"name": "x", "version": 1, "stream": {"face_fps": 0.5, "max_check_age": 1.0}})
    # Unset, the section does not change the policy's hash (stored in existing records).
    assert Policy.from_mapping({"name": "x", "version": 1, "stream": {}}).sha256 == (
        Policy.from_mapping({"name": "x", "version": 1}).sha256
    )


def test_nsfw_sampled_frames_block_the_stream(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    photos: dict[str, Path],
    astronaut_frames: list[np.ndarray],
) -> None:
    """The output frames are sampled in the background; one above the threshold stops the stream.

    The NSFW model is not what is tested here: the shipped FakeNsfw scores the 640x480 stream frames
    0.95 and the (differently sized) source photos 0.
    """
    nsfw = FakeNsfw(lambda rgb: 0.95 if rgb.shape == (480, 640, 3) else 0.0)
    guard = stream_guard(db_url, home, ring, clock, faces, nsfw, photos)  # type: ignore[arg-type]
    with guard.stream(sources=[photos["hopper"]], model=MODEL) as session:
        for frame in play(astronaut_frames, repeat=5):
            session.release(frame)
            if session.state == "blocked":
                break
        assert isinstance(session.violation, NsfwContent)
        assert "NSFW score 0.950" in str(session.violation)
        assert float(session.release(astronaut_frames[0]).mean()) < 8.0
    assert nsfw.seen >= 2  # the source at start, then sampled frames


class SlowFaces:
    """The real face backend, made slow after its first call: the checker falls behind."""

    def __init__(self, backend: DlibBackend, delay: float) -> None:
        self.backend, self.delay, self.calls = backend, delay, 0
        self.model_id, self.metric = backend.model_id, backend.metric
        self.match_threshold, self.min_face_size = backend.match_threshold, backend.min_face_size

    def detect(self, rgb: np.ndarray) -> list[Any]:
        self.calls += 1
        # Two enrolments, the source's check at start and the stream's first face check run at full
        # speed; every later check takes `delay` longer.
        if self.calls > 4:
            time.sleep(self.delay)
        return self.backend.detect(rgb)

    def distance(self, a: Any, b: Any) -> float:
        return self.backend.distance(a, b)


def test_frames_are_withheld_while_the_face_check_is_stale(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    photos: dict[str, Path],
    astronaut_frames: list[np.ndarray],
) -> None:
    slow = SlowFaces(faces, delay=3.0)
    guard = stream_guard(db_url, home, ring, clock, slow, nsfw, photos)  # type: ignore[arg-type]
    shown = []
    with guard.stream(sources=[photos["hopper"]], model=MODEL) as session:
        for frame in play(astronaut_frames, repeat=3):
            shown.append(session.release(frame))
        stats = session.stats
    # The first frames pass (fresh check); once the check is older than max_check_age (1 s), black.
    assert stats.released >= 1 and stats.withheld >= 1
    assert float(shown[0].mean()) > 50.0 and float(shown[-1].mean()) < 8.0
    assert session.state == "closed"
