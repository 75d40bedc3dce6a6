"""temp_files_in: a wrapped tool's temporary files land in the run's workspace, and the process's
temp settings come back afterwards, however the block ends."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from fusionguard.workspace import WorkspaceManager, temp_files_in


def test_temp_files_go_into_the_workspace_and_settings_are_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", "/tmp")
    monkeypatch.delenv("TEMP", raising=False)
    before = tempfile.gettempdir()
    manager = WorkspaceManager(tmp_path / "workspaces")
    with manager.run() as workspace:
        with temp_files_in(workspace.mkdtemp("tmp")) as directory:
            assert tempfile.gettempdir() == str(directory)
            made = Path(tempfile.mkdtemp(prefix="facefusion-"))
            assert made.parent == directory
            child = subprocess.run(
                [sys.executable, "-c", "import tempfile; print(tempfile.gettempdir())"],
                capture_output=True,
                text=True,
                check=True,
            )
            assert child.stdout.strip() == str(directory)  # ffmpeg & co. inherit it too
        assert tempfile.gettempdir() == before and os.environ["TMPDIR"] == "/tmp"
        assert "TEMP" not in os.environ
        with pytest.raises(RuntimeError), temp_files_in(workspace.mkdtemp("tmp")):
            raise RuntimeError("tool crashed")
        assert tempfile.gettempdir() == before
    assert not made.exists()  # purged with the workspace
