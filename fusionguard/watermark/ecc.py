"""Error-correcting code for the 64-bit watermark payload.

The payload travels as a 112-bit *info word*: the 64 payload bits followed by 48 keyed check bits
(a BLAKE2b MAC of the payload under a key-derived sub-key), XOR-ed with a keyed whitening mask so
that an all-zero or structured channel never decodes to a fixed word. The info word is protected by
the classic rate-1/3, constraint-length-7 convolutional code (generators 133, 171, 165 octal, zero
tail), decoded with a soft-input Viterbi decoder that is vectorised over states and over a batch of
candidate channel readings (one per geometry hypothesis).

Why check bits rather than a bigger code: they are what makes the false-alarm probability exact.
Under the null hypothesis (unmarked image, or wrong key) the decoded payload is *some* word and its
decoded check bits are unrelated to the MAC of that word, so the number ``d`` of mismatching check
bits is Binomial(48, 1/2) whatever the image is. ``P(d <= d_obs)`` times the number of decoded
candidates is then a union bound on the false-alarm probability; see :mod:`.codec`.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import numpy.typing as npt

PAYLOAD_BITS = 64
CHECK_BITS = 48
INFO_BITS = PAYLOAD_BITS + CHECK_BITS
CONSTRAINT = 7
MEMORY = CONSTRAINT - 1
N_STATES = 1 << MEMORY
GENERATORS = (0o133, 0o171, 0o165)
RATE_INV = len(GENERATORS)
CODED_BITS = RATE_INV * (INFO_BITS + MEMORY)

BitArray = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float32]


def _parity(value: int) -> int:
    return bin(value).count("1") & 1


# Output symbol (as +-1) of every 7-bit register value, for each generator: shape (128, 3).
_REG_OUT = np.array(
    [[1 - 2 * _parity(reg & g) for g in GENERATORS] for reg in range(1 << CONSTRAINT)],
    dtype=np.float32,
)
# For next state ns the input bit is ns >> 5 and the two predecessors are ((ns & 31) << 1) | x.
_NS = np.arange(N_STATES)
_PRED = np.stack([((_NS & 31) << 1) | x for x in (0, 1)], axis=1)  # (64, 2)
_REG_OF = ((_NS >> (MEMORY - 1))[:, None] << MEMORY) | _PRED  # register value, (64, 2)
_BRANCH_OUT = _REG_OUT[_REG_OF]  # (64, 2, 3)


def int_to_bits(value: int, n: int) -> BitArray:
    """Big-endian bits of ``value`` as a uint8 array of length ``n``."""
    return np.array([(value >> (n - 1 - i)) & 1 for i in range(n)], dtype=np.uint8)


def bits_to_int(bits: npt.NDArray[np.integer]) -> int:
    out = 0
    for b in bits.tolist():
        out = (out << 1) | int(b)
    return out


def check_bits(mac_key: bytes, payload: int) -> BitArray:
    """Keyed check bits: a MAC of the payload, so that they cannot be predicted without the key."""
    digest = hashlib.blake2b(payload.to_bytes(8, "big"), key=mac_key, digest_size=CHECK_BITS // 8).digest()
    return np.unpackbits(np.frombuffer(digest, dtype=np.uint8))


def conv_encode(info: BitArray) -> BitArray:
    """Encode ``info`` (zero-tailed) into ``CODED_BITS`` bits, three per input bit."""
    state = 0
    out = np.empty((info.size + MEMORY, RATE_INV), dtype=np.uint8)
    for t, bit in enumerate([*info.tolist(), *([0] * MEMORY)]):
        reg = (int(bit) << MEMORY) | state
        out[t] = [_parity(reg & g) for g in GENERATORS]
        state = reg >> 1
    return out.ravel()


def viterbi_decode(soft: FloatArray) -> BitArray:
    """Soft-decision Viterbi decoding of a batch of channel readings.

    ``soft`` has shape (batch, CODED_BITS); positive values favour bit 0 (symbol +1). Returns the
    (batch, INFO_BITS) most likely info words. Correlation metrics make the decoder invariant to the
    scale of ``soft``, so no noise estimate is needed.
    """
    batch = soft.shape[0]
    steps = soft.shape[1] // RATE_INV
    y = soft.reshape(batch, steps, RATE_INV).astype(np.float32)
    metric = np.full((batch, N_STATES), -1e30, dtype=np.float32)
    metric[:, 0] = 0.0
    decisions = np.empty((steps, batch, N_STATES), dtype=np.uint8)
    for t in range(steps):
        # branch[b, ns, x] = <y_t, output of the transition from predecessor x into ns>
        branch = np.einsum("bk,nxk->bnx", y[:, t], _BRANCH_OUT)
        cand = metric[:, _PRED] + branch
        choice = cand[..., 1] > cand[..., 0]
        decisions[t] = choice
        metric = np.where(choice, cand[..., 1], cand[..., 0])
    bits = np.empty((batch, steps), dtype=np.uint8)
    state = np.zeros(batch, dtype=np.int64)  # zero tail: every path ends in state 0
    rows = np.arange(batch)
    for t in range(steps - 1, -1, -1):
        bits[:, t] = state >> (MEMORY - 1)
        x = decisions[t, rows, state]
        state = ((state & 31) << 1) | x
    return bits[:, : steps - MEMORY]


def binomial_cdf_half(d: int, n: int) -> float:
    """P(Binomial(n, 1/2) <= d), exact."""
    if d < 0:
        return 0.0
    return math.fsum(math.comb(n, i) for i in range(min(d, n) + 1)) / 2.0**n
