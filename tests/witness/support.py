"""Real witness processes on loopback for tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from fusionguard.witness.cosignature import Verifier
from fusionguard.witness.server import add_log, init_home


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WitnessProcess:
    """``fusionguard witness serve`` in its own process; stop() and start() again keep its state."""

    home: Path
    name: str
    port: int
    verifier: Verifier
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, home: Path, name: str, log_vkeys: list[str], port: int | None = None) -> WitnessProcess:
        verifier = init_home(home, name)
        for vkey in log_vkeys:
            add_log(home, vkey)
        return cls(home, name, port or free_port(), verifier)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def policy_line(self, local_name: str) -> str:
        return f"witness {local_name} {self.verifier.vkey} {self.url}\n"

    def start(self) -> WitnessProcess:
        command = [sys.executable, "-m", "fusionguard.cli", "witness", "serve"]
        command += ["--home", str(self.home), "--listen", f"127.0.0.1:{self.port}"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"witness exited: {self.process.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("witness did not start listening within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None
