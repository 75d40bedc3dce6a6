"""Fixtures: a log on each database with two real witness processes on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog
from fusionguard.witness.client import WitnessClient
from fusionguard.witness.cosignature import Verifier
from fusionguard.witness.policy import WitnessPolicy
from tests.audit.records import run_record
from tests.conftest import FixedClock
from tests.witness.support import WitnessProcess


@dataclass
class Setup:
    log: AuditLog
    policy: WitnessPolicy
    w1: WitnessProcess
    w2: WitnessProcess
    clock: FixedClock
    home: Path

    def fill(self, n: int, *, offset: int = 0) -> None:
        start = self.log.state()[1]
        for i in range(start, start + n):
            self.clock.advance(seconds=1)
            self.log.append(run_record(i + offset, self.clock()))

    def client(self, **kw: float) -> WitnessClient:
        options = {"every_appends": 4, "every_seconds": 0.2, "timeout": 5.0, **kw}
        return WitnessClient(
            self.log,
            self.policy,
            every_appends=int(options["every_appends"]),
            every_seconds=options["every_seconds"],
            timeout=options["timeout"],
        )


def open_log(db_url: str, ring: KeyRing, clock: FixedClock, home: Path) -> AuditLog:
    return AuditLog.open(db_url, ring, clock=clock, witness_path=home / "log-head.note")


@pytest.fixture
def setup(db_url: str, ring: KeyRing, clock: FixedClock, home: Path, tmp_path: Path) -> Iterator[Setup]:
    log = open_log(db_url, ring, clock, home)
    vkey = Verifier.log(log.state()[0], ring.signer.public_key).vkey
    w1 = WitnessProcess.create(tmp_path / "w1", "witness.test/w1", [vkey]).start()
    w2 = WitnessProcess.create(tmp_path / "w2", "witness.test/w2", [vkey]).start()
    policy = WitnessPolicy.parse(
        f"log {vkey}\n" + w1.policy_line("w1") + w2.policy_line("w2") + "group both all w1 w2\nquorum both\n"
    )
    try:
        yield Setup(log, policy, w1, w2, clock, home)
    finally:
        w1.stop()
        w2.stop()
        log.close()
