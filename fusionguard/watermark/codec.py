"""Keyed, geometry-robust watermark carrying a 64-bit payload: :class:`WatermarkCodec`.

Embedding
    The payload and 48 keyed check bits are whitened with a keyed mask and convolutionally encoded
    (:mod:`.ecc`) into 354 coded bits, carried twice:

    * the *periodic layer*: the bits spread over a keyed 32x32-chip tile next to a keyed sync
      template (:mod:`.pattern`). The tile is band-limited, scaled to a period of 64 px (128 px
      for images whose short side is about 960 px or more, so that down-scaling by 2 keeps the
      chips resolvable) and repeated over the image. It survives crops, scaling, rotation, flips;
      its energy is set as before (``TARGET_RMS``);
    * the *aperiodic layer* (:mod:`.aperiodic`): a keyed field of chips that never repeats, each
      chip carrying one coded bit times a keyed sign, modulated to the highest spatial
      frequencies (next to the periodic band, not in it), at ``APERIODIC_RMS``. Folding an image
      over its period or averaging many outputs estimates only the periodic layer (issue 10); this
      one is read back at the identity geometry, so removing the periodic layer that way no longer
      removes the mark. Any geometric edit after such a removal does (see the limits in
      bench/results/watermark_security.md).

    Both are shaped by a perceptual gain map (:mod:`.masking`) and added to the luma only (the
    same offset on R, G and B, so colour changes such as saturation leave them alone). PSNR about
    40.3 dB.

Detection
    The whitened luma's autocorrelation reveals the tile lattice (scale, rotation, shear, aspect
    change; see :mod:`.geometry`, which proposes square lattices and general ones spanned by pairs
    of peaks); the image is folded modulo each candidate lattice (and the neighbours of
    the best ones in the scale family, which the autocorrelation can confuse with it when the
    mark is weak), the folded tile is tried
    in its 8 dihedral orientations (basis order/sign and mirror) and cross-correlated with the sync
    template to find the cyclic shift. The ``DECODE_TRIALS`` best hypotheses by sync score are
    Viterbi-decoded and checked, and so is the aperiodic layer read at the identity geometry
    (whitened luma summed per chip, times the keyed sign, added up per coded bit). When none of
    those is a detection, each of ``WINDOW_HYPOTHESES`` = 9 half-size windows (a 3x3 grid) is
    searched on its own (at a short side of about ``WINDOW_SIDE`` = 256 px, large images reduced)
    and its best hypothesis decoded: a marked picture pasted into a larger one
    (a collage) or one whose geometry varies across the frame (perspective) shows one lattice
    locally. That makes ``IMAGE_HYPOTHESES`` = 8 + 1 + 9 = 18 decoded hypotheses per image.

Null model and false-alarm probability
    Under H0 (the image carries no watermark for this key) the decoded 64-bit payload of any
    hypothesis is some word ``p`` and the 48 decoded check bits are independent of ``MAC_key(p)``,
    a keyed BLAKE2b that image content cannot predict. Hence the number ``d`` of check-bit
    mismatches is Binomial(48, 1/2) for every decoded hypothesis, however the hypotheses were
    chosen (selection uses only the sync template; the aperiodic hypothesis is fixed in advance).
    The reported false-alarm probability is the union bound over the ``IMAGE_HYPOTHESES`` = 18
    decoded hypotheses (8 from the geometry search, 1 aperiodic, 9 from the windows; every one is
    counted even when the windows are not searched, a conservative bound),
    ``min(1, 18 * P[Binomial(48, 1/2) <= d])``, and :meth:`WatermarkCodec.detect` reports a
    detection only when it is at most ``FALSE_ALARM_THRESHOLD`` = 1e-10, which is still exactly
    ``d <= 2`` (18 * 1177 / 2**48 = 7.5e-11; ``d = 3`` would give 1.2e-9). A perfect read reports
    18 / 2**48 = 6.4e-14.
    The benchmark checks the model on thousands of unmarked and attacked crops (histogram of ``d``
    against the binomial and a KS test of its randomised probability-integral transform).
    The geometry search itself (up to 18 lattices -- 4 square ones from the autocorrelation, 2
    general ones, the scale family of the best 2 square and the best general one -- x 8
    orientations x 4096 shifts, stopping early once the sync score is unmistakable) only ranks
    hypotheses; it cannot raise the bound because only the decoded ones are ever accepted, and
    ``d`` of each is Binomial(48, 1/2) however they were selected.
    Video clips (:mod:`.frames`) carry only the periodic layer and keep their own count.

Keying
    The sync template, chip positions, spreading signs, the aperiodic chip field, whitening mask
    and MAC key are all derived from the key (BLAKE2b with per-purpose personalisation), so
    without the key neither the lattice's content, the shift nor the payload can be read, and a
    wrong key behaves as H0.

Sizes
    Embedding needs at least 256x256. Detection is attempted down to 192x192 (best effort: an
    image shrunk below 256 by an attack may still be read); smaller inputs raise ``BadInput``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fusionguard.errors import BadInput, WatermarkError

from . import ecc
from .aperiodic import AperiodicLayer, chip_size
from .geometry import fold, lattice_candidates, whiten
from .masking import gain_map, luminance
from .pattern import FOLD, TileLayout, keyed_rng, subkey

MIN_KEY_BYTES = 16
MIN_SIZE = 256
# Detection is attempted on slightly smaller images too (best effort), since attacks shrink images.
MIN_DETECT_SIZE = 192
FALSE_ALARM_THRESHOLD = 1e-10
DECODE_TRIALS = 8
# Windows of half the image's size (on a 3x3 grid) searched on their own when the whole image
# gives no detection: a marked picture pasted into another one (a collage), or one whose geometry
# varies across the frame (a perspective), shows one lattice locally. Each decodes one hypothesis.
WINDOW_GRID = 3
WINDOW_HYPOTHESES = WINDOW_GRID * WINDOW_GRID
WINDOW_LATTICES = 2  # lattices folded per window (the most plausible ones)
WINDOW_SIDE = 256  # windows are searched at about this short side at most (larger ones reduced)
# Hypotheses decoded per still image: the DECODE_TRIALS best of the geometry search, the aperiodic
# layer read at the identity geometry (:mod:`.aperiodic`) and the best of each window.
IMAGE_HYPOTHESES = DECODE_TRIALS + 1 + WINDOW_HYPOTHESES
# RMS of the aperiodic layer (added to the periodic tile's TARGET_RMS: PSNR about 40.3 dB in all).
APERIODIC_RMS = 0.85
TARGET_RMS = 2.3  # per-channel RMS of the change before rounding; PSNR ~ 40.8 dB after it
BASE_PERIOD = 64
# Sync z-score beyond which the lattice search stops (noise alone gives about 4 to 5: the maximum of
# 64x64 shifts x 8 orientations x a dozen lattices of a unit-variance correlation).
CONFIDENT_SYNC = 9.0
COARSE_FOLD_PERIOD = 96.0  # lattices at least this coarse are folded from the half-size image
DETECT_MAX_SIDE = 1600  # larger images are downscaled (by an integer factor) before detection

UInt8Array = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Detection:
    """A watermark found in an image.

    ``false_alarm_probability`` bounds the chance that an unmarked image would give a detection at
    least this strong (see the module docstring for the null model). ``check_errors`` is the number
    of the 48 keyed check bits that disagree, ``bit_errors`` the number of the 354 coded bits whose
    hard decision disagrees with the re-encoded payload (a measure of channel quality).
    ``tile_period`` (px) and ``rotation_degrees`` describe the geometry found; ``mirrored`` is true
    when the image was flipped.
    """

    payload: int
    false_alarm_probability: float
    check_errors: int
    bit_errors: int
    sync_score: float
    tile_period: float
    rotation_degrees: float
    mirrored: bool


@dataclass(frozen=True)
class _Candidate:
    sync_score: float
    check_errors: int
    false_alarm_probability: float
    payload: int
    reading: FloatArray
    geometry: npt.NDArray[np.float64]


def _dihedral(tile: FloatArray, k: int) -> FloatArray:
    out = np.rot90(tile, k % 4)
    return np.ascontiguousarray(out.T if k >= 4 else out)


def _dihedral_matrix(k: int) -> npt.NDArray[np.float64]:
    """Linear map from coordinates (col, row) of the transformed tile to those of the original."""
    rows, cols = np.mgrid[0:FOLD, 0:FOLD]
    r, c = _dihedral(rows.astype(np.float32), k), _dihedral(cols.astype(np.float32), k)
    i, j = FOLD // 2, FOLD // 2
    d_col = np.array([c[i, j + 1] - c[i, j], r[i, j + 1] - r[i, j]])
    d_row = np.array([c[i + 1, j] - c[i, j], r[i + 1, j] - r[i, j]])
    return np.stack([d_col, d_row], axis=1).astype(np.float64)


_DIHEDRAL_MATRICES = [_dihedral_matrix(k) for k in range(8)]


def _check_image(image: Any, what: str, min_size: int = MIN_SIZE) -> UInt8Array:
    if not isinstance(image, np.ndarray):
        raise BadInput(f"{what}: expected a numpy uint8 array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise BadInput(f"{what}: expected dtype uint8, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] != 3:
        raise BadInput(
            f"{what}: expected HxW grayscale or HxWx3 RGB, got {image.shape[2]} channels"
            + (" (drop the alpha channel first)" if image.shape[2] == 4 else "")
        )
    if image.ndim not in (2, 3):
        raise BadInput(f"{what}: expected HxW or HxWx3 array, got {image.ndim} dimensions")
    h, w = image.shape[:2]
    if min(h, w) < min_size:
        raise BadInput(f"{what}: image is {w}x{h}, the minimum is {min_size}x{min_size}")
    return image


def embed_period(height: int, width: int) -> int:
    """Tile period in pixels used for an image of this size."""
    return BASE_PERIOD * max(1, round(min(height, width) / 640))


class WatermarkCodec:
    """Embed and detect a 64-bit payload under a secret key (at least 16 bytes)."""

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray):
            raise BadInput(f"watermark key: expected bytes, got {type(key).__name__}")
        if len(key) < MIN_KEY_BYTES:
            raise BadInput(f"watermark key: {len(key)} bytes, the minimum is {MIN_KEY_BYTES}")
        key = bytes(key)
        self._layout = TileLayout.from_key(key)
        self._mac_key = subkey(key, "fg-wm-mac")
        self._mask = keyed_rng(key, "fg-wm-whiten").integers(0, 2, ecc.INFO_BITS).astype(np.uint8)
        self._sync_spectrum = np.conj(np.fft.fft2(self._layout.sync_filter))
        self._bit_filters = self._layout.bit_filters
        self._aperiodic = AperiodicLayer(key)

    # -- embedding -------------------------------------------------------------------------------

    def _codeword(self, payload: int) -> npt.NDArray[np.uint8]:
        bits = ecc.int_to_bits(payload, ecc.PAYLOAD_BITS)
        info = np.concatenate([bits, ecc.check_bits(self._mac_key, payload)]) ^ self._mask
        return ecc.conv_encode(info)

    def embed(self, image: UInt8Array, payload: int, *, verify: bool = False) -> UInt8Array:
        """Return a copy of ``image`` (HxW or HxWx3 uint8, at least 256x256) carrying ``payload``.

        With ``verify=True`` the result is run through :meth:`detect` (about 5 times the cost of
        embedding) and :class:`WatermarkError` is raised unless the payload reads back.
        """
        image = _check_image(image, "embed")
        if isinstance(payload, bool) or not isinstance(payload, int | np.integer):
            raise BadInput(f"payload: expected an int, got {type(payload).__name__}")
        payload = int(payload)
        if not 0 <= payload < 1 << ecc.PAYLOAD_BITS:
            raise BadInput(f"payload: {payload} is outside 0 .. 2**64 - 1")
        h, w = image.shape[:2]
        period = embed_period(h, w)
        codeword = self._codeword(payload)
        tile = self._layout.tile(codeword, period)
        reps = (-(-h // period), -(-w // period))
        pattern = np.tile(tile, reps)[:h, :w]
        luma = luminance(image)
        gain = gain_map(luma)
        shaped = gain * pattern
        shaped *= TARGET_RMS / (float(np.sqrt(np.mean(shaped * shaped))) + 1e-12)
        layer = gain * self._aperiodic.pattern(codeword, h, w, chip_size(period))
        shaped += layer * (APERIODIC_RMS / (float(np.sqrt(np.mean(layer * layer))) + 1e-12))
        source = image.astype(np.float32)
        marked = source + (shaped[..., None] if image.ndim == 3 else shaped)
        np.rint(marked, out=marked)
        np.clip(marked, 0, 255, out=marked)
        out = marked.astype(np.uint8)
        if verify:
            found = self.detect(out)
            if found is None or found.payload != payload:
                raise WatermarkError(
                    f"embed: the watermark does not read back from this {w}x{h} image "
                    "(too flat or too saturated); not releasing it"
                )
        return out

    # -- detection -------------------------------------------------------------------------------

    def detect(self, image: UInt8Array) -> Detection | None:
        """The watermark in ``image`` if found at false-alarm probability <= 1e-10, else None."""
        best = self.inspect(image)
        if best is None or best.false_alarm_probability > FALSE_ALARM_THRESHOLD:
            return None
        return best

    def inspect(self, image: UInt8Array) -> Detection | None:
        """The most plausible decoding of ``image`` whatever its false-alarm probability.

        None only when no tile lattice could be formed at all (e.g. a flat image). For diagnostics
        and calibration; use :meth:`detect` to decide whether an image is marked.
        """
        candidates = self._hypotheses(image)
        if not candidates:
            return None
        best = min(candidates, key=lambda c: (c.false_alarm_probability, -c.sync_score))
        recoded = self._codeword(best.payload)
        bit_errors = int(np.count_nonzero((best.reading < 0) != (recoded == 1)))
        return Detection(
            payload=best.payload,
            false_alarm_probability=best.false_alarm_probability,
            check_errors=best.check_errors,
            bit_errors=bit_errors,
            sync_score=best.sync_score,
            **_describe(best.geometry),
        )

    def _hypotheses(self, image: UInt8Array) -> list[_Candidate]:
        """Decoded hypotheses: the geometry search's, best sync score first (at most
        ``DECODE_TRIALS``), then the aperiodic layer's at the identity geometry (if readable)."""
        image = _check_image(image, "detect", MIN_DETECT_SIZE)
        luma = luminance(image)
        h, w = luma.shape
        factor = max(1, math.ceil(max(luma.shape) / DETECT_MAX_SIDE))
        if factor > 1:
            small = (luma.shape[1] // factor, luma.shape[0] // factor)
            luma = np.asarray(cv2.resize(luma, small, interpolation=cv2.INTER_AREA), np.float32)
        white = whiten(luma)
        found = self._search(white, factor, trials=IMAGE_HYPOTHESES)
        identity = self._identity(white, h, w, factor)
        found = found if identity is None else [*found, identity]
        if any(c.false_alarm_probability <= FALSE_ALARM_THRESHOLD for c in found):
            return found
        return found + self._windows(luma, white, factor)

    def _windows(self, luma: FloatArray, white: FloatArray, factor: int) -> list[_Candidate]:
        """The best hypothesis of each of the WINDOW_GRID x WINDOW_GRID half-size windows of the
        detection-resolution ``luma`` (``white`` its whitened version)."""
        # Large images: the windows are searched at a reduced resolution (their short side about
        # WINDOW_SIDE), 4 times fewer pixels at 1024²; what they are for (a picture pasted at half
        # scale, a perspective warp) keeps tiles well above the finest period there.
        reduce = max(1, min(luma.shape) // 2 // WINDOW_SIDE)
        if reduce > 1:
            small = (luma.shape[1] // reduce, luma.shape[0] // reduce)
            white = whiten(np.asarray(cv2.resize(luma, small, interpolation=cv2.INTER_AREA), np.float32))
            factor *= reduce
        h, w = white.shape
        wh, ww = h // 2, w // 2
        if min(wh, ww) * factor < MIN_DETECT_SIZE:
            return []
        out = []
        for i in range(WINDOW_GRID):
            for j in range(WINDOW_GRID):
                top, left = i * (h - wh) // (WINDOW_GRID - 1), j * (w - ww) // (WINDOW_GRID - 1)
                window = np.ascontiguousarray(white[top : top + wh, left : left + ww])
                out += self._search(
                    window, factor, trials=IMAGE_HYPOTHESES, decode=1, lattices_at_most=WINDOW_LATTICES
                )
        return out

    def _identity(self, white: FloatArray, height: int, width: int, factor: int) -> _Candidate | None:
        """The aperiodic layer decoded at the identity geometry (the image as embedded, or cropped at
        its right or bottom edge), or None when its chips do not map onto whole detection pixels."""
        period = embed_period(height, width)
        chip = chip_size(period)
        if chip % factor:
            return None
        soft = self._aperiodic.soft_bits(white, chip // factor)
        norm = float(np.linalg.norm(soft))
        if norm <= 0:
            return None
        word = ecc.viterbi_decode(soft[None, :])[0] ^ self._mask
        payload = ecc.bits_to_int(word[: ecc.PAYLOAD_BITS])
        expected = ecc.check_bits(self._mac_key, payload)
        d = int(np.count_nonzero(word[ecc.PAYLOAD_BITS :] != expected))
        fa = min(1.0, IMAGE_HYPOTHESES * ecc.binomial_cdf_half(d, ecc.CHECK_BITS))
        symbols = 1.0 - 2.0 * self._codeword(payload).astype(np.float32)
        score = float(np.dot(soft, symbols)) / norm  # about sqrt(CODED_BITS) when all bits agree
        geometry = np.diag([float(period), float(period)])
        return _Candidate(score, d, fa, payload, soft, geometry)

    def _search(
        self,
        white: FloatArray,
        factor: float = 1.0,
        power: FloatArray | None = None,
        trials: int = DECODE_TRIALS,
        decode: int = DECODE_TRIALS,
        lattices_at_most: int | None = None,
    ) -> list[_Candidate]:
        """Geometry search and decoding on a whitened luma (see :func:`.geometry.whiten`).

        ``factor`` maps its pixels back to the caller's (geometry is reported in those units).
        Also used by :mod:`.frames` on the sum of many whitened frames, with ``power`` the sum of
        their power spectra for the lattice search. ``trials``: the number of hypotheses the
        caller decodes in all (the union bound's factor for the false-alarm probability);
        ``decode``: how many of them this search decodes (the best by sync score);
        ``lattices_at_most``: fold only the first lattices found (the most plausible).
        """
        half: FloatArray | None = None
        found: list[tuple[float, npt.NDArray[np.complex128], float, float, npt.NDArray[np.float64]]] = []
        lattices = lattice_candidates(white)
        if power is not None:  # then also the lattices seen in the summed spectra
            lattices = itertools.chain(lattices, lattice_candidates(white, power=power))
        if lattices_at_most is not None:
            lattices = itertools.islice(lattices, lattices_at_most)
        for basis in lattices:
            if np.sqrt(abs(np.linalg.det(basis))) >= COARSE_FOLD_PERIOD:
                # Large tiles: fold the half-size image (4 times fewer pixels). The watermark band
                # (<= 16 cycles per tile) is well inside its Nyquist limit and the image noise
                # above it, which the folding would average out anyway, is what the 2x2 box drops.
                if half is None:
                    size = (white.shape[1] // 2, white.shape[0] // 2)
                    half = np.asarray(cv2.resize(white, size, interpolation=cv2.INTER_AREA), np.float32)
                folded = fold(half, basis / 2, FOLD)
            else:
                folded = fold(white, basis, FOLD)
            if not np.any(folded):
                continue
            for k in range(8):
                spectrum = np.fft.fft2(_dihedral(folded, k))
                corr = np.fft.ifft2(spectrum * self._sync_spectrum).real
                std = float(corr.std())
                if std <= 0:
                    continue
                sy, sx = divmod(int(corr.argmax()), FOLD)
                z = (float(corr[sy, sx]) - float(corr.mean())) / std
                dy, dx = self._subbin(corr, sy, sx)
                found.append((z, spectrum, sy + dy, sx + dx, basis @ _DIHEDRAL_MATRICES[k] * factor))
            if found and max(item[0] for item in found) >= CONFIDENT_SYNC:
                break  # the lattice is found; the remaining candidates would only rank lower
        if not found:
            return []
        found.sort(key=lambda item: -item[0])
        chosen = found[:decode]
        aligned = np.stack([self._shift(spectrum, sy, sx).ravel() for _, spectrum, sy, sx, _ in chosen])
        soft = aligned @ self._bit_filters.T
        words = ecc.viterbi_decode(soft) ^ self._mask
        out = []
        for (z, *_, geometry), word, reading in zip(chosen, words, soft, strict=True):
            payload = ecc.bits_to_int(word[: ecc.PAYLOAD_BITS])
            expected = ecc.check_bits(self._mac_key, payload)
            d = int(np.count_nonzero(word[ecc.PAYLOAD_BITS :] != expected))
            fa = min(1.0, trials * ecc.binomial_cdf_half(d, ecc.CHECK_BITS))
            out.append(_Candidate(z, d, fa, payload, reading, geometry))
        return out

    @staticmethod
    def _subbin(corr: npt.NDArray[np.float64], sy: int, sx: int) -> tuple[float, float]:
        """Parabolic sub-bin offset of the cyclic correlation peak."""

        def vertex(lo: float, mid: float, hi: float) -> float:
            den = lo - 2 * mid + hi
            return float(np.clip(0.5 * (lo - hi) / den, -0.5, 0.5)) if den < 0 else 0.0

        c = float(corr[sy, sx])
        dy = vertex(float(corr[sy - 1, sx]), c, float(corr[(sy + 1) % FOLD, sx]))
        dx = vertex(float(corr[sy, sx - 1]), c, float(corr[sy, (sx + 1) % FOLD]))
        return dy, dx

    @staticmethod
    def _shift(spectrum: npt.NDArray[np.complex128], sy: float, sx: float) -> FloatArray:
        """Cyclically shift a tile (given by its spectrum) by (-sy, -sx) bins, sub-bin exact."""
        freq = np.fft.fftfreq(FOLD)
        phase = np.exp(2j * np.pi * (freq[:, None] * sy + freq[None, :] * sx))
        return np.asarray(np.fft.ifft2(spectrum * phase).real, dtype=np.float32)


def _describe(geometry: npt.NDArray[np.float64]) -> dict[str, Any]:
    """Period, rotation and mirror of the map from tile (col, row) units to image (x, y) pixels."""
    mirrored = bool(np.linalg.det(geometry) < 0)
    proper = geometry @ np.diag([-1.0, 1.0]) if mirrored else geometry
    angle = math.degrees(math.atan2(proper[1, 0], proper[0, 0]))
    return {
        "tile_period": float(math.sqrt(abs(np.linalg.det(geometry)))),
        "rotation_degrees": angle,
        "mirrored": mirrored,
    }
