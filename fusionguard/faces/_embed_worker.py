"""dlib ResNet embeddings in helper processes, so that they run on every core.

dlib's network holds the GIL for the whole ~75 ms of an embedding, so in one process a run's three
embeddings (source, target, output) are serialised, and nothing else of the run (the watermark, the
NSFW model's Python side) gets the interpreter meanwhile. :class:`EmbedWorkers` keeps a few helper
processes, each with its own copy of the network; :class:`~fusionguard.faces.dlib_backend.DlibBackend`
sends them aligned 150x150 face chips (67 kB each) and gets 128 floats back per chip.

The helpers are plain programs (``python -m fusionguard.faces._embed_worker MODEL``), not
``multiprocessing`` children: they never re-import the caller's ``__main__``, which matters for a
library wrapped around other people's scripts. They talk over their stdin/stdout pipes and exit when
stdin closes, so a parent that dies (even by SIGKILL) takes them with it.

Protocol, all integers little-endian ``uint32``:

* on start the helper writes ``b"READY\\n"`` or one line ``b"ERROR <message>\\n"``;
* request: ``count``, ``jitter``, then ``count`` chips of 150x150x3 uint8 RGB;
* response: ``0`` and ``count`` x 128 ``float64``, or ``1``, a length and a UTF-8 error message.
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from fusionguard.errors import ModelUnavailable

CHIP_SIZE = 150
CHIP_BYTES = CHIP_SIZE * CHIP_SIZE * 3
DIMENSIONS = 128
_U32 = struct.Struct("<I")


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) != size:
        raise EOFError(f"expected {size} bytes, got {0 if data is None else len(data)}")
    return data


def serve(model_path: str, stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The helper's loop: load the network, then answer requests until stdin closes."""
    # Ctrl-C in a terminal reaches the whole process group; the parent decides what it means, and
    # this helper ends when the parent closes the pipe (or dies).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import dlib

        recogniser = dlib.face_recognition_model_v1(model_path)
    except (ImportError, RuntimeError) as error:
        stdout.write(f"ERROR cannot load {model_path}: {error}".replace("\n", " ").encode() + b"\n")
        stdout.flush()
        return
    stdout.write(b"READY\n")
    stdout.flush()
    while True:
        try:
            header = _read_exact(stdin, 8)
        except EOFError:
            return  # the parent closed the pipe or died
        count, jitter = struct.unpack("<II", header)
        try:
            chips = [
                np.frombuffer(_read_exact(stdin, CHIP_BYTES), dtype=np.uint8).reshape(CHIP_SIZE, CHIP_SIZE, 3)
                for _ in range(count)
            ]
        except EOFError:
            return
        try:
            vectors = [np.asarray(recogniser.compute_face_descriptor(c, jitter), np.float64) for c in chips]
            stdout.write(_U32.pack(0) + b"".join(v.tobytes() for v in vectors))
        except Exception as error:  # reported to the parent, which raises it; the helper lives on
            message = f"{type(error).__name__}: {error}".encode()
            stdout.write(_U32.pack(1) + _U32.pack(len(message)) + message)
        stdout.flush()


class _Helper:
    def __init__(self, model_path: Path) -> None:
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "fusionguard.faces._embed_worker", str(model_path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                close_fds=True,
            )
        except OSError as error:
            raise ModelUnavailable(f"cannot start a face embedding helper: {error}") from None
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin: IO[bytes] = self.process.stdin
        self.stdout: IO[bytes] = self.process.stdout
        self.model_path = model_path

    def wait_ready(self) -> _Helper:
        """Read the helper's start-up line (it loads dlib and the network first, ~1 s)."""
        model_path = self.model_path
        line = self.stdout.readline().decode(errors="replace").strip()
        if line != "READY":
            self.close()
            detail = line.removeprefix("ERROR ") or (
                f"it exited with status {self.process.poll()}; run 'python -m "
                f"fusionguard.faces._embed_worker {model_path}' to see why"
            )
            raise ModelUnavailable(f"face embedding helper did not start: {detail}")
        return self

    def embed(self, chips: Sequence[np.ndarray], jitter: int) -> list[np.ndarray]:
        payload = [struct.pack("<II", len(chips), jitter)]
        payload += [np.ascontiguousarray(chip).tobytes() for chip in chips]
        self.stdin.write(b"".join(payload))
        self.stdin.flush()
        status = _U32.unpack(_read_exact(self.stdout, 4))[0]
        if status != 0:
            length = _U32.unpack(_read_exact(self.stdout, 4))[0]
            raise ModelUnavailable(f"face embedding failed: {_read_exact(self.stdout, length).decode()}")
        data = _read_exact(self.stdout, len(chips) * DIMENSIONS * 8)
        return [v.copy() for v in np.frombuffer(data, dtype=np.float64).reshape(len(chips), DIMENSIONS)]

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.stdin.close()  # the helper sees EOF and exits
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(OSError):
            self.stdout.close()


class EmbedWorkers:
    """Up to ``size`` helper processes, started on first use; each serves one caller at a time."""

    def __init__(self, model_path: Path, size: int) -> None:
        if size < 1:
            raise ValueError("size must be >= 1")
        self.model_path = model_path
        self.size = size
        self._idle: list[_Helper] = []
        self._started = 0
        self._pid = os.getpid()
        self._available = threading.Condition()

    def _checkout(self) -> _Helper:
        with self._available:
            if self._pid != os.getpid():  # a forked child must not share its parent's pipes
                self._idle, self._started, self._pid = [], 0, os.getpid()
            while not self._idle and self._started >= self.size:
                self._available.wait()
            if self._idle:
                return self._idle.pop()
            self._started += 1
        try:
            return _Helper(self.model_path).wait_ready()
        except BaseException:
            self._release(None)
            raise

    def start(self) -> None:
        """Start every helper now, side by side, instead of one by one on first use."""
        with self._available:
            missing = self.size - self._started
            self._started += missing
        helpers: list[_Helper] = []
        try:
            for _ in range(missing):  # all spawned first, so they load side by side
                helpers.append(_Helper(self.model_path))
            for helper in helpers:
                helper.wait_ready()
        except BaseException:
            for helper in helpers:
                helper.close()
            with self._available:
                self._started -= missing
            raise
        with self._available:
            self._idle += helpers
            self._available.notify_all()

    def _release(self, helper: _Helper | None) -> None:
        with self._available:
            if helper is not None and helper.alive:
                self._idle.append(helper)
            else:
                self._started -= 1
            self._available.notify()

    def embed(self, chips: Sequence[np.ndarray], jitter: int = 1) -> list[np.ndarray]:
        """128-D embeddings of aligned face chips, computed in a helper process."""
        if not chips:
            return []
        for chip in chips:
            if chip.shape != (CHIP_SIZE, CHIP_SIZE, 3) or chip.dtype != np.uint8:
                raise ValueError(f"face chip must be {CHIP_SIZE}x{CHIP_SIZE}x3 uint8, got {chip.shape}")
        helper = self._checkout()
        try:
            vectors = helper.embed(chips, jitter)
        except (OSError, EOFError) as error:
            helper.close()
            self._release(None)
            raise ModelUnavailable(
                f"face embedding helper died ({error}); a new one starts on next use"
            ) from None
        except BaseException:
            # Interrupted mid-exchange: the pipe may hold half a reply, so this helper is not reused.
            helper.close()
            self._release(None)
            raise
        self._release(helper)
        return vectors

    def pids(self) -> list[int]:
        """Process IDs of the idle helpers (for operators' process listings and tests)."""
        with self._available:
            return [helper.process.pid for helper in self._idle]

    def close(self) -> None:
        """Stop the idle helpers (busy ones stop when their caller returns them and they are closed)."""
        with self._available:
            idle, self._idle = self._idle, []
            self._started -= len(idle)
        for helper in idle:
            helper.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def _main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m fusionguard.faces._embed_worker MODEL.dat", file=sys.stderr)
        return 2
    serve(argv[0], sys.stdin.buffer, sys.stdout.buffer)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
