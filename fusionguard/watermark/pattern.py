"""Keyed tile pattern: the periodic spread-spectrum carrier of the watermark.

The watermark is one square tile repeated over the whole image. The tile is a ``CHIPS x CHIPS`` grid
of +-1 chips, band-limited by Fourier interpolation to whatever pixel period is needed:

* ``SYNC_CHIPS`` chips carry a keyed template (independent of the payload). At detection the folded
  tile is cross-correlated with it to recover the cyclic shift and the dihedral symmetry (rotation
  by multiples of 90 degrees, mirror) that the lattice estimate leaves open.
* the other chips carry the ``CODED_BITS`` convolutional-code bits, each spread over two or three
  chips at keyed positions and multiplied by keyed signs (spread spectrum), so that image content,
  which does not know the key, adds zero-mean noise to every soft bit.

Spatial frequencies below ``LOW_CUT`` cycles per tile are removed: they would be masked by image
content at detection (the detector high-passes the image) and are the most visible ones.
Frequencies above the chip Nyquist limit are absent by construction, which keeps the pattern inside
the band that survives JPEG, blur and down-scaling to half size.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .ecc import CODED_BITS

CHIPS = 32
FOLD = 2 * CHIPS  # bins per tile side used when folding at detection
SYNC_CHIPS = 256
LOW_CUT = 2

FloatArray = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]


def subkey(key: bytes, purpose: str, size: int = 32) -> bytes:
    """Derive an independent sub-key for one purpose (BLAKE2b personalisation separates them)."""
    return hashlib.blake2b(key, digest_size=size, person=purpose.encode()[:16].ljust(16, b"\0")).digest()


def keyed_rng(key: bytes, purpose: str) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(int.from_bytes(subkey(key, purpose), "big")))


def upsample(chips: Float64Array, size: int) -> Float64Array:
    """Periodic band-limited interpolation of chip grids (last two axes) to ``size`` samples."""
    spectrum = np.fft.fft2(chips)
    n = chips.shape[-1]
    freq = np.fft.fftfreq(n) * n
    radius = np.hypot(freq[:, None], freq[None, :])
    spectrum = spectrum * (radius >= LOW_CUT)
    half = n // 2
    out = np.zeros((*chips.shape[:-2], size, size), dtype=np.complex128)
    # Copy the four quadrants; the Nyquist row/column is split evenly to keep the result real.
    out[..., :half, :half] = spectrum[..., :half, :half]
    out[..., :half, -half:] = spectrum[..., :half, -half:]
    out[..., -half:, :half] = spectrum[..., -half:, :half]
    out[..., -half:, -half:] = spectrum[..., -half:, -half:]
    return np.asarray(np.fft.ifft2(out).real * (size / n) ** 2, dtype=np.float64)


@dataclass(frozen=True)
class TileLayout:
    """Key-derived layout of the tile, plus the matched filters the detector needs."""

    sync_chips: Float64Array  # (CHIPS, CHIPS): template signs on sync chips, 0 elsewhere
    bit_of_chip: npt.NDArray[np.int64]  # (CHIPS*CHIPS,): coded-bit index, -1 on sync chips
    sign_of_chip: Float64Array  # (CHIPS*CHIPS,): keyed spreading sign
    sync_filter: FloatArray  # (FOLD, FOLD): template at fold resolution, unit RMS
    bit_filters: FloatArray  # (CODED_BITS, FOLD*FOLD): matched filter of every coded bit

    @classmethod
    def from_key(cls, key: bytes) -> TileLayout:
        rng = keyed_rng(key, "fg-wm-layout")
        n = CHIPS * CHIPS
        order = rng.permutation(n)
        signs = rng.choice(np.array([-1.0, 1.0]), size=n)
        bit_of_chip = np.full(n, -1, dtype=np.int64)
        msg_positions = order[SYNC_CHIPS:]
        bit_of_chip[msg_positions] = np.arange(msg_positions.size) % CODED_BITS
        sync = np.zeros(n)
        sync[order[:SYNC_CHIPS]] = signs[order[:SYNC_CHIPS]]
        sync_chips = sync.reshape(CHIPS, CHIPS)
        sync_filter = upsample(sync_chips, FOLD)
        sync_filter /= np.sqrt(np.mean(sync_filter**2))
        basis = np.zeros((CODED_BITS, n))
        basis[bit_of_chip[msg_positions], msg_positions] = signs[msg_positions]
        bit_filters = upsample(basis.reshape(CODED_BITS, CHIPS, CHIPS), FOLD)
        return cls(
            sync_chips=sync_chips,
            bit_of_chip=bit_of_chip,
            sign_of_chip=signs,
            sync_filter=sync_filter.astype(np.float32),
            bit_filters=bit_filters.reshape(CODED_BITS, FOLD * FOLD).astype(np.float32),
        )

    def tile(self, coded: npt.NDArray[np.uint8], period: int) -> FloatArray:
        """The watermark tile for a codeword at a pixel period, with unit RMS."""
        symbols = 1.0 - 2.0 * coded.astype(np.float64)
        chips = self.sync_chips.ravel().copy()
        msg = self.bit_of_chip >= 0
        chips[msg] = self.sign_of_chip[msg] * symbols[self.bit_of_chip[msg]]
        pattern = upsample(chips.reshape(CHIPS, CHIPS), period)
        pattern /= np.sqrt(np.mean(pattern**2))
        return pattern.astype(np.float32)
