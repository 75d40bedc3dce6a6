"""A Guard with two enrolled people, and portrait clips, for the video run tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusionguard.audit.keys import KeyRing
from fusionguard.checks.nsfw import OpenNsfwOnnx
from fusionguard.faces import DlibBackend
from fusionguard.guard import Guard
from fusionguard.media import encode_image
from tests.conftest import FixedClock
from tests.test_guard import enrol_pair, make_guard
from tests.video.clips import astronaut, hopper, portrait_frames, write_clip


@pytest.fixture(scope="session")
def portraits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("portraits")
    astro, grace = folder / "astronaut.png", folder / "hopper.png"
    astro.write_bytes(encode_image(astronaut(), "png"))
    grace.write_bytes(encode_image(hopper(), "png"))
    return {"astronaut": astro, "hopper": grace}


@pytest.fixture(scope="session")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """2 s of the astronaut (consents as target); 3 s where Grace Hopper (source consent only) is on
    screen for exactly 1 s (frames 26..50 at 25 fps, no scene cut: a corner of the picture)."""
    folder = tmp_path_factory.mktemp("scenes")
    return {
        "clean": write_clip(folder / "clean.mp4", portrait_frames(50)),
        "intruder": write_clip(folder / "intruder.mp4", portrait_frames(75, intruder=range(26, 51))),
    }


@pytest.fixture
def video_guard(
    db_url: str,
    home: Path,
    ring: KeyRing,
    clock: FixedClock,
    faces: DlibBackend,
    nsfw: OpenNsfwOnnx,
    portraits: dict[str, Path],
) -> Guard:
    guard = make_guard(db_url, home, ring, clock, faces, nsfw)
    enrol_pair(guard, faces, portraits)
    return guard
