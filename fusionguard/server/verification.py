"""``audit verify`` in the background, with progress, for the console's verification page.

One job per server process at a time; its last result stays for the dashboard. It calls the very
function behind ``fusionguard audit verify`` (:func:`fusionguard.audit.verify.verify_log`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fusionguard.audit.log import AuditLog
from fusionguard.audit.verify import verify_log
from fusionguard.config import utc_now
from fusionguard.errors import FusionGuardError


@dataclass
class VerifyState:
    running: bool = False
    total: int = 0
    done: int = 0
    full: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None
    started_by: str = ""
    result: dict[str, Any] | None = None
    error: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "total": self.total,
            "done": self.done,
            "percent": int(100 * self.done / self.total) if self.total else (100 if self.result else 0),
            "full": self.full,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "started_by": self.started_by,
            "result": self.result,
            "error": self.error,
        }


class VerifyJob:
    def __init__(self, log: AuditLog) -> None:
        self.log = log
        self.state = VerifyState()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self.state.to_json()

    def start(self, *, full: bool, by: str) -> bool:
        """Start a run unless one is running; True when this call started it."""
        with self._lock:
            if self.state.running:
                return False
            history = self.state.history
            self.state = VerifyState(
                running=True, total=self.log.count(), full=full, started_at=utc_now(), started_by=by
            )
            self.state.history = history
            self._thread = threading.Thread(
                target=self._run, args=(full,), name="fusionguard-verify", daemon=True
            )
            self._thread.start()
            return True

    def _progress(self, step: int) -> None:
        self.state.done += step  # one writer (this thread); readers take a snapshot under the lock

    def _run(self, full: bool) -> None:
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            report = verify_log(self.log, full=full, progress=self._progress)
            result = {
                "ok": report.ok,
                "records": report.records,
                "tree_size": report.tree_size,
                "root_hash": report.root_hash.hex(),
                "problems": [p.to_dict() for p in report.problems],
            }
        except FusionGuardError as failure:
            error = str(failure)
        except Exception as failure:  # a crash must show on the page, not vanish with the thread
            error = f"verification crashed: {failure!r}"
        with self._lock:
            self.state.running = False
            self.state.finished_at = utc_now()
            self.state.result = result
            self.state.error = error
            self.state.history.insert(0, self.state.to_json())
            del self.state.history[20:]

    def wait(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
