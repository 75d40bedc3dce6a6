"""The watermark on every frame of a video or live stream, and its recovery from a leaked clip.

    marker = FrameMarker(codec, payload=0x0123456789ABCDEF)
    marked = marker.mark(frame)                        # any HxWx3 uint8 frame >= 128 px, RGB or BGR
    found = detect_frames(codec, decoded_frames)       # Detection | None, FA <= 1e-10

Embedding (:class:`FrameMarker`)
    The same keyed tile and payload coding as :class:`.WatermarkCodec` (a frame is read by the same
    geometry search), but everything that does not depend on the pixels is computed once per frame
    shape and cached: the tiled pattern, already cut to the frame. Per frame only the perceptual
    gain is computed, with cheap OpenCV operations: the mean absolute high-pass residual (a 3x3 box
    blur subtracted from the luma) on cells of 8x8 pixels, the codec's compressive gain
    ``sqrt(activity + FLOOR)`` tapered near black and white, normalised to mean square 1 and
    interpolated back to full size. The change is added to R, G and B alike, so the channel order
    (RGB or BGR, as OpenCV-based tools use) does not matter. The pattern is fixed in the picture
    frame, identical in every frame of a clip: that is what lets the detector add frames up.

    The tile period grows with the frame (64 px at 240 lines, 192 at 480, 256 at 720, 384 at 1080)
    so that a copy downscaled to 360 lines still has 8-pixel chips: x264 at CRF 35 removes the
    still codec's 2-pixel chips from every predicted frame, coarse chips survive. For the same
    reason the default energy is twice the still codec's (``strength=2``, about 35 dB PSNR per
    frame; perceptually shaped, it shows as a faint grain in flat areas at most): with
    ``strength=1`` (40.8 dB) a 360p excerpt survives CRF 23 but not CRF 35. Frames from 128x128 up
    are marked (the still-image codec needs 256x256).

Detection (:func:`detect_frames`)
    Every frame's luma is whitened (high-pass, divided by its local RMS) and the whitened frames are
    summed: content that moves between frames adds up incoherently (as sqrt(n)) while the
    watermark, fixed in the frame, adds up coherently (as n). The codec's geometry search and
    decoding then run once on the sum; the lattice search also looks at the sum of the frames'
    power spectra (an encoder's predicted frames carry the mark moved along with the content by
    motion compensation, which blurs it in the sum of frames but leaves the lattice lines of each
    frame's spectrum where they were). Only the sync template ranks the hypotheses either way.
    A change of frame size starts a new group (the geometry differs), and each group is summed at
    two scales (full and half size: the half-size sum is whitened at the coarse pattern's own
    scale); with ``window=`` the clip is also cut into groups of that many consecutive frames, for
    clips assembled from differently marked pieces. Each group is searched like one image.

False-alarm probability
    Every group (and scale) decodes ``DECODE_TRIALS`` = 8 hypotheses (lattice x orientation x
    shift, chosen by the sync template only) and, as in the codec, the number ``d`` of the 48
    keyed check bits that disagree with the MAC of the decoded payload is Binomial(48, 1/2) for
    each of them under H0 --
    however many frames were added, and however the hypotheses were chosen. The reported
    probability is the union bound over every decoded hypothesis of every group,
    ``min(1, 8 * groups * P[Binomial(48, 1/2) <= d])``: all frames and all hypotheses are counted
    (the frames enter through the groups they were summed into). ``bench/watermark/frames_null.py``
    checks it on unmarked clips.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fusionguard.errors import BadInput

from . import ecc
from .codec import (
    DECODE_TRIALS,
    DETECT_MAX_SIDE,
    FALSE_ALARM_THRESHOLD,
    TARGET_RMS,
    Detection,
    WatermarkCodec,
)
from .codec import _Candidate as Candidate
from .codec import _describe as describe
from .geometry import power_spectrum, whiten
from .masking import FLOOR
from .masking import luminance as codec_luminance

FRAME_MIN_SIZE = 128
BASE_PERIOD = 64
# Short-side pixels per 64-px step of the period: 64 px at 240 lines, 192 at 480, 256 at 720, 384 at 1080,
# so that a copy downscaled to 360 lines still has a period of about 128 px (8 px chips): the coarse chips
# are what survives heavy H.264 quantisation (CRF 35), which wipes out the still-image codec's 2 px chips.
PERIOD_STEP = 180
DEFAULT_STRENGTH = 2.0  # twice the still codec's energy: about 35 dB PSNR per frame
# Detection sums whitened frames at these extra downscales (besides the codec's own): the coarse frame
# pattern is whitened at its own scale, and each scale is one more group of hypotheses in the bound.
DETECT_SCALES = (1, 2)
GAIN_CELL = 8  # pixels per side of a gain-map cell
SHAPE_CACHE = 8  # frame shapes kept precomputed per marker

UInt8Array = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float32]


def frame_period(height: int, width: int) -> int:
    """Tile period in pixels used for a frame of this size."""
    return BASE_PERIOD * max(1, round(min(height, width) / PERIOD_STEP))


def _check_frame(frame: Any, what: str) -> UInt8Array:
    if not isinstance(frame, np.ndarray):
        raise BadInput(f"{what}: expected a numpy uint8 array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise BadInput(f"{what}: expected dtype uint8, got {frame.dtype}")
    if frame.ndim == 3 and frame.shape[2] != 3:
        raise BadInput(f"{what}: expected HxWx3 (RGB or BGR) or HxW, got {frame.shape[2]} channels")
    if frame.ndim not in (2, 3):
        raise BadInput(f"{what}: expected HxWx3 or HxW array, got {frame.ndim} dimensions")
    h, w = frame.shape[:2]
    if min(h, w) < FRAME_MIN_SIZE:
        raise BadInput(f"{what}: frame is {w}x{h}, the minimum is {FRAME_MIN_SIZE}x{FRAME_MIN_SIZE}")
    return frame


@dataclass(frozen=True)
class _ShapePlan:
    pattern: FloatArray  # (h, w) unit-RMS tiled pattern times TARGET_RMS
    cells: tuple[int, int]  # gain-map size (width, height) for cv2


class FrameMarker:
    """Marks frames with one payload under a codec's key; thread-safe, cheap per frame.

    ``strength`` scales the still codec's embedding energy (2.0, the default: about 35 dB PSNR per
    frame, survives CRF 35 at 360p; 1.0: about 40.8 dB, survives CRF 23 at 360p).
    """

    def __init__(self, codec: WatermarkCodec, payload: int, *, strength: float = DEFAULT_STRENGTH) -> None:
        if not isinstance(codec, WatermarkCodec):
            raise BadInput(f"FrameMarker: expected a WatermarkCodec, got {type(codec).__name__}")
        if isinstance(payload, bool) or not isinstance(payload, int | np.integer):
            raise BadInput(f"payload: expected an int, got {type(payload).__name__}")
        payload = int(payload)
        if not 0 <= payload < 1 << ecc.PAYLOAD_BITS:
            raise BadInput(f"payload: {payload} is outside 0 .. 2**64 - 1")
        if not (isinstance(strength, int | float) and 0.25 <= float(strength) <= 4.0):
            raise BadInput(f"strength: expected a number in 0.25 .. 4, got {strength!r}")
        self.payload = payload
        self.strength = float(strength)
        self._codec = codec
        self._codeword = codec._codeword(payload)
        self._tiles: dict[int, FloatArray] = {}
        self._plans: OrderedDict[tuple[int, int], _ShapePlan] = OrderedDict()
        self._lock = threading.Lock()

    def _plan(self, height: int, width: int) -> _ShapePlan:
        key = (height, width)
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                self._plans.move_to_end(key)
                return plan
            period = frame_period(height, width)
            tile = self._tiles.get(period)
            if tile is None:
                tile = self._tiles[period] = self._codec._layout.tile(self._codeword, period)
            reps = (-(-height // period), -(-width // period))
            pattern = np.ascontiguousarray(np.tile(tile, reps)[:height, :width])
            pattern *= TARGET_RMS * self.strength
            cells = (max(1, round(width / GAIN_CELL)), max(1, round(height / GAIN_CELL)))
            plan = _ShapePlan(pattern=pattern, cells=cells)
            self._plans[key] = plan
            while len(self._plans) > SHAPE_CACHE:
                self._plans.popitem(last=False)
            return plan

    def delta(self, frame: UInt8Array) -> FloatArray:
        """The signed luma change :meth:`mark` adds to ``frame`` (before rounding), HxW float32."""
        frame = _check_frame(frame, "mark")
        h, w = frame.shape[:2]
        plan = self._plan(h, w)
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        residual = cv2.absdiff(gray, cv2.blur(gray, (3, 3)))
        # Cell means of |residual| (activity) and of the luma (for the black/white taper).
        activity = cv2.resize(residual, plan.cells, interpolation=cv2.INTER_AREA).astype(np.float32)
        level = cv2.resize(gray, plan.cells, interpolation=cv2.INTER_AREA).astype(np.float32)
        # |residual| of a 3x3 box high-pass is about 0.8 times the codec's Gaussian-residual RMS.
        gain = np.sqrt(activity * 1.25 + FLOOR)
        gain *= np.clip(np.minimum(level, 255.0 - level) / 24.0, 0.25, 1.0)
        gain /= math.sqrt(float(np.mean(gain * gain))) + 1e-12
        full = cv2.resize(gain, (w, h), interpolation=cv2.INTER_LINEAR)
        return np.asarray(cv2.multiply(full, plan.pattern), np.float32)

    def mark(self, frame: UInt8Array) -> UInt8Array:
        """A marked copy of ``frame`` (HxWx3 RGB or BGR, or HxW, uint8, at least 128x128)."""
        change = self.delta(frame)
        if frame.ndim == 3:
            change = np.asarray(cv2.cvtColor(change, cv2.COLOR_GRAY2RGB), np.float32)
        return np.asarray(cv2.add(frame, change, dtype=cv2.CV_8U), np.uint8)


@dataclass(frozen=True)
class FramesDetection(Detection):
    """A watermark found in a clip: :class:`Detection` plus how much of the clip was used.

    ``frames`` frames were read, in ``groups`` groups; ``hypotheses`` decoded hypotheses enter the
    false-alarm bound; ``group_frames`` is the number of frames in the group that gave the answer.
    """

    frames: int = 0
    groups: int = 0
    hypotheses: int = 0
    group_frames: int = 0


def _scales(height: int, width: int) -> tuple[int, ...]:
    """Downscale factors at which frames of this size are whitened and summed."""
    base = max(1, math.ceil(max(height, width) / DETECT_MAX_SIDE))
    return tuple(base * s for s in DETECT_SCALES if min(height, width) // (base * s) >= FRAME_MIN_SIZE)


def _whitened(frame: UInt8Array, factors: tuple[int, ...]) -> list[FloatArray]:
    # Same weights as the codec's luminance; the mark is equal on the three channels, so any
    # channel order carries all of it.
    luma = frame.astype(np.float32) if frame.ndim == 2 else codec_luminance(frame)
    out = []
    for factor in factors:
        scaled = luma
        if factor > 1:
            size = (luma.shape[1] // factor, luma.shape[0] // factor)
            scaled = np.asarray(cv2.resize(luma, size, interpolation=cv2.INTER_AREA), np.float32)
        out.append(whiten(scaled))
    return out


class _Group:
    """Consecutive frames of one size, summed (whitened) at each detection scale."""

    def __init__(self, shape: tuple[int, int], parent: _Group | None = None) -> None:
        self.shape = shape
        self.parent = parent
        self.factors = _scales(*shape)
        self.totals: list[FloatArray] = []
        self.powers: list[FloatArray] = []
        self.count = 0

    def add(self, whites: list[FloatArray], powers: list[FloatArray]) -> None:
        if not self.totals:
            self.totals = [w.copy() for w in whites]
            self.powers = [p.copy() for p in powers]
        else:
            for total, white in zip(self.totals, whites, strict=True):
                total += white
            for acc, power in zip(self.powers, powers, strict=True):
                acc += power
        self.count += 1


def _validate_count(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise BadInput(f"{name}: expected a positive number of frames, got {value!r}")


@dataclass(frozen=True)
class _ClipSearch:
    """Every decoded hypothesis of a clip with the group it came from, and the totals."""

    decoded: list[tuple[Candidate, _Group]]
    frames: int
    groups: int
    hypotheses: int


def _search_clip(
    codec: WatermarkCodec, frames: Iterable[UInt8Array], window: int | None, max_frames: int | None
) -> _ClipSearch:
    _validate_count("window", window)
    _validate_count("max_frames", max_frames)
    whole: list[_Group] = []  # one per run of frames of the same size
    windows: list[_Group] = []  # runs of at most `window` frames within those
    count = 0
    for frame in frames:
        if max_frames is not None and count >= max_frames:
            break
        frame = _check_frame(frame, f"detect_frames: frame {count}")
        shape = (frame.shape[0], frame.shape[1])
        if not whole or whole[-1].shape != shape:
            whole.append(_Group(shape))
            if window is not None:
                windows.append(_Group(shape, whole[-1]))
        elif window is not None and windows[-1].count >= window:
            windows.append(_Group(shape, whole[-1]))
        whites = _whitened(frame, whole[-1].factors)
        powers = [power_spectrum(w) for w in whites]
        whole[-1].add(whites, powers)
        if window is not None:
            windows[-1].add(whites, powers)
        count += 1
    # A window that is its whole group adds nothing new (and would be counted twice).
    groups = whole + [g for g in windows if g.parent is not None and g.count < g.parent.count]
    searches = [
        (group, total, power, factor)
        for group in groups
        for total, power, factor in zip(group.totals, group.powers, group.factors, strict=True)
    ]
    decoded = [
        (c, group) for group, total, power, factor in searches for c in codec._search(total, factor, power)
    ]
    # Every search counts DECODE_TRIALS, even one that decoded fewer (a conservative bound).
    return _ClipSearch(decoded, count, len(groups), DECODE_TRIALS * len(searches))


def inspect_frames(
    codec: WatermarkCodec,
    frames: Iterable[UInt8Array],
    *,
    window: int | None = None,
    max_frames: int | None = None,
) -> FramesDetection | None:
    """The most plausible decoding of a clip, whatever its false-alarm probability.

    For diagnostics and calibration; :func:`detect_frames` decides. None when no frame was given
    or no lattice could be formed at all.
    """
    search = _search_clip(codec, frames, window, max_frames)
    if not search.decoded:
        return None
    candidate, group = min(search.decoded, key=lambda item: (item[0].check_errors, -item[0].sync_score))
    recoded = codec._codeword(candidate.payload)
    tail = ecc.binomial_cdf_half(candidate.check_errors, ecc.CHECK_BITS)
    return FramesDetection(
        payload=candidate.payload,
        false_alarm_probability=min(1.0, search.hypotheses * tail),
        check_errors=candidate.check_errors,
        bit_errors=int(np.count_nonzero((candidate.reading < 0) != (recoded == 1))),
        sync_score=candidate.sync_score,
        **describe(candidate.geometry),
        frames=search.frames,
        groups=search.groups,
        hypotheses=search.hypotheses,
        group_frames=group.count,
    )


def detect_frames(
    codec: WatermarkCodec,
    frames: Iterable[UInt8Array],
    *,
    window: int | None = None,
    max_frames: int | None = None,
    threshold: float = FALSE_ALARM_THRESHOLD,
) -> FramesDetection | None:
    """The watermark in a clip's frames if found at false-alarm probability <= ``threshold``.

    ``frames``: decoded frames in order (HxWx3 RGB or BGR, or HxW, uint8, at least 128x128), e.g. a
    leaked excerpt; they are read once and not kept. ``window``: also try groups of that many
    consecutive frames (each group adds 8 hypotheses to the bound). ``max_frames``: stop reading
    after that many. ``threshold`` may only be stricter than 1e-10.
    """
    if not isinstance(threshold, float) or not 0.0 < threshold <= FALSE_ALARM_THRESHOLD:
        raise BadInput(f"threshold: expected a float in (0, {FALSE_ALARM_THRESHOLD}], got {threshold!r}")
    best = inspect_frames(codec, frames, window=window, max_frames=max_frames)
    if best is None or best.false_alarm_probability > threshold:
        return None
    return best
