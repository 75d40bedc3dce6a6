"""Private per-run directories that are always purged, and a sweep for the ones a crash left behind.

FaceFusion keys its temporary folders by the target's file name, so two concurrent jobs on
``video.mp4`` share (and clobber) one folder, and a task that fails returns early without cleaning
up. fusionguard instead gives every run a private directory ``<root>/<run_id>`` (mode 0700, ``run_id``
a random 128-bit hex string) and removes it when the run ends, whichever way it ends.

Ownership
    Each workspace holds an ``.owner`` file (JSON, written atomically, mode 0600) naming the process
    that created it: ``pid``, the process's ``start_time`` (field 22 of ``/proc/<pid>/stat``, in clock
    ticks since boot, so a recycled PID is not mistaken for the owner), ``boot_id`` (so a reboot is
    not either), ``hostname`` and ``created`` (ISO 8601, UTC). Outside Linux ``start_time`` and
    ``boot_id`` are ``null`` and only the PID is checked.

Sweep rules (:meth:`WorkspaceManager.sweep`)
    Only directories named like a run id and owned by the current user are considered; anything else
    under the root is left alone. A workspace is removed when

    * its owner is on this host and dead: no such PID, a zombie, a different start time, or a
      different boot id;
    * its owner file is missing or corrupt and the directory is older than ``grace`` (default 1 hour,
      by modification time; the grace covers the instant between ``mkdir`` and writing the owner
      file);
    * its owner is on another host (a home shared over NFS, where this host cannot see the owner's
      processes) and the directory is older than ``foreign_max_age`` (default 7 days, by modification
      time). Runs on other hosts are left alone until then; raise the limit if jobs may run longer.

    Two containers that share a home, a hostname *and* overlapping PID namespaces could mistake each
    other's processes; give containers distinct hostnames.

Races
    A workspace is removed by first renaming it to ``<root>/.trash-<random>`` (atomic: of two sweepers,
    or a sweeper and the owner's own purge, exactly one wins; the other sees it gone and moves on),
    then deleting the renamed tree. A deletion interrupted half-way leaves only a ``.trash-*``
    directory, which any later sweep removes. Deletion never follows symbolic links: a link inside a
    workspace is unlinked, its target untouched; unwritable sub-directories are made writable first.

Example:

>>> import tempfile
>>> root = Path(tempfile.mkdtemp()) / "workspaces"
>>> manager = WorkspaceManager(root)
>>> with manager.run() as ws:
...     _ = ws.file("frame-0001.png").write_bytes(b"...")
...     oct(ws.path.stat().st_mode & 0o777)
'0o700'
>>> ws.path.exists()
False
>>> ws.file("../etc/passwd")
Traceback (most recent call last):
...
fusionguard.errors.BadInput: unsafe workspace file name '../etc/passwd': contains a path separator
>>> manager.sweep()  # nothing left behind
[]
>>> shutil.rmtree(root.parent)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import socket
import stat
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fusionguard.config import Clock, utc_now
from fusionguard.errors import BadInput, ConfigError, FusionGuardError

__all__ = [
    "DEFAULT_FOREIGN_MAX_AGE",
    "DEFAULT_GRACE",
    "OWNER_FILE",
    "Workspace",
    "WorkspaceError",
    "WorkspaceManager",
    "temp_files_in",
]

logger = logging.getLogger(__name__)

OWNER_FILE = ".owner"
DEFAULT_GRACE = timedelta(hours=1)
DEFAULT_FOREIGN_MAX_AGE = timedelta(days=7)

_RUN_ID = re.compile(r"[0-9a-f]{32}")
_TRASH = re.compile(r"\.trash-[0-9a-f]{32}")
_MAX_NAME_BYTES = 255
_MAX_OWNER_BYTES = 4096
_RESERVED_NAMES = frozenset({OWNER_FILE, OWNER_FILE + ".tmp"})


class WorkspaceError(FusionGuardError):
    """A workspace could not be created or removed completely."""


def _check_name(name: str, what: str) -> None:
    """Raise :class:`BadInput` unless ``name`` is one plain, harmless path component."""

    def refuse(why: str) -> BadInput:
        shown = repr(name) if len(name) <= 80 else repr(name[:77]) + "..."
        return BadInput(f"unsafe workspace {what} {shown}: {why}")

    if not isinstance(name, str):
        raise BadInput(f"workspace {what} must be a string, not {type(name).__name__}")
    if not name:
        raise refuse("empty")
    if "\0" in name:
        raise refuse("contains a NUL byte")
    separators = {"/", "\\", os.sep} | ({os.altsep} if os.altsep else set())
    if any(sep in name for sep in separators):
        raise refuse("contains a path separator")
    if name in {".", ".."}:
        raise refuse("refers to a directory, not a file")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise refuse("contains a control character")
    if len(name.encode("utf-8", "surrogateescape")) > _MAX_NAME_BYTES:
        raise refuse(f"longer than {_MAX_NAME_BYTES} bytes")
    if name in _RESERVED_NAMES:
        raise refuse("reserved for the workspace's owner file")


@dataclass(frozen=True)
class Workspace:
    """One run's private directory. Build paths in it with :meth:`file`, never by joining names."""

    path: Path
    run_id: str

    def file(self, name: str) -> Path:
        """The path of ``name`` directly inside the workspace (the file is not created).

        Raises :class:`BadInput` for anything but a single plain name: empty, ``.``/``..``, absolute
        or containing a separator, NUL or another control character, over 255 bytes, or ``.owner``.
        """
        _check_name(name, "file name")
        return self.path / name

    def mkdtemp(self, prefix: str = "tmp") -> Path:
        """A new, uniquely named sub-directory (mode 0700) whose name starts with ``prefix``."""
        _check_name(prefix, "directory prefix")
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.path))


# -- processes ------------------------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """``(state, start_time)`` of ``pid`` from ``/proc/<pid>/stat``, or None if it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    # Field 2 (comm) is in parentheses and may itself contain spaces and ')': split after the last ')'.
    _, sep, rest = raw.rpartition(b")")
    fields = rest.split()
    if not sep or len(fields) < 20:
        return None
    try:
        # rest starts at field 3 (state); field 22 (starttime) is therefore fields[19].
        return fields[0].decode("ascii", "replace"), int(fields[19])
    except ValueError:
        return None


def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, belongs to another user
    except OSError:
        return False  # e.g. pid out of range
    return True


def _process_alive(pid: int, start_time: int | None) -> bool:
    """Whether the process that had ``start_time`` as ``pid`` is still running (and not a zombie)."""
    if not _pid_exists(pid):
        return False
    current = _proc_stat(pid)
    if current is None:
        return True  # exists but unreadable (another OS, hidepid): assume it is the owner
    state, started = current
    if state in {"Z", "X", "x"}:
        return False
    return start_time is None or started == start_time


# -- owner file -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Owner:
    pid: int
    start_time: int | None
    boot_id: str | None
    hostname: str
    created: datetime

    def to_json(self) -> bytes:
        document = {
            "pid": self.pid,
            "start_time": self.start_time,
            "boot_id": self.boot_id,
            "hostname": self.hostname,
            "created": self.created.isoformat(),
        }
        return json.dumps(document, sort_keys=True).encode("utf-8") + b"\n"

    @classmethod
    def from_json(cls, raw: bytes) -> _Owner | None:
        try:
            document: Any = json.loads(raw)
            pid = document["pid"]
            start_time = document["start_time"]
            boot_id = document["boot_id"]
            hostname = document["hostname"]
            created = datetime.fromisoformat(document["created"])
        except (ValueError, TypeError, KeyError):
            return None
        if type(pid) is not int or pid <= 0:
            return None
        if start_time is not None and type(start_time) is not int:
            return None
        if boot_id is not None and not isinstance(boot_id, str):
            return None
        if not isinstance(hostname, str) or created.tzinfo is None:
            return None
        return cls(pid, start_time, boot_id, hostname, created)


def _read_owner(directory: Path) -> _Owner | None:
    """The owner recorded in ``directory``, or None when the file is missing, a link or corrupt."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(directory / OWNER_FILE, flags)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        raw = os.read(fd, _MAX_OWNER_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(raw) > _MAX_OWNER_BYTES:
        return None
    return _Owner.from_json(raw)


# -- deletion -------------------------------------------------------------------------------------


def _make_traversable(top: str) -> None:
    """Give every real directory under ``top`` owner rwx so that it can be emptied. No links followed."""
    with contextlib.suppress(OSError):
        if stat.S_ISDIR(os.lstat(top).st_mode):
            os.chmod(top, 0o700)
    for current, dirnames, _ in os.walk(top, topdown=True, followlinks=False):
        for dirname in dirnames:
            child = os.path.join(current, dirname)
            try:
                mode = os.lstat(child).st_mode
                if stat.S_ISDIR(mode) and stat.S_IMODE(mode) & 0o700 != 0o700:
                    os.chmod(child, stat.S_IMODE(mode) | 0o700)
            except OSError:
                continue  # gone meanwhile, or not ours: rmtree reports what is left


def _delete_tree(path: Path) -> None:
    """Remove ``path`` (a directory tree or a link) without following links. Gone already is fine."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(mode):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    failures: list[str] = []

    def on_error(function: Callable[..., Any], failed: str, exc_info: Any) -> None:
        error = exc_info[1]
        if not isinstance(error, FileNotFoundError):
            failures.append(f"{failed}: {error}")

    for _ in range(2):  # a second pass catches entries made unwritable while the first ran
        failures.clear()
        _make_traversable(str(path))
        # rmtree is symlink-attack safe on Linux (shutil.rmtree.avoids_symlink_attacks): it unlinks
        # links instead of descending into them.
        shutil.rmtree(path, onerror=on_error)
        if not os.path.lexists(path):
            return
    detail = failures[0] if failures else "directory still present"
    raise WorkspaceError(f"could not remove workspace {path} completely ({detail})")


def _mtime(st: os.stat_result) -> datetime:
    return datetime.fromtimestamp(st.st_mtime, UTC)


# -- manager --------------------------------------------------------------------------------------


class WorkspaceManager:
    """Creates, purges and sweeps workspaces under ``root`` (``Settings.workspace_root``).

    ``clock`` supplies "now" for :meth:`sweep`; ``grace`` is how old a workspace without a readable
    owner file must be before it is swept; ``foreign_max_age`` how old one owned by another host must
    be; ``hostname`` defaults to :func:`socket.gethostname`.
    """

    def __init__(
        self,
        root: Path,
        *,
        clock: Clock = utc_now,
        grace: timedelta = DEFAULT_GRACE,
        foreign_max_age: timedelta = DEFAULT_FOREIGN_MAX_AGE,
        hostname: str | None = None,
    ) -> None:
        self.root = Path(root).absolute()
        self.clock = clock
        self.grace = grace
        self.foreign_max_age = foreign_max_age
        self.hostname = hostname if hostname is not None else socket.gethostname()
        self._boot_id = _boot_id()

    # -- create / purge ---------------------------------------------------------------------------

    def _ensure_root(self) -> None:
        if os.path.lexists(self.root) and not self.root.is_dir():
            raise ConfigError(f"workspace root {self.root} exists and is not a directory")
        if not self.root.exists():
            self.root.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.mkdir(self.root, 0o700)
            except FileExistsError:
                pass  # another process made it first
            else:
                os.chmod(self.root, 0o700)
            if not self.root.is_dir():
                raise ConfigError(f"workspace root {self.root} exists and is not a directory")

    def create(self) -> Workspace:
        """Make a new private workspace owned by this process. Prefer :meth:`run`, which purges it."""
        try:
            self._ensure_root()
            run_id = uuid.uuid4().hex
            path = self.root / run_id
            os.mkdir(path, 0o700)
        except OSError as error:
            raise WorkspaceError(f"cannot create a workspace under {self.root}: {error}") from error
        workspace = Workspace(path=path, run_id=run_id)
        try:
            os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask; make it exact
            self._write_owner(path)
        except BaseException:
            with contextlib.suppress(Exception):
                _delete_tree(path)
            raise
        return workspace

    def _write_owner(self, path: Path) -> None:
        pid = os.getpid()
        current = _proc_stat(pid)
        owner = _Owner(
            pid=pid,
            start_time=current[1] if current else None,
            boot_id=self._boot_id,
            hostname=self.hostname,
            created=self.clock(),
        )
        temporary = path / (OWNER_FILE + ".tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(temporary, flags, 0o600)
        try:
            os.write(fd, owner.to_json())
        finally:
            os.close(fd)
        os.replace(temporary, path / OWNER_FILE)

    def purge(self, workspace: Workspace) -> None:
        """Remove ``workspace`` completely. A workspace already gone is not an error.

        Raises :class:`WorkspaceError` if something could not be removed (it is then left as a
        ``.trash-*`` directory that a later :meth:`sweep` retries).
        """
        self._discard(workspace.path)

    def _discard(self, path: Path) -> bool:
        """Rename ``path`` to a trash name, then delete it. False when someone else got there first."""
        trash = path.parent / f".trash-{uuid.uuid4().hex}"
        try:
            os.rename(path, trash)
        except FileNotFoundError:
            return False
        except OSError:
            trash = path  # cannot rename (e.g. a mount point): delete in place
        _delete_tree(trash)
        return True

    @contextlib.contextmanager
    def run(self) -> Iterator[Workspace]:
        """A new workspace for the duration of the ``with`` block, purged however the block ends.

        If the block raises (``KeyboardInterrupt`` included) and purging fails too, the block's
        exception propagates and the purge failure is logged; otherwise a purge failure raises
        :class:`WorkspaceError`.
        """
        workspace = self.create()
        try:
            yield workspace
        except BaseException:
            try:
                self.purge(workspace)
            except Exception as error:
                logger.warning("workspace %s not purged: %s", workspace.path, error)
            raise
        else:
            self.purge(workspace)

    # -- sweep ------------------------------------------------------------------------------------

    def sweep(self, now: datetime | None = None) -> list[Path]:
        """Remove workspaces left behind by dead processes (see the module docstring for the rules).

        Returns the workspaces this call removed. Safe to run while other processes create, use,
        purge or sweep workspaces: entries that vanish meanwhile are skipped, failures are logged.
        """
        now = now if now is not None else self.clock()
        try:
            entries = sorted(os.listdir(self.root))
        except (FileNotFoundError, NotADirectoryError):
            return []
        removed: list[Path] = []
        uid = os.geteuid() if hasattr(os, "geteuid") else None
        for name in entries:
            path = self.root / name
            try:
                if _TRASH.fullmatch(name):
                    _delete_tree(path)
                    continue
                if not _RUN_ID.fullmatch(name):
                    continue
                st = os.lstat(path)
                if not stat.S_ISDIR(st.st_mode) or (uid is not None and st.st_uid != uid):
                    continue
                if self._abandoned(path, st, now) and self._discard(path):
                    removed.append(path)
            except FileNotFoundError:
                continue
            except (OSError, WorkspaceError) as error:
                logger.warning("sweep: could not remove %s: %s", path, error)
        return removed

    def _abandoned(self, path: Path, st: os.stat_result, now: datetime) -> bool:
        owner = _read_owner(path)
        age = now - _mtime(st)
        if owner is None:
            return age > self.grace
        if owner.hostname != self.hostname:
            return age > self.foreign_max_age
        if owner.boot_id and self._boot_id and owner.boot_id != self._boot_id:
            return True
        return not _process_alive(owner.pid, owner.start_time)


# -- temporary files of wrapped tools ---------------------------------------------------------------

_TEMP_VARIABLES = ("TMPDIR", "TEMP", "TMP")
_redirect_lock = threading.Lock()


@contextlib.contextmanager
def temp_files_in(directory: Path) -> Iterator[Path]:
    """Point ``TMPDIR`` (and ``TEMP``/``TMP``) and :data:`tempfile.tempdir` at ``directory`` for the
    block, so that a wrapped tool's own temporary files (FaceFusion's extracted frames, ffmpeg's
    intermediates) land in the run's workspace and are purged with it; restored afterwards.

    The environment is process-wide: blocks are serialised by a lock, so two runs in one process
    never send their tools' files to each other's workspace (separate processes are unaffected).
    Child processes the tool starts inherit the variables.
    """
    with _redirect_lock:
        saved_env = {name: os.environ.get(name) for name in _TEMP_VARIABLES}
        saved_tempdir = tempfile.tempdir
        target = str(directory)
        for name in _TEMP_VARIABLES:
            os.environ[name] = target
        tempfile.tempdir = target
        try:
            yield directory
        finally:
            tempfile.tempdir = saved_tempdir
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
