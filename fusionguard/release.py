"""Crash-safe release: a journal of the outputs a Guard is about to release, and recovery after a kill.

A guarded run that has an output path releases its output in this order:

1. a journal entry ``<home>/journal/<run_id>.json`` is written (fsynced, renamed into place, the
   directory fsynced) naming the run's future record ID, the destination, the staged file
   ``.NAME.RUN.partial`` beside it, and what was at the destination before the run;
2. the wrapped pipeline runs; the watermarked output is written to the staged file (fsynced);
3. the signed ``allowed`` record is appended to the audit log;
4. the staged file is renamed over the destination;
5. the journal entry is removed.

A process killed anywhere in between leaves its entry behind. The next start of a Guard (and
``fusionguard init`` or ``fusionguard recover``) settles every entry whose owner process is gone:

* the run's record was never appended (or it is ``blocked``): the staged file is deleted, and so is
  any file that appeared at (or changed at) the destination during the run — the wrapped code may
  write there itself;
* the ``allowed`` record was appended and the destination already holds its output: nothing to do;
* the ``allowed`` record was appended and the staged file holds its output: the rename is finished;
* otherwise a signed ``release``/``not_released`` record referring to the run is appended, and the
  leftovers are deleted.

So after any crash and the next start: no file written by the Guard exists without a record, and
every ``allowed`` record's output is either at its destination or followed by a signed record saying
it was never released. Entries of live processes are left alone; entries written on another host (a
home shared over NFS) are reported and left to that host.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fusionguard.audit.log import AuditLog, Filters
from fusionguard.audit.record import not_released_record
from fusionguard.config import Clock, utc_now
from fusionguard.errors import NotFound, ReleaseError
from fusionguard.workspace import owner_gone, process_owner

__all__ = [
    "JOURNAL_DIR",
    "JournalEntry",
    "RecoveryReport",
    "ReleaseJournal",
    "destination_changed",
    "recover",
    "remove_file",
    "snapshot",
    "staged_path",
]

logger = logging.getLogger(__name__)

JOURNAL_DIR = "journal"
_ENTRY = re.compile(r"([0-9a-f]{32})\.json")
_FORMAT = "fusionguard.release-journal/v1"
_MAX_ENTRY_BYTES = 64 * 1024

Snapshot = tuple[int, int, int, int] | None


def snapshot(path: Path) -> Snapshot:
    """What is at ``path`` now: (device, inode, size, mtime in ns) of the entry itself, or None."""
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def destination_changed(path: Path, before: Snapshot) -> bool:
    """Whether something appeared at ``path``, or replaced what was there, since ``before``."""
    now = snapshot(path)
    return now is not None and now != before


def remove_file(path: Path) -> bool:
    """Delete ``path`` if it is a regular file or a link (never a directory); True if it was deleted."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        return False
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def staged_path(destination: Path, run_id: str) -> Path:
    """Where a run's output waits beside its destination (same file system) until it is released."""
    return destination.with_name(f".{destination.name}.{run_id}.partial")


def fsync_directory(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable (best effort where a file system refuses)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _sha256_of(path: Path) -> str | None:
    """SHA-256 of a regular file (never through a link), or None when there is none."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class JournalEntry:
    """One staged release: the run, its future record, its destination, and who is doing it."""

    run_id: str
    record_id: str
    destination: Path
    before: Snapshot
    owner: dict[str, Any]
    path: Path

    @property
    def staged(self) -> Path:
        return staged_path(self.destination, self.run_id)

    def to_json(self) -> bytes:
        document = {
            "format": _FORMAT,
            "run_id": self.run_id,
            "record_id": self.record_id,
            "destination": str(self.destination),
            "before": list(self.before) if self.before is not None else None,
            "owner": self.owner,
        }
        return json.dumps(document, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_file(cls, path: Path) -> JournalEntry:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as handle:
                raw = handle.read(_MAX_ENTRY_BYTES + 1)
            document = json.loads(raw)
            before = document["before"]
            entry = cls(
                run_id=str(document["run_id"]),
                record_id=str(document["record_id"]),
                destination=Path(document["destination"]),
                before=tuple(int(v) for v in before) if before is not None else None,  # type: ignore[arg-type]
                owner=dict(document["owner"]),
                path=path,
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ReleaseError(
                f"release journal entry {path} is unreadable ({error}); remove it by hand"
            ) from None
        if document.get("format") != _FORMAT or f"{entry.run_id}.json" != path.name:
            raise ReleaseError(f"release journal entry {path} is not a fusionguard journal entry")
        return entry


class ReleaseJournal:
    """The directory of staged releases, ``<home>/journal`` (mode 0700)."""

    def __init__(self, directory: Path, *, clock: Clock = utc_now) -> None:
        self.directory = Path(directory).absolute()
        self.clock = clock

    def _ensure(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise ReleaseError(
                f"cannot create the release journal {self.directory}: {error.strerror}"
            ) from None

    def begin(self, *, run_id: str, record_id: str, destination: Path, scratch: Path) -> JournalEntry:
        """Write the entry durably before anything is staged. ``scratch`` is the run's private
        workspace: the entry is written there and renamed into the journal, so a torn entry is
        never seen (the workspace sweep removes it)."""
        self._ensure()
        entry = JournalEntry(
            run_id=run_id,
            record_id=record_id,
            destination=destination.absolute(),
            before=snapshot(destination),
            owner=process_owner(self.clock),
            path=self.directory / f"{run_id}.json",
        )
        temporary = scratch / f".journal-{run_id}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.write(fd, entry.to_json())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, entry.path)
        fsync_directory(self.directory)
        return entry

    def end(self, entry: JournalEntry) -> None:
        """The release is settled (released, or recorded as not released): forget the entry."""
        with contextlib.suppress(FileNotFoundError):
            entry.path.unlink()

    def entries(self) -> list[tuple[Path, JournalEntry | ReleaseError]]:
        """Every entry in the journal (or the error that makes it unreadable), oldest name first."""
        try:
            names = sorted(os.listdir(self.directory))
        except (FileNotFoundError, NotADirectoryError):
            return []
        found: list[tuple[Path, JournalEntry | ReleaseError]] = []
        for name in names:
            if not _ENTRY.fullmatch(name):
                continue
            path = self.directory / name
            try:
                found.append((path, JournalEntry.from_file(path)))
            except ReleaseError as error:
                found.append((path, error))
        return found

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One recovery at a time: two starting Guards must not both settle the same entry."""
        self._ensure()
        fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


@dataclass
class RecoveryReport:
    """What a recovery did, one line per settled entry."""

    finished: list[str] = field(default_factory=list)
    undone: list[str] = field(default_factory=list)
    discarded: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)

    @property
    def settled(self) -> int:
        return len(self.finished) + len(self.undone) + len(self.discarded)

    def lines(self) -> list[str]:
        return (
            [f"finished release of {d}" for d in self.finished]
            + [f"recorded as never released: {d}" for d in self.undone]
            + [f"discarded unrecorded staged output for {d}" for d in self.discarded]
            + [f"removed {d}: it appeared at the destination during a crashed run" for d in self.removed]
            + [f"left alone: {d}" for d in self.left]
        )


def _already_not_released(log: AuditLog, record_id: str) -> bool:
    return any(s.record.refers_to == record_id for s in log.query(Filters(decision="not_released")))


def recover(journal: ReleaseJournal, log: AuditLog, *, actor: str, clock: Clock = utc_now) -> RecoveryReport:
    """Settle every journal entry whose owner is gone (see the module docstring)."""
    report = RecoveryReport()
    if not journal.directory.is_dir():
        return report
    with journal.locked():
        for path, entry in journal.entries():
            if isinstance(entry, ReleaseError):
                report.left.append(str(entry))
                continue
            gone = owner_gone(entry.owner)
            if gone is None:
                report.left.append(f"{path} (written on host {entry.owner.get('hostname')!r})")
                continue
            if not gone:
                continue  # a live run: it settles its own entry
            _settle(entry, log, actor, clock, report)
            journal.end(entry)
    return report


def _settle(entry: JournalEntry, log: AuditLog, actor: str, clock: Clock, report: RecoveryReport) -> None:
    destination, staged = entry.destination, entry.staged
    # A C2PA sidecar (policy provenance.c2pa: sidecar) is staged beside the staged output and moved
    # just before it: it is finished with the output, and discarded with it otherwise.
    staged_sidecar = staged.with_name(staged.name + ".c2pa")
    try:
        stored = log.get(entry.record_id)
    except NotFound:
        stored = None
    output = stored.record.output if stored is not None and stored.record.decision == "allowed" else None
    if output is None:
        # Never recorded as allowed: nothing the Guard wrote may stay, nor what the wrapped code put at
        # the destination while the run was in flight.
        remove_file(staged_sidecar)
        if remove_file(staged):
            report.discarded.append(str(destination))
        if destination_changed(destination, entry.before) and remove_file(destination):
            report.removed.append(str(destination))
        return
    if _sha256_of(destination) == output.sha256:
        remove_file(staged)
        remove_file(staged_sidecar)
        return
    if _sha256_of(staged) == output.sha256:
        if staged_sidecar.exists():
            os.replace(staged_sidecar, destination.with_name(destination.name + ".c2pa"))
        os.replace(staged, destination)
        fsync_directory(destination.parent)
        report.finished.append(str(destination))
        return
    if not _already_not_released(log, entry.record_id):
        log.append(
            not_released_record(
                entry.record_id,
                f"the run was killed before its output reached {destination}; nothing was released",
                actor=actor,
                timestamp=clock(),
            )
        )
    remove_file(staged)
    remove_file(staged_sidecar)
    if destination_changed(destination, entry.before):
        remove_file(destination)
        report.removed.append(str(destination))
    report.undone.append(f"{destination} (record {entry.record_id})")
