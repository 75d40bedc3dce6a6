"""The witness commands as an operator and a platform run them, with two witness processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog
from fusionguard.config import Settings, utc_now
from fusionguard.witness.cosignature import parse_vkey
from tests.audit.records import run_record
from tests.witness.support import WitnessProcess, free_port


def fg(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "fusionguard.cli"] + (["--home", str(home)] if home else []) + list(args)
    return subprocess.run(command, capture_output=True, text=True, env=dict(os.environ), check=False)


def test_two_witnesses_verify_and_evidence_from_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert fg("init", home=home).returncode == 0
    log_key = fg("witness", "log-key", home=home).stdout.strip()
    witnesses = []
    for name in ("w1", "w2"):
        made = fg("witness", "init", "--home", str(tmp_path / name), "--name", f"witness.test/{name}")
        assert made.returncode == 0, made.stderr
        added = fg("witness", "add-log", "--home", str(tmp_path / name), log_key)
        assert added.returncode == 0 and "accepting fusionguard.log/" in added.stdout
        vkey = parse_vkey(made.stdout.strip())
        process = WitnessProcess(tmp_path / name, vkey.name, free_port(), vkey)
        witnesses.append(process.start())
    try:
        policy = "".join(w.policy_line(f"w{i + 1}") for i, w in enumerate(witnesses))
        (home / "witness-policy").write_text(policy + "group both all w1 w2\nquorum both\n")
        settings = Settings.resolve(home)  # as a Guard opens it: the local witness file follows
        log = AuditLog.open(
            settings.db_url, KeyRing.load(settings.keys_dir), witness_path=settings.witness_path
        )
        for i in range(6):
            log.append(run_record(i, utc_now()))
        log.close()

        unwitnessed = fg("audit", "verify", home=home)
        assert unwitnessed.returncode == 0 and "no checkpoint meets the quorum" in unwitnessed.stdout
        submitted = fg("witness", "submit", "--json", home=home)
        assert submitted.returncode == 0, submitted.stderr
        assert {s["size"] for s in json.loads(submitted.stdout).values()} == {6}
        verified = fg("audit", "verify", "--json", home=home)
        report = json.loads(verified.stdout)
        assert verified.returncode == 0 and report["witnessing"]["newest_witnessed_size"] == 6
        assert report["witnessing"]["lag_records"] == 0

        out = tmp_path / "evidence.json"
        written = fg("audit", "evidence", "2", "--out", str(out), home=home)
        assert written.returncode == 0, written.stderr
        checked = fg("verify-evidence", str(out))
        assert checked.returncode == 0 and "PROVEN: it is entry 2" in checked.stdout
        out.write_text(out.read_text().replace('\\"kind\\":\\"run\\"', '\\"kind\\":\\"rum\\"'))
        tampered = fg("verify-evidence", str(out))
        assert tampered.returncode == 3 and "not in the log" in tampered.stderr
    finally:
        for process in witnesses:
            process.stop()
