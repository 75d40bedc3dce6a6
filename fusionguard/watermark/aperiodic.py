"""The aperiodic layer: a keyed, payload-spread chip field that never repeats inside an image.

The periodic tile (:mod:`.pattern`) is what makes the mark survive crops, scaling and rotation,
but a pattern repeated many times in one image can be estimated from that image alone (fold it
modulo its period: content averages out, the tile stays) and subtracted; a pattern shared by all
outputs can be estimated by averaging outputs. This layer is the answer to both estimation attacks:

* a keyed field of ``GRID x GRID`` chips (each ``period / CHIPS`` pixels square, 2 px at the
  64-px period, 4 px at 128) anchored at the image's top-left corner; every chip carries one coded
  bit (keyed choice) times a keyed sign, so no two places of an image, and no two outputs with
  different payloads, carry the same thing. Folding an image over any period averages it to
  (nearly) zero; so does averaging outputs (every coded bit is balanced over payloads). The field
  wraps after ``GRID`` chips (1024 px at 2-px chips: only very long panoramas repeat it);
* multiplied by the checkerboard ``(-1) ** (x + y)``, which moves its spectrum from around zero
  to around the highest spatial frequency: above the periodic tile's band (at most a quarter of
  the sampling rate), so the two layers do not disturb each other's reading, and where natural
  images have the least energy (the layer reads with few errors). The price: JPEG and resampling
  remove those frequencies first (the layer survives JPEG 90, not JPEG 80);
* read at the identity geometry only: the image as released, or cropped at its right or bottom
  edge (its chips stay where they were). This is the case of the estimation attacks, which do not
  move pixels; geometric edits are the periodic layer's job. A removal attack followed by a
  geometric edit removes the mark (the limit of this design; see bench/watermark/security.py).

Detection sums the whitened luma over each chip, multiplies by the keyed sign and adds the chips of
every coded bit up (one ``bincount``): O(pixels), a few milliseconds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .ecc import CODED_BITS
from .pattern import CHIPS, keyed_rng

GRID = 512  # chips per side of the keyed field (wrapped beyond: 1024 px at 2-px chips)

FloatArray = npt.NDArray[np.float32]


def chip_size(period: int) -> int:
    """Chip size in pixels for a tile period (the periodic layer's chip size)."""
    return max(1, period // CHIPS)


def _carrier(height: int, width: int) -> FloatArray:
    """(-1) ** (x + y): moves the chip field's spectrum next to the highest spatial frequency."""
    y = np.arange(height)[:, None]
    x = np.arange(width)[None, :]
    return np.asarray(1 - 2 * ((x + y) & 1), dtype=np.float32)


class AperiodicLayer:
    """Key-derived chip field: which coded bit each chip carries, and its sign."""

    def __init__(self, key: bytes) -> None:
        rng = keyed_rng(key, "fg-wm-aperiodic")
        self._bit = rng.integers(0, CODED_BITS, size=(GRID, GRID)).astype(np.intp)
        self._sign = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(GRID, GRID))

    def _field(self, rows: int, cols: int) -> tuple[npt.NDArray[np.intp], FloatArray]:
        r = np.arange(rows) % GRID
        c = np.arange(cols) % GRID
        return self._bit[np.ix_(r, c)], self._sign[np.ix_(r, c)]

    def pattern(self, coded: npt.NDArray[np.uint8], height: int, width: int, chip: int) -> FloatArray:
        """The layer for a codeword on an image of this size: +-1 chips (unit RMS), float32."""
        rows, cols = -(-height // chip), -(-width // chip)
        bit, sign = self._field(rows, cols)
        symbols = (1.0 - 2.0 * coded.astype(np.float32))[bit] * sign
        field = np.repeat(np.repeat(symbols, chip, axis=0), chip, axis=1)[:height, :width]
        return np.ascontiguousarray(field * _carrier(height, width), dtype=np.float32)

    def soft_bits(self, white: FloatArray, chip: int) -> FloatArray:
        """Soft coded bits (positive: bit 0) read from a whitened luma at the identity geometry."""
        rows, cols = white.shape[0] // chip, white.shape[1] // chip
        if rows == 0 or cols == 0:
            return np.zeros(CODED_BITS, dtype=np.float32)
        base = white[: rows * chip, : cols * chip] * _carrier(rows * chip, cols * chip)
        sums = base.reshape(rows, chip, cols, chip).sum(axis=(1, 3))
        bit, sign = self._field(rows, cols)
        soft = np.bincount(bit.ravel(), weights=(sums * sign).ravel(), minlength=CODED_BITS)
        return np.asarray(soft, dtype=np.float32)
