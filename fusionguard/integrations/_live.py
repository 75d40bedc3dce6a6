"""Live sessions for the tools' per-frame call sites: one :class:`~fusionguard.stream.StreamSession`
per live run (a webcam started, a capture generator consumed), opened from the tool's current
source paths, closed when the run ends or the integration is uninstalled.

Fail closed: when the session cannot open (a source fails its checks: the blocked record is in the
log), every frame of that run is black; frames of a blocked session are black too (or raise, per
``stream.on_block``), as :mod:`fusionguard.stream` decides.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fusionguard.adapters._staging import is_audio_path
from fusionguard.audit.record import ModelInfo
from fusionguard.errors import FusionGuardError
from fusionguard.guard import Guard

if TYPE_CHECKING:
    from fusionguard.stream import StreamSession

logger = logging.getLogger("fusionguard.integrations")


class LiveSessions:
    """The current live session of one tool (at most one at a time), shared by its frame threads."""

    def __init__(
        self, guard: Guard, *, model: ModelInfo, tool: str, sources: Callable[[], Sequence[str]]
    ) -> None:
        self.guard = guard
        self.model = model
        self.tool = tool
        self._sources = sources
        self._lock = threading.Lock()
        self._session: StreamSession | None = None
        self._key: tuple[str, ...] | None = None
        self._failed: tuple[str, ...] | None = None  # sources whose session could not open

    def _open(self) -> StreamSession | None:
        key = tuple(str(s) for s in self._sources() if s and not is_audio_path(str(s)))
        if self._session is not None and key == self._key:
            return self._session
        self._close_locked()
        if key == self._failed:
            return None  # refused already (and recorded): not once per frame
        try:
            self._session = self.guard.stream(
                sources=list(key), model=self.model, color_order="BGR", extra={"tool": self.tool}
            )
        except FusionGuardError as error:
            logger.warning("%s live stream not started: %s", self.tool, error)
            self._failed, self._session = key, None
            return None
        self._key, self._failed = key, None
        return self._session

    def release(self, frame: np.ndarray, target: np.ndarray | None) -> np.ndarray:
        """The frame to show: marked by the current session, or black when there is none."""
        with self._lock:
            session = self._open()
        if session is None:
            return np.zeros_like(frame)
        return session.release(frame, target=target)

    def close(self) -> None:
        with self._lock:
            self._close_locked()
            self._failed = None

    def _close_locked(self) -> None:
        session, self._session, self._key = self._session, None, None
        if session is not None:
            try:
                session.close()
            except FusionGuardError as error:  # the close record could not be written
                logger.error("%s live stream close record failed: %s", self.tool, error)


def guard_frame(live: LiveSessions, function: Callable[..., Any], *, frame_arg: int) -> Callable[..., Any]:
    """``function`` unchanged except that the frame it returns goes through ``live``; the argument at
    ``frame_arg`` is the input (camera) frame the face checks look at."""
    import functools

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        produced = function(*args, **kwargs)
        target = args[frame_arg] if len(args) > frame_arg else None
        return live.release(produced, target if isinstance(target, np.ndarray) else None)

    return guarded
