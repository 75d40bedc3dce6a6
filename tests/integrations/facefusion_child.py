"""One guarded FaceFusion ``headless-run`` in its own process, for the concurrency test.

    python -m tests.integrations.facefusion_child VERSION DB_URL HOME WITNESS START \
        SOURCE TARGET OUTPUT JOBS TEMP

Waits until the file START exists (so that both processes run at once), prints the exit code.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog
from fusionguard.audit.record import ModelInfo
from fusionguard.checks.nsfw import OpenNsfwOnnx
from fusionguard.faces import DlibBackend
from fusionguard.guard import Guard, load_watermark_key
from fusionguard.integrations import facefusion as ff_guard
from fusionguard.policy import Policy
from fusionguard.registry import ConsentRegistry, IdentityKeyStore
from fusionguard.watermark import WatermarkCodec
from fusionguard.workspace import WorkspaceManager
from tests.integrations import tools


def main(argv: list[str]) -> int:
    version, db_url, home, witness, start, source, target, output, jobs, temp = argv
    keys = Path(home) / "keys"
    log = AuditLog.open(db_url, KeyRing.load(keys), witness_path=Path(witness))
    guard = Guard(
        policy=Policy.default(),
        log=log,
        registry=ConsentRegistry(log.engine, keys=IdentityKeyStore(Path(home) / "identity-keys"), log=log),
        faces=DlibBackend(),
        nsfw=OpenNsfwOnnx(),
        codec=WatermarkCodec(load_watermark_key(keys)),
        workspaces=WorkspaceManager(Path(home) / "workspaces"),
        actor="child",
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        root = tools.FACEFUSION[version]
        with tools.vendored(root, "facefusion", monkeypatch):
            tools.facefusion_models(version, monkeypatch)
            from facefusion import core

            args = tools.facefusion_args([Path(source)], Path(target), Path(output), Path(jobs), Path(temp))
            while not Path(start).exists():
                time.sleep(0.01)
            with ff_guard.install(guard, model=ModelInfo("stand-in-swapper", "1", "apache-2.0")):
                code: int = core.process_headless(args)
    print(code, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
