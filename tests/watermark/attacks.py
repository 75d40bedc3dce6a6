"""Key-less attacks on the watermark, written from the public algorithm only (Kerckhoffs).

Used by tests/watermark/test_security.py (small scale) and bench/watermark/security.py (the
measured table). None of them touches the key or the codec's private state: they use only what the
code publishes to anyone (:func:`~fusionguard.watermark.codec.embed_period`, the perceptual gain
map, the tile's band limits), as an attacker with the source code would.

* :func:`fold_estimate` -- the mark estimated from marked images: the band-passed luma folded
  modulo the tile period (the period follows from the image size), weighted by the public gain map
  and by the inverse local content variance, then restricted to the band the tile occupies. With
  one image this is the single-image *folding* attack; summed over many outputs of the same size it
  is the *averaging* attack (content cancels, the pattern shared by all outputs stays).
* :func:`subtract` -- removal: the estimate, shaped by the attacked image's gain map, subtracted.
* :func:`residual_copy` / :func:`folded_copy` -- Kutter's copy attack onto an innocent photo.
* :func:`collude_average` / :func:`collude_mosaic` -- collusion of differently-marked copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from fusionguard.watermark.codec import TARGET_RMS, embed_period
from fusionguard.watermark.masking import gain_map, luminance
from fusionguard.watermark.pattern import CHIPS, LOW_CUT

Image8 = npt.NDArray[np.uint8]
Float = npt.NDArray[np.float64]


def psnr(a: Image8, b: Image8) -> float:
    """Peak signal-to-noise ratio in dB between two uint8 images of one shape."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def _band_pass(luma: Float, period: int) -> tuple[Float, float]:
    """Luma minus a Gaussian blur of period/8, and the blur's sigma (for the response correction)."""
    sigma = period / 8.0
    return luma - cv2.GaussianBlur(luma, (0, 0), sigma), sigma


@dataclass
class FoldAccumulator:
    """Weighted sums of many marked images folded modulo one tile period (same-size images)."""

    period: int
    numerator: Float
    denominator: Float
    images: int = 0

    @classmethod
    def empty(cls, period: int) -> FoldAccumulator:
        return cls(period, np.zeros((period, period)), np.zeros((period, period)))

    def add(self, marked: Image8) -> None:
        """Fold one marked image in: least squares of ``residual = gain * tile + content``."""
        p = self.period
        luma = luminance(marked).astype(np.float64)
        residual, _ = _band_pass(luma, p)
        gain = gain_map(luma.astype(np.float32)).astype(np.float64)
        # Content residual variance (local): weigh quiet areas, where the mark dominates, more.
        variance = cv2.boxFilter(residual * residual, -1, (17, 17)) + 1.0
        num, den = residual * gain / variance, gain * gain / variance
        h, w = luma.shape
        ny, nx = -(-h // p), -(-w // p)
        for source, target in ((num, self.numerator), (den, self.denominator)):
            padded = np.zeros((ny * p, nx * p))
            padded[:h, :w] = source
            target += padded.reshape(ny, p, nx, p).sum(axis=(0, 2))
        self.images += 1

    def tile(self) -> Float:
        """The estimated unit-gain tile, band-limited to the watermark band, response-corrected."""
        p = self.period
        raw = self.numerator / np.maximum(self.denominator, 1e-12)
        spectrum = np.fft.fft2(raw)
        freq = np.fft.fftfreq(p) * p  # cycles per tile
        radius = np.hypot(freq[:, None], freq[None, :])
        inside = (np.abs(freq[:, None]) <= CHIPS / 2) & (np.abs(freq[None, :]) <= CHIPS / 2)
        keep = (radius >= LOW_CUT) & inside
        sigma = p / 8.0
        response = 1.0 - np.exp(-2.0 * np.pi**2 * sigma**2 * (radius / p) ** 2)
        spectrum = np.where(keep, spectrum / np.maximum(response, 0.2), 0.0)
        return np.asarray(np.fft.ifft2(spectrum).real, dtype=np.float64)


def fold_estimate(images: list[Image8]) -> Float:
    """The tile estimated from one or more marked images of one size (see the module docstring)."""
    h, w = images[0].shape[:2]
    acc = FoldAccumulator.empty(embed_period(h, w))
    for image in images:
        if image.shape[:2] != (h, w):
            raise ValueError("fold_estimate: all images must have one size")
        acc.add(image)
    return acc.tile()


def _pattern(tile: Float, shape: tuple[int, int], like: Image8) -> Float:
    """The tile repeated from the origin, shaped by the gain map of ``like``."""
    h, w = shape
    p = tile.shape[0]
    tiled = np.tile(tile, (-(-h // p), -(-w // p)))[:h, :w]
    return tiled * gain_map(luminance(like)).astype(np.float64)


def _add_luma(image: Image8, delta: Float) -> Image8:
    out = image.astype(np.float64) + (delta[..., None] if image.ndim == 3 else delta)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def subtract(marked: Image8, tile: Float, strength: float = 1.0) -> Image8:
    """Remove the estimated mark: ``strength`` times the tiled estimate, shaped, off every channel."""
    return _add_luma(marked, -strength * _pattern(tile, marked.shape[:2], marked))


def residual_copy(marked: Image8, innocent: Image8, sigma: float = 2.0) -> Image8:
    """Kutter's copy attack: marked minus its Gaussian blur, added to ``innocent`` (resized to fit)."""
    residual = marked.astype(np.float64) - cv2.GaussianBlur(marked, (0, 0), sigma).astype(np.float64)
    h, w = marked.shape[:2]
    cover = cv2.resize(innocent, (w, h), interpolation=cv2.INTER_AREA).astype(np.float64)
    return np.clip(np.rint(cover + residual), 0, 255).astype(np.uint8)


def folded_copy(marked: Image8, innocent: Image8) -> Image8:
    """The copy attack with the folded estimate: the tile, shaped by the innocent photo's gain map
    and scaled to the embedding strength (public ``TARGET_RMS``), added to it."""
    h, w = marked.shape[:2]
    cover = np.ascontiguousarray(cv2.resize(innocent, (w, h), interpolation=cv2.INTER_AREA), np.uint8)
    pattern = _pattern(fold_estimate([marked]), (h, w), cover)
    pattern *= TARGET_RMS / (float(np.sqrt(np.mean(pattern * pattern))) + 1e-12)
    return _add_luma(cover, pattern)


def collude_average(copies: list[Image8]) -> Image8:
    """Pixel average of differently-marked copies of one image."""
    mean = np.mean(np.stack([c.astype(np.float64) for c in copies]), axis=0)
    return np.asarray(np.clip(np.rint(mean), 0, 255), np.uint8)


def collude_mosaic(copies: list[Image8], rng: np.random.Generator, block: int = 32) -> Image8:
    """Each ``block``-px square taken from a randomly chosen copy (cut-and-paste collusion)."""
    out = copies[0].copy()
    h, w = out.shape[:2]
    for y in range(0, h, block):
        for x in range(0, w, block):
            pick = copies[int(rng.integers(len(copies)))]
            out[y : y + block, x : x + block] = pick[y : y + block, x : x + block]
    return out
