"""Supported platforms: importing fusionguard where there is no fcntl fails with one clear message."""

from __future__ import annotations

import subprocess
import sys


def test_import_without_fcntl_names_the_supported_platforms() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['fcntl'] = None; import fusionguard"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: fusionguard supports Linux and macOS"), result.stderr
