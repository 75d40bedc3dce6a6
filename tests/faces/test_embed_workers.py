"""DlibBackend with its ResNet in helper processes: same embeddings, failures are clear, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from fusionguard.errors import ModelUnavailable
from fusionguard.faces import DlibBackend
from fusionguard.faces._embed_worker import EmbedWorkers
from fusionguard.media import load_image
from tests import testdata

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def helped() -> Iterator[DlibBackend]:
    backend = DlibBackend(embed_processes=2)
    backend.load()
    yield backend
    backend.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


def test_helpers_give_the_in_process_embeddings(helped: DlibBackend, faces: DlibBackend) -> None:
    for rgb in (testdata.astronaut(), load_image(testdata.insightface_t1()).rgb):
        here, there = faces.detect(rgb), helped.detect(rgb)
        assert len(here) == len(there) >= 1
        for a, b in zip(here, there, strict=True):
            assert a.box == b.box
            np.testing.assert_array_equal(a.embedding, b.embedding)


def test_concurrent_callers_share_the_helpers(helped: DlibBackend) -> None:
    images = [testdata.astronaut(), testdata.grace_hopper()] * 3
    with ThreadPoolExecutor(max_workers=4) as pool:  # more callers than helpers: they wait their turn
        results = list(pool.map(helped.detect, images))
    for rgb, faces in zip(images, results, strict=True):
        np.testing.assert_array_equal(faces[0].embedding, helped.detect(rgb)[0].embedding)


def test_a_killed_helper_is_a_clear_error_and_is_replaced() -> None:
    backend = DlibBackend(embed_processes=1)
    backend.load()
    try:
        assert backend._workers is not None
        (pid,) = backend._workers.pids()
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.01)
        with pytest.raises(ModelUnavailable, match="face embedding helper died"):
            backend.detect(testdata.astronaut())
        faces = backend.detect(testdata.astronaut())  # a new helper starts
        assert len(faces) == 1
        assert backend._workers.pids() != [pid]
    finally:
        backend.close()


def test_a_helper_that_cannot_load_its_model_says_so(tmp_path: Path) -> None:
    corrupt = tmp_path / "resnet.dat"
    corrupt.write_bytes(b"not a dlib model")
    workers = EmbedWorkers(corrupt, 1)
    with pytest.raises(ModelUnavailable, match=f"did not start: cannot load {corrupt}"):
        workers.start()
    with pytest.raises(ModelUnavailable, match="did not start"):
        workers.embed([np.zeros((150, 150, 3), np.uint8)])
    assert workers.pids() == []


def test_chips_of_the_wrong_shape_are_refused_before_they_reach_a_helper(helped: DlibBackend) -> None:
    assert helped._workers is not None
    with pytest.raises(ValueError, match="150x150x3 uint8"):
        helped._workers.embed([np.zeros((10, 10, 3), np.uint8)])
    assert len(helped.detect(testdata.astronaut())) == 1  # the helpers are unharmed


def test_close_stops_the_helpers() -> None:
    backend = DlibBackend(embed_processes=2)
    backend.load()
    assert backend._workers is not None
    pids = backend._workers.pids()
    assert len(pids) == 2
    backend.close()
    assert not any(_alive(pid) for pid in pids)
    assert len(backend.detect(testdata.astronaut())) == 1  # loads again on use
    backend.close()


def test_helpers_exit_when_their_parent_is_killed() -> None:
    code = (
        "from fusionguard.faces import DlibBackend\n"
        "b = DlibBackend(embed_processes=2); b.load()\n"
        "print(' '.join(map(str, b._workers.pids())), flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    pids = [int(p) for p in child.stdout.readline().split()]
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    child.kill()
    child.wait()
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids), "a helper outlived its parent"


def test_ctrl_c_in_the_terminal_leaves_the_helpers_to_their_parent(helped: DlibBackend) -> None:
    assert helped._workers is not None
    pids = helped._workers.pids()
    for pid in pids:
        os.kill(pid, signal.SIGINT)
    time.sleep(0.2)
    assert all(_alive(pid) for pid in pids)
    assert len(helped.detect(testdata.astronaut())) == 1


def test_a_backend_whose_helpers_cannot_start_loads_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import face_recognition_models

    corrupt = tmp_path / "dlib_face_recognition_resnet_model_v1.dat"
    corrupt.write_bytes(b"\x00garbage" * 100)
    monkeypatch.setattr(face_recognition_models, "face_recognition_model_location", lambda: str(corrupt))
    backend = DlibBackend(embed_processes=1)
    for _ in range(2):  # the second try fails the same way: nothing half-loaded is kept
        with pytest.raises(ModelUnavailable, match=f"did not start: cannot load {corrupt}"):
            backend.detect(testdata.astronaut())
        assert backend._models is None and backend._workers is None
