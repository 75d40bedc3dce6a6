"""What the real-tool tests share: a Guard on the real models with two enrolled people."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusionguard.audit.keys import KeyRing
from fusionguard.checks.nsfw import OpenNsfwOnnx
from fusionguard.faces import DlibBackend
from fusionguard.guard import Guard
from fusionguard.registry import enrol_photos
from tests.conftest import FixedClock
from tests.test_guard import make_guard, photos

_ = photos  # the session fixture, re-exported for this directory


@pytest.fixture
def guard(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    photos: dict[str, Path],
) -> Guard:
    """Eileen Collins may be a source and a target, Grace Hopper only a source."""
    g = make_guard(db_url, home, ring, clock, faces, nsfw)
    enrol_photos(g.registry, faces, "Eileen Collins", [photos["astronaut"]], roles=["source", "target"])
    enrol_photos(g.registry, faces, "Grace Hopper", [photos["hopper"]], roles=["source"])
    return g
