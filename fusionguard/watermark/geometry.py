"""Geometry recovery: find the tile lattice in a (possibly attacked) image and fold the tiles.

Because the watermark is one tile repeated on a square lattice, its autocorrelation has peaks on
that lattice whatever scaling, rotation, shift or crop the image went through. The detector:

1. high-passes the luma and divides by the local RMS (:func:`whiten`) so that image content,
   edges and the black corners left by a rotation weigh about as much as the watermark noise;
2. computes the autocorrelation by FFT (Wiener-Khinchin) with a compressed power spectrum
   (square root of the magnitude) so that strong image frequencies do not drown the lattice lines;
3. takes the strongest local maxima in an annulus of plausible periods as candidate first basis
   vectors, completes each with the peak near its 90-degree rotation (square lattices), and also
   pairs the strongest peaks into general lattices (an aspect change or shear makes the tiles
   parallelograms), reduces each basis (Lagrange-Gauss: shortest, most nearly orthogonal, which is
   how the tile was laid out) and refines it: a
   least-squares fit to the near peaks, then a pattern search maximising the autocorrelation
   summed over all lattice points within reach (far points pin the period down to a small
   fraction of a pixel, which matters when many tiles are folded; summing rather than picking
   each far peak keeps noise peaks from dragging the fit when the mark is weak);
4. adds the scale family of the best lattices (diagonal sub- and super-lattices, doubled and
   halved), since their autocorrelation scores can be confused; the sync score decides;
5. folds the whitened image modulo the lattice into ``FOLD x FOLD`` bins (:func:`fold`).

What the lattice cannot tell (which basis vector is which, their signs, a mirror, and the shift of
the tile inside a period) is resolved afterwards by the keyed sync template in :mod:`.codec`.
"""

from __future__ import annotations

from collections.abc import Iterator

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
AFFINE_PEAKS = 24  # strongest autocorrelation peaks: their halves and the shortest are paired
AFFINE_SHORTEST = 16  # into general lattices
AFFINE_CANDIDATES = 2  # general lattices tried after the square ones
FAMILY_OF = 2  # the best lattices whose scale family (_FAMILY) is also tried
# Bases of related lattices, relative to a found basis: the coarser diagonal lattice (every other
# point, period x sqrt 2), the doubled one, the finer diagonal one and the halved one.
_FAMILY = [
    np.array([[1.0, -1.0], [1.0, 1.0]]),
    np.array([[2.0, 0.0], [0.0, 2.0]]),
    np.array([[0.5, -0.5], [0.5, 0.5]]),
    np.array([[0.5, 0.0], [0.0, 0.5]]),
]


def whiten(luma: FloatArray) -> FloatArray:
    """High-pass residual normalised by its local RMS and clipped: roughly white, unit variance."""
    residual = luma - cv2.GaussianBlur(luma, (0, 0), 2.0)
    # Box filter: constant time per pixel, and the exact shape of the window does not matter here.
    local = np.sqrt(np.maximum(cv2.boxFilter(residual * residual, -1, (17, 17)), 0.0))
    out = residual / (local + 1.5)
    np.clip(out, -4.0, 4.0, out=out)
    return np.asarray(out, dtype=np.float32)


def power_spectrum(white: FloatArray) -> FloatArray:
    """|rfft2|^2 of a whitened image (what the autocorrelation is computed from)."""
    spectrum = scipy.fft.rfft2(white, workers=-1)
    return np.asarray(spectrum.real**2 + spectrum.imag**2, dtype=np.float32)


def _autocorrelation(white: FloatArray, power: FloatArray | None = None) -> FloatArray:
    power = power_spectrum(white) if power is None else power.copy()
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


_STENCIL = np.stack(np.meshgrid(*[np.arange(-1.0, 2.0)] * 4, indexing="ij"), axis=-1).reshape(-1, 4)
_CENTRE = len(_STENCIL) // 2


def _lattice_points(basis: Basis, reach: int, max_lag: float) -> npt.NDArray[np.float64]:
    """Integer coordinates of the lattice points in a half plane within ``max_lag`` of the origin."""
    a, b = np.meshgrid(np.arange(-reach, reach + 1), np.arange(0, reach + 1))
    n = np.stack([a.ravel(), b.ravel()], axis=1).astype(np.float64)
    n = n[(n[:, 1] > 0) | (n[:, 0] > 0)]
    pred = n @ basis.T
    return n[np.hypot(pred[:, 0], pred[:, 1]) <= max_lag]


class _Surface:
    """The autocorrelation near the origin, smoothed at a few scales (computed once, on demand)."""

    def __init__(self, ac: FloatArray, max_lag: float) -> None:
        h, w = ac.shape
        cy, cx = h // 2, w // 2
        r = min(int(max_lag) + 8, cy - 1, cx - 1)
        self.window = np.ascontiguousarray(ac[cy - r : cy + r + 1, cx - r : cx + r + 1])
        self.origin = float(r)
        self.size = (float(h), float(w))
        self._smooth: dict[float, FloatArray] = {}

    def smooth(self, sigma: float) -> FloatArray:
        if sigma not in self._smooth:
            self._smooth[sigma] = np.asarray(cv2.GaussianBlur(self.window, (0, 0), sigma), np.float32)
        return self._smooth[sigma]


def _fit_peaks(ac: FloatArray, basis: Basis, max_lag: float) -> Basis:
    """Least-squares fit of the basis to the peaks found near the nearest lattice points."""
    for reach in (2, 4):
        n = _lattice_points(basis, reach, max_lag)
        if len(n) < 2:
            break
        period = float(np.sqrt(abs(np.linalg.det(basis))))
        found, height = _peak_at(ac, n @ basis.T, max(1, round(period * 0.06)))
        weight = np.clip(height, 0.0, None)
        if weight.sum() <= 0:
            break
        sw = np.sqrt(weight)[:, None]
        solution, *_ = np.linalg.lstsq(n * sw, found * sw, rcond=None)
        basis = np.asarray(solution.T, dtype=np.float64)
    return basis


def _refine(surface: _Surface, basis: Basis, max_lag: float) -> tuple[Basis, float]:
    """Fit the basis to the lattice, finally by maximising the autocorrelation summed over its points.

    Picking each peak separately and fitting them by least squares fails when the far peaks are
    barely above the noise (small or recompressed images): the maximum of a noisy window is then
    a noise sample that drags the fit off by a good fraction of a pixel, enough to blur the fold.
    So after a least-squares fit to the (strong) peaks near the origin (:func:`_fit_peaks`), the
    (smoothed) autocorrelation summed over the lattice points weighs them all together, close to a
    matched estimate. It is maximised by a pattern search over the four basis entries (all 81 moves of the
    3x3x3x3 stencil evaluated at once, step halved when no move improves), coarse to fine: first on
    the nearest lattice points and a smoother autocorrelation (wide basin), then reaching further
    out, where the sum pins the period down to a small fraction of a pixel.
    """
    h, w = surface.size
    basis = _fit_peaks(surface.window, basis, max_lag)
    score = 0.0
    step = 0.5
    for reach, sigma, min_step in ((4, 1.0, 0.06), (8, 0.7, 0.03), (16, 0.7, 0.015)):
        smooth = surface.smooth(sigma)
        n = _lattice_points(basis, reach, max_lag)
        if len(n) < 2:
            break
        for _ in range(40):
            trial = basis.ravel()[None, :] + step * _STENCIL
            # px[t, i], py[t, i]: lag of lattice point n[i] under trial basis t.
            px = trial[:, None, 0] * n[None, :, 0] + trial[:, None, 1] * n[None, :, 1]
            py = trial[:, None, 2] * n[None, :, 0] + trial[:, None, 3] * n[None, :, 1]
            values = cv2.remap(
                smooth,
                (px + surface.origin).astype(np.float32),
                (py + surface.origin).astype(np.float32),
                cv2.INTER_CUBIC,
                borderMode=cv2.BORDER_CONSTANT,
            )
            # Circular autocorrelation: the coherent part of a lag shrinks with the overlap.
            weight = np.clip(1 - np.abs(px) / w, 0, 1) * np.clip(1 - np.abs(py) / h, 0, 1)
            totals = np.sum(values * weight, axis=1)
            best = int(np.argmax(totals))
            score = float(totals[best]) / len(n)
            if best != _CENTRE:
                basis = trial[best].reshape(2, 2)
            elif step <= min_step:
                break
            else:
                step /= 2
        step = 2 * min_step
    return basis, score


def lattice_candidates(
    white: FloatArray, max_candidates: int = 4, power: FloatArray | None = None
) -> Iterator[Basis]:
    """Most plausible tile lattices of the whitened image, best first, then their scale family.

    A generator: each lattice is refined when it is asked for, so a caller that has found the
    watermark can stop early. ``power``: the power spectrum to take the autocorrelation from
    (default: that of ``white``); :mod:`.frames` passes the sum of many frames' spectra.
    """
    h, w = white.shape
    max_period = min(0.5 * min(h, w), MAX_PERIOD)
    if max_period < MIN_PERIOD:
        return
    ac = _autocorrelation(white, power)
    cy, cx = h // 2, w // 2
    r = min(int(max_period) + 2, min(cy, cx) - 1)
    window = ac[cy - r + 1 : cy + r, cx - r + 1 : cx + r]
    yy, xx = np.mgrid[-r + 1 : r, -r + 1 : r]
    radius = np.hypot(xx, yy)
    half = (yy > 0) | ((yy == 0) & (xx > 0))
    zone = half & (radius >= MIN_PERIOD) & (radius <= max_period)
    is_peak = (cv2.dilate(window, np.ones((7, 7), np.uint8)) == window) & zone
    # Every peak as (x, y), strongest first.
    ranked = np.stack([xx[is_peak], yy[is_peak]], axis=1)[np.argsort(window[is_peak])[::-1]]
    peaks = ranked[:PEAK_CANDIDATES].astype(np.float64)
    if len(peaks) == 0:
        return
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
    if len(bases) == 0:
        return
    surface = _Surface(ac, max_lag)
    on_mean, contrast = _lattice_stats(surface, bases, max_lag)
    # Candidate order: the finest lattice whose points are nearly as high as the best lattice's
    # (a sub-lattice is never finer than the true one), then the others by contrast.
    areas = np.array([abs(np.linalg.det(b)) for b in bases])
    qualified = np.flatnonzero((on_mean >= FINEST_FRACTION * on_mean.max()) & (contrast > 0))
    first = [int(qualified[np.argmin(areas[qualified])])] if len(qualified) else []
    found: list[Basis] = []

    def add(basis: Basis) -> bool:
        if any(_same(other, basis) for other in found):
            return False
        basis, _ = _refine(surface, _reduce(basis), max_lag)
        basis = _reduce(basis)
        period = float(np.sqrt(abs(np.linalg.det(basis))))
        if not np.all(np.isfinite(basis)) or not MIN_PERIOD <= period <= max_period:
            return False
        if any(_same(other, basis) for other in found):
            return False
        found.append(basis)
        return True

    for i in [*first, *np.argsort(contrast)[::-1].tolist()]:
        if len(found) >= max_candidates or contrast[i] <= 0:
            break
        if add(bases[i]):
            yield found[-1]
    # General (affine) lattices: an image stretched in one direction (aspect-ratio change, a
    # shear) has tiles that are no longer square, so the 90-degree completion above misses the
    # second basis vector. Pairs of the strongest peaks (and their halves) span those lattices.
    strong = ranked[:AFFINE_PEAKS].astype(np.float64)
    affine = _pair_bases(np.concatenate([strong, strong / 2]), max_period)
    general: list[Basis] = []
    if affine:
        _, pair_contrast = _lattice_stats(surface, affine, max_lag)
        for i in np.argsort(pair_contrast)[::-1].tolist():
            if len(general) >= AFFINE_CANDIDATES or pair_contrast[i] <= 0:
                break
            if add(affine[i]):
                general.append(found[-1])
                yield found[-1]
    # The autocorrelation cannot always tell the lattice from its neighbours in the scale family:
    # a lattice with the half-way (diagonal) points added, or with every other point removed, can
    # score as high when the watermark is weak. Their sync scores at folding decide; add them.
    for basis in [*found[:FAMILY_OF], *general[:1]]:
        for relative in _FAMILY:
            if add(basis @ relative):
                yield found[-1]


def _reduce(basis: Basis) -> Basis:
    """The Lagrange-Gauss reduced basis of the same lattice (shortest, most nearly orthogonal).

    Folding modulo a lattice gives the embedded tile only for the basis it was embedded on (up to
    the 8 dihedral orientations the sync search tries): another basis of the same lattice, such as
    (a, b - a), shears the folded tile. The embedded basis is orthogonal, and an aspect change,
    rotation or mild shear keeps it the reduced one."""
    a, b = basis[:, 0].copy(), basis[:, 1].copy()
    for _ in range(16):
        if a @ a > b @ b:
            a, b = b, a
        m = round(float(a @ b) / float(a @ a))
        if m == 0:
            break
        b = b - m * a
    if a[0] * b[1] - a[1] * b[0] < 0:
        b = -b
    return np.stack([a, b], axis=1)


def _pair_bases(vectors: npt.NDArray[np.float64], max_period: float) -> list[Basis]:
    """Bases made of two of ``vectors`` (a reduced, right-handed pair of plausible tile sides).

    Kept: both sides of plausible length, at 45 to 135 degrees to each other and at most twice as
    long as each other (an aspect change of 2x or a shear of 45 degrees at most)."""
    lengths = np.hypot(vectors[:, 0], vectors[:, 1])
    keep = (lengths >= MIN_PERIOD) & (lengths <= max_period)
    shortest = np.argsort(lengths[keep])[:AFFINE_SHORTEST]
    vectors, lengths = vectors[keep][shortest], lengths[keep][shortest]
    out: list[Basis] = []
    for i in range(len(vectors)):
        for j in range(i + 1, len(vectors)):
            a, b = vectors[i], vectors[j]
            la, lb = float(lengths[i]), float(lengths[j])
            cross = float(a[0] * b[1] - a[1] * b[0])
            if abs(cross) < 0.7071 * la * lb or max(la, lb) > 2 * min(la, lb):
                continue
            out.append(np.stack([a, b] if cross > 0 else [b, a], axis=1))
    return out


_ON = np.array([(a, b) for a in range(-3, 4) for b in range(0, 4) if b > 0 or a > 0], float)
_OFF = np.concatenate([_ON + np.array(half) for half in ((0.5, 0.0), (0.0, 0.5), (0.5, 0.5))])


def _lattice_stats(
    surface: _Surface, bases: list[Basis], max_lag: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per basis: mean autocorrelation on the lattice points, and that minus the mean half-way.

    The autocorrelation at a point is its maximum within about 3% of the period (a dilation,
    computed once per radius), so that a basis a little off still scores its peaks.
    """
    on_mean = np.full(len(bases), -1.0)
    contrast = np.full(len(bases), -1.0)
    dilated: dict[int, FloatArray] = {}
    size = surface.window.shape[0]

    def height(image: FloatArray, points: npt.NDArray[np.float64]) -> float:
        idx = np.clip(np.rint(points + surface.origin).astype(np.int64), 0, size - 1)
        return float(image[idx[:, 1], idx[:, 0]].mean())

    for i, basis in enumerate(bases):
        on = _ON @ basis.T
        off = _OFF @ basis.T
        on = on[np.hypot(on[:, 0], on[:, 1]) <= max_lag]
        off = off[np.hypot(off[:, 0], off[:, 1]) <= max_lag]
        if len(on) < 2 or len(off) < 2:
            continue
        # 3% of the period, rounded to a power of two (fewer dilations to compute).
        radius = 1 << max(0, round(np.log2(max(1.0, 0.03 * float(np.hypot(*basis[:, 0]))))))
        if radius not in dilated:
            kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
            dilated[radius] = np.asarray(cv2.dilate(surface.window, kernel), np.float32)
        on_mean[i] = height(dilated[radius], on)
        contrast[i] = on_mean[i] - height(dilated[radius], off)
    return on_mean, contrast


def _same(a: Basis, b: Basis) -> bool:
    """True when bases a and b (nearly) span the same lattice."""
    m = np.linalg.solve(a, b)
    return bool(np.allclose(m, np.rint(m), atol=0.08) and abs(abs(np.linalg.det(m)) - 1) < 0.2)


def fold(white: FloatArray, basis: Basis, bins: int) -> FloatArray:
    """Average of the whitened image over all tiles, in ``bins x bins`` cells of a lattice cell.

    ``bins`` must be a power of two (the bin index is taken modulo ``bins`` by a bit mask).
    """
    h, w = white.shape
    inv = (np.linalg.inv(basis) * bins).astype(np.float32)
    x = np.arange(w, dtype=np.float32)
    y = np.arange(h, dtype=np.float32)[:, None]
    index = np.zeros((h, w), dtype=np.int32)
    for axis in (1, 0):  # row bin, then column bin
        coord = (inv[axis, 0] * x)[None, :] + inv[axis, 1] * y
        np.floor(coord, out=coord)
        index *= bins
        index |= coord.astype(np.int32) & (bins - 1)
    flat = index.ravel()
    sums = np.bincount(flat, weights=white.ravel(), minlength=bins * bins)
    counts = np.bincount(flat, minlength=bins * bins).astype(np.float64)
    sums, counts = sums.reshape(bins, bins), counts.reshape(bins, bins)
    folded = sums / np.maximum(counts, 1)
    empty = counts == 0
    if np.any(empty) and not np.all(empty):
        # Tiles smaller than bins x bins pixels leave bins empty (a period of exactly 32 px fills
        # only one in four). Fill them from the 3x3 neighbourhood (normalised convolution, cyclic)
        # rather than with zeros, which would alias the tile in the sync and bit correlations.
        near_sums = sum(np.roll(sums, (dy, dx), (0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        near_counts = sum(np.roll(counts, (dy, dx), (0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        filled = near_sums / np.maximum(near_counts, 1)
        folded = np.where(empty, filled, folded)
    return np.asarray(folded, dtype=np.float32)
