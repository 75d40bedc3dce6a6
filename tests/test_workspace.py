"""Private per-run workspaces: permissions, purging however a run ends, hostile names, crash sweep."""

from __future__ import annotations

import doctest
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fusionguard import workspace as workspace_module
from fusionguard.errors import BadInput, ConfigError
from fusionguard.workspace import OWNER_FILE, Workspace, WorkspaceManager
from tests.conftest import FixedClock

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "home" / "workspaces"


@pytest.fixture
def manager(root: Path, clock: FixedClock) -> WorkspaceManager:
    return WorkspaceManager(root, clock=clock)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def rewrite_owner(ws: Workspace, **changes: Any) -> None:
    owner_path = ws.path / OWNER_FILE
    document = json.loads(owner_path.read_bytes())
    document.update(changes)
    owner_path.write_text(json.dumps(document))


def set_mtime(path: Path, when: datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()), follow_symlinks=False)


def test_module_docstring_example_runs() -> None:
    result = doctest.testmod(workspace_module)
    assert result.attempted > 0
    assert result.failed == 0


# -- creation ---------------------------------------------------------------------------------------


def test_root_and_workspace_are_private_whatever_the_umask(manager: WorkspaceManager) -> None:
    previous = os.umask(0)
    try:
        ws = manager.create()
    finally:
        os.umask(previous)
    try:
        assert mode_of(manager.root) == 0o700
        assert mode_of(ws.path) == 0o700
        assert ws.path.parent == manager.root
        assert ws.path.name == ws.run_id
        assert mode_of(ws.path / OWNER_FILE) == 0o600
        sub = ws.mkdtemp("faces-")
        assert sub.parent == ws.path and sub.name.startswith("faces-")
        assert mode_of(sub) == 0o700
    finally:
        manager.purge(ws)


def test_owner_file_records_this_process(manager: WorkspaceManager, clock: FixedClock) -> None:
    with manager.run() as ws:
        owner = json.loads((ws.path / OWNER_FILE).read_bytes())
        assert owner["pid"] == os.getpid()
        assert owner["hostname"] == manager.hostname
        assert datetime.fromisoformat(owner["created"]) == clock()
        if sys.platform.startswith("linux"):
            stat_fields = Path(f"/proc/{os.getpid()}/stat").read_bytes().rpartition(b")")[2].split()
            assert owner["start_time"] == int(stat_fields[19])  # field 22
            assert isinstance(owner["boot_id"], str) and owner["boot_id"]


def test_each_run_gets_a_new_directory(manager: WorkspaceManager) -> None:
    first, second = manager.create(), manager.create()
    try:
        assert first.run_id != second.run_id
        assert first.path != second.path
    finally:
        manager.purge(first)
        manager.purge(second)


def test_root_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "workspaces"
    not_a_dir.write_text("oops")
    with pytest.raises(ConfigError, match="not a directory"):
        WorkspaceManager(not_a_dir).create()
    assert not_a_dir.read_text() == "oops"


# -- file names -------------------------------------------------------------------------------------


def test_file_returns_a_path_directly_inside(manager: WorkspaceManager) -> None:
    with manager.run() as ws:
        path = ws.file("target.mp4")
        assert path == ws.path / "target.mp4"
        assert not path.exists()  # only a path; the caller creates the file
        path.write_bytes(b"frame")
        assert path.read_bytes() == b"frame"
        assert ws.file("é" * 127) == ws.path / ("é" * 127)  # 254 bytes: allowed


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "empty"),
        ("/etc/passwd", "path separator"),
        ("../secret", "path separator"),
        ("..", "directory"),
        (".", "directory"),
        ("a/b", "path separator"),
        ("a\\b", "path separator"),
        ("a\0b", "NUL"),
        ("line\nbreak", "control character"),
        ("x" * 256, "255 bytes"),
        ("é" * 128, "255 bytes"),  # 128 characters, 256 bytes
        (OWNER_FILE, "reserved"),
    ],
)
def test_hostile_names_are_refused(manager: WorkspaceManager, name: str, why: str) -> None:
    with manager.run() as ws:
        with pytest.raises(BadInput, match=why) as caught:
            ws.file(name)
        assert "\n" not in str(caught.value)
        with pytest.raises(BadInput, match=why):
            ws.mkdtemp(name)
        assert sorted(p.name for p in ws.path.iterdir()) == [OWNER_FILE]


# -- purge ------------------------------------------------------------------------------------------


def test_purged_after_success(manager: WorkspaceManager) -> None:
    with manager.run() as ws:
        ws.file("out.png").write_bytes(b"x" * 100)
        (ws.mkdtemp("frames-") / "0001.png").write_bytes(b"y")
    assert not ws.path.exists()
    assert list(manager.root.iterdir()) == []


def test_purged_after_exception(manager: WorkspaceManager) -> None:
    with pytest.raises(RuntimeError, match="model crashed"), manager.run() as ws:
        ws.file("partial.png").write_bytes(b"x")
        raise RuntimeError("model crashed")
    assert not ws.path.exists()
    assert list(manager.root.iterdir()) == []


def test_purged_after_keyboard_interrupt(manager: WorkspaceManager) -> None:
    with pytest.raises(KeyboardInterrupt), manager.run() as ws:
        ws.file("partial.png").write_bytes(b"x")
        raise KeyboardInterrupt
    assert not ws.path.exists()
    assert list(manager.root.iterdir()) == []


def test_purge_failure_does_not_hide_the_runs_exception(
    manager: WorkspaceManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(path: Path) -> None:
        raise workspace_module.WorkspaceError(f"could not remove workspace {path}")

    monkeypatch.setattr(workspace_module, "_delete_tree", broken)
    with pytest.raises(ValueError, match="the real problem"), manager.run():
        raise ValueError("the real problem")
    with pytest.raises(workspace_module.WorkspaceError), manager.run():
        pass


def test_purge_is_idempotent(manager: WorkspaceManager) -> None:
    ws = manager.create()
    manager.purge(ws)
    manager.purge(ws)  # already gone: no error
    assert not ws.path.exists()


def test_purge_removes_links_not_their_targets(manager: WorkspaceManager, tmp_path: Path) -> None:
    outside_file = tmp_path / "precious.jpg"
    outside_file.write_bytes(b"keep me")
    outside_dir = tmp_path / "album"
    outside_dir.mkdir()
    (outside_dir / "photo.jpg").write_bytes(b"keep me too")

    with manager.run() as ws:
        ws.file("link-to-file").symlink_to(outside_file)
        ws.file("link-to-dir").symlink_to(outside_dir, target_is_directory=True)
        nested = ws.mkdtemp("nested-")
        (nested / "deeper-link").symlink_to(outside_dir, target_is_directory=True)
        assert (ws.file("link-to-dir") / "photo.jpg").read_bytes() == b"keep me too"

    assert not os.path.lexists(ws.path)
    assert outside_file.read_bytes() == b"keep me"
    assert (outside_dir / "photo.jpg").read_bytes() == b"keep me too"
    assert sorted(p.name for p in outside_dir.iterdir()) == ["photo.jpg"]


def test_purge_does_not_chmod_link_targets(manager: WorkspaceManager, tmp_path: Path) -> None:
    outside_dir = tmp_path / "readonly-album"
    outside_dir.mkdir()
    (outside_dir / "photo.jpg").write_bytes(b"keep")
    outside_dir.chmod(0o500)
    try:
        with manager.run() as ws:
            ws.file("link").symlink_to(outside_dir, target_is_directory=True)
        assert mode_of(outside_dir) == 0o500
        assert (outside_dir / "photo.jpg").read_bytes() == b"keep"
    finally:
        outside_dir.chmod(0o700)


def test_purge_handles_unwritable_and_unreadable_subdirectories(manager: WorkspaceManager) -> None:
    with manager.run() as ws:
        locked = ws.mkdtemp("locked-")
        (locked / "frame.png").write_bytes(b"x")
        (locked / "frame.png").chmod(0o400)
        inner = locked / "inner"
        inner.mkdir()
        (inner / "f").write_bytes(b"y")
        inner.chmod(0o000)
        locked.chmod(0o500)
    assert not os.path.lexists(ws.path)
    assert list(manager.root.iterdir()) == []


def test_concurrent_runs_with_the_same_file_names_do_not_collide(manager: WorkspaceManager) -> None:
    workers = 8
    barrier = threading.Barrier(workers)
    seen: dict[int, tuple[Path, bytes]] = {}
    errors: list[BaseException] = []

    def job(number: int) -> None:
        try:
            with manager.run() as ws:
                target = ws.file("target.jpg")  # the same name in every job
                target.write_bytes(f"job {number}".encode())
                barrier.wait(timeout=30)  # every job has written before any reads
                seen[number] = (ws.path, target.read_bytes())
                barrier.wait(timeout=30)  # every job has read before any purges
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=job, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert {content for _, content in seen.values()} == {f"job {n}".encode() for n in range(workers)}
    assert all(seen[n][1] == f"job {n}".encode() for n in range(workers))
    assert len({path for path, _ in seen.values()}) == workers
    assert list(manager.root.iterdir()) == []


# -- sweep ------------------------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from fusionguard.workspace import WorkspaceManager

    with WorkspaceManager(Path(sys.argv[1])).run() as ws:
        ws.file("source.jpg").write_bytes(b"face" * 1000)
        (ws.mkdtemp("frames-") / "0001.png").write_bytes(b"frame")
        print(ws.path, flush=True)
        time.sleep(600)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sweep_removes_the_workspace_of_a_process_killed_mid_run(manager: WorkspaceManager) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(manager.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        assert line, f"child printed no path: {child.stderr.read() if child.stderr else ''}"
        path = Path(line)
        assert path.parent == manager.root
        assert (path / "source.jpg").is_file()

        assert manager.sweep() == []  # owner alive (another live process): left alone
        assert (path / "source.jpg").is_file()

        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL
        assert (path / "source.jpg").is_file()  # SIGKILL skipped the finally: it is still there

        assert manager.sweep() == [path]
        assert not os.path.lexists(path)
        assert list(manager.root.iterdir()) == []
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()


def test_live_workspace_of_this_process_survives_sweep(manager: WorkspaceManager, clock: FixedClock) -> None:
    with manager.run() as ws:
        ws.file("in-use.png").write_bytes(b"x")
        clock.advance(days=365)  # age does not matter while the owner lives
        assert manager.sweep() == []
        assert ws.file("in-use.png").read_bytes() == b"x"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="start times come from /proc")
def test_recycled_pid_is_not_mistaken_for_the_owner(manager: WorkspaceManager) -> None:
    ws = manager.create()
    owner = json.loads((ws.path / OWNER_FILE).read_bytes())
    rewrite_owner(ws, start_time=owner["start_time"] + 12345)  # same PID, another process
    assert manager.sweep() == [ws.path]
    assert not os.path.lexists(ws.path)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="boot ids come from /proc")
def test_owner_from_before_a_reboot_is_dead(manager: WorkspaceManager) -> None:
    ws = manager.create()
    rewrite_owner(ws, boot_id="00000000-0000-0000-0000-000000000000")
    assert manager.sweep() == [ws.path]


def test_owner_pid_that_does_not_exist_is_dead(manager: WorkspaceManager) -> None:
    ws = manager.create()
    rewrite_owner(ws, pid=2**22 + 1, start_time=None)  # above any Linux pid_max
    assert manager.sweep() == [ws.path]


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"{not json",
        b'{"pid": "12", "start_time": null, "boot_id": null, "hostname": "h", "created": "x"}',
        b'{"pid": true, "start_time": null, "boot_id": null, "hostname": "h",'
        b' "created": "2026-01-01T00:00:00+00:00"}',
        b"[1, 2, 3]",
        None,  # missing
    ],
)
def test_corrupt_or_missing_owner_file_is_swept_only_after_the_grace_period(
    manager: WorkspaceManager, clock: FixedClock, damage: bytes | None
) -> None:
    ws = manager.create()
    owner_path = ws.path / OWNER_FILE
    if damage is None:
        owner_path.unlink()
    else:
        owner_path.write_bytes(damage)
    set_mtime(ws.path, clock())

    clock.advance(minutes=59)
    assert manager.sweep() == []
    assert ws.path.is_dir()

    clock.advance(minutes=2)
    assert manager.sweep() == [ws.path]
    assert not os.path.lexists(ws.path)


def test_owner_file_that_is_a_symlink_counts_as_corrupt(
    manager: WorkspaceManager, clock: FixedClock, tmp_path: Path
) -> None:
    ws = manager.create()
    decoy = tmp_path / "decoy.json"
    decoy.write_bytes((ws.path / OWNER_FILE).read_bytes())  # a valid, live owner
    (ws.path / OWNER_FILE).unlink()
    (ws.path / OWNER_FILE).symlink_to(decoy)
    set_mtime(ws.path, clock() - timedelta(hours=2))
    assert manager.sweep() == [ws.path]
    assert decoy.is_file()


def test_workspace_of_another_host_is_left_alone_until_the_foreign_limit(
    root: Path, clock: FixedClock
) -> None:
    elsewhere = WorkspaceManager(root, clock=clock, hostname="render-node-7")
    here = WorkspaceManager(root, clock=clock, hostname="laptop")
    ws = elsewhere.create()
    rewrite_owner(ws, pid=2**22 + 1)  # that PID means nothing on this host
    set_mtime(ws.path, clock())

    clock.advance(days=6)
    assert here.sweep() == []
    assert ws.path.is_dir()

    clock.advance(days=1, seconds=1)
    assert here.sweep() == [ws.path]
    assert not os.path.lexists(ws.path)


def test_sweep_leaves_unrelated_entries_alone(manager: WorkspaceManager, clock: FixedClock) -> None:
    manager.root.mkdir(parents=True)
    notes = manager.root / "README"
    notes.write_text("not a workspace")
    odd_dir = manager.root / "keep-me"
    odd_dir.mkdir()
    link = manager.root / ("a" * 32)  # named like a run id, but a link
    link.symlink_to(odd_dir)
    for path in (notes, odd_dir):
        set_mtime(path, clock() - timedelta(days=400))
    assert manager.sweep() == []
    assert notes.read_text() == "not a workspace"
    assert odd_dir.is_dir() and link.is_symlink()


def test_sweep_finishes_an_interrupted_deletion(manager: WorkspaceManager) -> None:
    ws = manager.create()
    trash = manager.root / (".trash-" + "0" * 32)
    os.rename(ws.path, trash)  # as if a purge was interrupted after the rename
    (trash / "leftover.png").write_bytes(b"x")
    assert manager.sweep() == []  # trash is not a workspace, but it is removed
    assert not os.path.lexists(trash)


def test_sweep_without_a_root_is_empty(manager: WorkspaceManager) -> None:
    assert not manager.root.exists()
    assert manager.sweep() == []


def test_two_sweepers_at_once_each_remove_a_workspace_once(manager: WorkspaceManager) -> None:
    dead = [manager.create() for _ in range(30)]
    for ws in dead:
        rewrite_owner(ws, pid=2**22 + 1, start_time=None)
    with manager.run() as live:
        barrier = threading.Barrier(2)
        results: list[list[Path]] = []
        errors: list[BaseException] = []

        def sweeper() -> None:
            try:
                barrier.wait(timeout=30)
                results.append(manager.sweep())
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=sweeper) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        first, second = results
        assert set(first).isdisjoint(second)
        assert sorted(first + second) == sorted(ws.path for ws in dead)
        assert [p.name for p in manager.root.iterdir()] == [live.run_id]


def test_workspace_deleted_during_sweep_is_skipped(
    manager: WorkspaceManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = manager.create()
    rewrite_owner(ws, pid=2**22 + 1, start_time=None)
    real_read_owner = workspace_module._read_owner

    def purge_first(directory: Path) -> Any:
        owner = real_read_owner(directory)
        shutil.rmtree(directory)  # another sweeper wins the race after we looked
        return owner

    monkeypatch.setattr(workspace_module, "_read_owner", purge_first)
    assert manager.sweep() == []
    assert not os.path.lexists(ws.path)


def test_purge_after_a_sweeper_removed_it_is_not_an_error(manager: WorkspaceManager) -> None:
    ws = manager.create()
    rewrite_owner(ws, pid=2**22 + 1, start_time=None)
    assert manager.sweep() == [ws.path]
    manager.purge(ws)
    assert not os.path.lexists(ws.path)
