"""Geometry recovery: find the tile lattice in a (possibly attacked) image and fold the tiles.

Because the watermark is one tile repeated on a square lattice, its autocorrelation has peaks on
that lattice whatever scaling, rotation, shift or crop the image went through. The detector:

1. high-passes the luma and divides by the local RMS (:func:`whiten`) so that image content,
   edges and the black corners left by a rotation weigh about as much as the watermark noise;
2. computes the autocorrelation by FFT (Wiener-Khinchin) with a compressed power spectrum
   (square root of the magnitude) so that strong image frequencies do not drown the lattice lines;
3. takes the strongest local maxima in an annulus of plausible periods as candidate first basis
   vectors, completes each with the peak near its 90-degree rotation, and refines the basis by
   weighted least squares over every lattice peak it can find (far peaks pin the period down to a
   small fraction of a pixel, which matters when hundreds of tiles are folded);
4. folds the whitened image modulo the lattice into ``FOLD x FOLD`` bins (:func:`fold`).

What the lattice cannot tell (which basis vector is which, their signs, a mirror, and the shift of
the tile inside a period) is resolved afterwards by the keyed sync template in :mod:`.codec`.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import scipy.fft

FloatArray = npt.NDArray[np.float32]
Basis = npt.NDArray[np.float64]  # 2x2, columns are the lattice vectors in (x, y) pixel units

MIN_PERIOD = 22.0
MAX_PERIOD = 320.0  # 128-px tiles enlarged 2.5 times
PEAK_CANDIDATES = 16
SPECTRAL_SMOOTHING = 4.0
FINEST_FRACTION = 0.7


def whiten(luma: FloatArray) -> FloatArray:
    """High-pass residual normalised by its local RMS and clipped: roughly white, unit variance."""
    residual = luma - cv2.GaussianBlur(luma, (0, 0), 2.0)
    # Box filter: constant time per pixel, and the exact shape of the window does not matter here.
    local = np.sqrt(np.maximum(cv2.boxFilter(residual * residual, -1, (17, 17)), 0.0))
    out = residual / (local + 1.5)
    np.clip(out, -4.0, 4.0, out=out)
    return np.asarray(out, dtype=np.float32)


def _autocorrelation(white: FloatArray) -> FloatArray:
    spectrum = scipy.fft.rfft2(white, workers=-1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    # Divide by the local spectral level: the lattice shows as isolated lines, whereas image content
    # (edges, stripes, JPEG-free texture) is smooth in frequency; this turns anisotropic image
    # structure, which would otherwise leave ridges in the autocorrelation, into flat noise.
    level = cv2.GaussianBlur(power, (0, 0), SPECTRAL_SMOOTHING)
    power /= level + 1e-6 * float(level.mean()) + 1e-20
    power[0, 0] = 0.0
    ac = scipy.fft.irfft2(power, s=white.shape, workers=-1)
    ac = np.fft.fftshift(ac)
    return np.asarray(ac / (np.abs(ac).max() + 1e-12), dtype=np.float32)


def _peak_at(
    ac: FloatArray, points: npt.NDArray[np.float64], radius: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Sub-pixel location and height of the maximum of ``ac`` near each (x, y) lag."""
    h, w = ac.shape
    cy, cx = h // 2, w // 2
    px = np.rint(points[:, 0]).astype(np.int64) + cx
    py = np.rint(points[:, 1]).astype(np.int64) + cy
    offs = np.arange(-radius, radius + 1)
    size = (len(points), offs.size, offs.size)
    wy = np.broadcast_to(np.clip(py[:, None, None] + offs[None, :, None], 1, h - 2), size)
    wx = np.broadcast_to(np.clip(px[:, None, None] + offs[None, None, :], 1, w - 2), size)
    windows = ac[wy, wx].reshape(len(points), -1)
    best = windows.argmax(axis=1)
    by = wy.reshape(len(points), -1)[np.arange(len(points)), best]
    bx = wx.reshape(len(points), -1)[np.arange(len(points)), best]
    c = ac[by, bx].astype(np.float64)

    def vertex(lo: npt.NDArray[np.float32], hi: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        den = lo.astype(np.float64) - 2.0 * c + hi
        return np.where(den < 0, 0.5 * (lo - hi) / np.where(den < 0, den, -1.0), 0.0)

    sx = np.clip(vertex(ac[by, bx - 1], ac[by, bx + 1]), -0.5, 0.5)
    sy = np.clip(vertex(ac[by - 1, bx], ac[by + 1, bx]), -0.5, 0.5)
    found = np.stack([bx - cx + sx, by - cy + sy], axis=1)
    return found, c


def _refine(ac: FloatArray, basis: Basis, max_lag: float) -> tuple[Basis, float]:
    """Weighted least-squares fit of the basis to the lattice peaks, growing outwards."""
    score = 0.0
    for reach in (2, 4, 8, 16):
        period = float(np.sqrt(abs(np.linalg.det(basis))))
        k = min(reach, int(max_lag / period) + 1)
        a, b = np.meshgrid(np.arange(-k, k + 1), np.arange(0, k + 1))
        n = np.stack([a.ravel(), b.ravel()], axis=1).astype(np.float64)
        n = n[(n[:, 1] > 0) | (n[:, 0] > 0)]
        pred = n @ basis.T
        keep = np.hypot(pred[:, 0], pred[:, 1]) <= max_lag
        if keep.sum() < 2:
            break
        n, pred = n[keep], pred[keep]
        found, height = _peak_at(ac, pred, max(1, round(period * 0.06)))
        weight = np.clip(height, 0.0, None)
        if weight.sum() <= 0:
            return basis, 0.0
        sw = np.sqrt(weight)[:, None]
        solution, *_ = np.linalg.lstsq(n * sw, found * sw, rcond=None)
        basis = np.asarray(solution.T, dtype=np.float64)
        score = float(np.mean(height))
        if k < reach:
            break
    return basis, score


def lattice_candidates(white: FloatArray, max_candidates: int = 4) -> list[Basis]:
    """Most plausible tile lattices of the whitened image, best first."""
    h, w = white.shape
    max_period = min(0.5 * min(h, w), MAX_PERIOD)
    if max_period < MIN_PERIOD:
        return []
    ac = _autocorrelation(white)
    cy, cx = h // 2, w // 2
    r = min(int(max_period) + 2, min(cy, cx) - 1)
    window = ac[cy - r + 1 : cy + r, cx - r + 1 : cx + r]
    yy, xx = np.mgrid[-r + 1 : r, -r + 1 : r]
    radius = np.hypot(xx, yy)
    half = (yy > 0) | ((yy == 0) & (xx > 0))
    zone = half & (radius >= MIN_PERIOD) & (radius <= max_period)
    is_peak = (cv2.dilate(window, np.ones((7, 7), np.uint8)) == window) & zone
    values = window[is_peak]
    order = np.argsort(values)[::-1][:PEAK_CANDIDATES]
    peaks = np.stack([xx[is_peak][order], yy[is_peak][order]], axis=1).astype(np.float64)
    if len(peaks) == 0:
        return []
    # Every lattice point is a peak, so a peak may be a multiple or a diagonal of the basis vector:
    # also try halves. Square-lattice hypotheses (v, v rotated by 90 degrees) are then ranked by how
    # much higher the autocorrelation is on their lattice points than half-way between them, which
    # penalises both sub-lattices (their half-way points are true peaks) and spurious fine lattices.
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])
    proposals = np.concatenate([peaks, peaks / 2, (peaks + peaks @ rot.T) / 2, (peaks - peaks @ rot.T) / 2])
    lengths = np.hypot(proposals[:, 0], proposals[:, 1])
    proposals = proposals[(lengths >= MIN_PERIOD) & (lengths <= max_period)]
    max_lag = 0.45 * min(h, w)
    bases = [np.stack([v, rot @ v], axis=1) for v in proposals]
    stats = np.array([_lattice_stats(ac, basis, max_lag) for basis in bases]).reshape(-1, 2)
    if len(bases) == 0:
        return []
    on_mean, contrast = stats[:, 0], stats[:, 1]
    # Candidate order: the finest lattice whose points are nearly as high as the best lattice's
    # (a sub-lattice is never finer than the true one), then the others by contrast.
    areas = np.array([abs(np.linalg.det(b)) for b in bases])
    qualified = np.flatnonzero((on_mean >= FINEST_FRACTION * on_mean.max()) & (contrast > 0))
    first = [int(qualified[np.argmin(areas[qualified])])] if len(qualified) else []
    found: list[Basis] = []
    for i in [*first, *np.argsort(contrast)[::-1].tolist()]:
        if len(found) >= max_candidates or contrast[i] <= 0:
            break
        basis = bases[i]
        if any(_contains(other, basis) for other in found):
            continue
        basis, _ = _refine(ac, basis, max_lag)
        if not np.all(np.isfinite(basis)) or abs(np.linalg.det(basis)) < MIN_PERIOD**2:
            continue
        if any(_contains(other, basis) for other in found):
            continue
        found.append(basis)
    return found


_ON = np.array([(a, b) for a in range(-3, 4) for b in range(0, 4) if b > 0 or a > 0], float)
_OFF = np.concatenate([_ON + np.array(half) for half in ((0.5, 0.0), (0.0, 0.5), (0.5, 0.5))])


def _lattice_stats(ac: FloatArray, basis: Basis, max_lag: float) -> tuple[float, float]:
    """Mean autocorrelation on the lattice points, and that minus the mean half-way between them."""
    on = _ON @ basis.T
    off = _OFF @ basis.T
    on = on[np.hypot(on[:, 0], on[:, 1]) <= max_lag]
    off = off[np.hypot(off[:, 0], off[:, 1]) <= max_lag]
    if len(on) < 2 or len(off) < 2:
        return -1.0, -1.0
    radius = max(1, round(0.03 * float(np.hypot(*basis[:, 0]))))
    on_mean = float(_peak_at(ac, on, radius)[1].mean())
    return on_mean, on_mean - float(_peak_at(ac, off, radius)[1].mean())


def _contains(a: Basis, b: Basis) -> bool:
    """True when lattice b is (nearly) a sub-lattice of lattice a (or the same lattice)."""
    m = np.linalg.solve(a, b)
    return bool(np.allclose(m, np.rint(m), atol=0.08))


def fold(white: FloatArray, basis: Basis, bins: int) -> FloatArray:
    """Average of the whitened image over all tiles, in ``bins x bins`` cells of a lattice cell."""
    h, w = white.shape
    inv = np.linalg.inv(basis).astype(np.float32)
    x = np.arange(w, dtype=np.float32)[None, :]
    y = np.arange(h, dtype=np.float32)[:, None]
    t1 = inv[0, 0] * x + inv[0, 1] * y
    t2 = inv[1, 0] * x + inv[1, 1] * y
    t1 -= np.floor(t1)
    t2 -= np.floor(t2)
    col = np.minimum((t1 * bins).astype(np.int32), bins - 1)
    row = np.minimum((t2 * bins).astype(np.int32), bins - 1)
    index = (row * bins + col).ravel()
    sums = np.bincount(index, weights=white.ravel(), minlength=bins * bins)
    counts = np.bincount(index, minlength=bins * bins)
    folded = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    return np.asarray(folded.reshape(bins, bins), dtype=np.float32)
