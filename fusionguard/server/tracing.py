"""Tracing an uploaded image: the same safe loading as the Guard, the same :class:`Tracer` as the CLI.

An image upload is decoded from memory with :func:`fusionguard.media.load_image` under the policy's
pixel limit (and the server's byte limit); nothing is written to disk. A video clip is validated and
traced as ``fusionguard trace`` does (the video policy's limits), from a private temporary directory
removed when the request ends. The trace index is the CLI's (under
the home) and is reopened when the log has grown, so a new output is traceable at once.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fusionguard.audit.operations import record_summary
from fusionguard.errors import BadInput
from fusionguard.media import load_image

if TYPE_CHECKING:
    from fusionguard.server.app import Console
    from fusionguard.trace import Tracer

_LABEL = re.compile(r"[^A-Za-z0-9._ -]")


def upload_label(filename: str) -> str:
    """A file name for messages only: no path, no control or markup characters, at most 80 characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return _LABEL.sub("_", name)[:80] or "upload"


class TraceService:
    def __init__(self, console: Console) -> None:
        self.console = console
        self._lock = threading.Lock()
        self._tracer: Tracer | None = None
        self._size = -1

    def tracer(self) -> Tracer:
        """The tracer (the CLI's: the persisted index under the home), refreshed when the log has grown
        since the last call, so an output released a moment ago is traceable at once."""
        from fusionguard.trace_cli import tracer_for

        size = self.console.log.state()[1]
        with self._lock:
            if self._tracer is None:
                self._tracer = tracer_for(self.console.settings, self.console.log)
                self._tracer.trace_index()  # opens (or builds) the index now, not on the first upload
            elif size > self._size:
                self._tracer.refresh()  # reopened on the next trace: the persisted part plus the tail
            self._size = size
            return self._tracer

    def trace(self, data: bytes, filename: str) -> dict[str, Any]:
        """Trace one uploaded image or video clip; the result is ``TraceResult.to_json()`` plus the
        records it names."""
        from fusionguard.video.probe import sniff

        label = upload_label(filename)
        kind = sniff(data[:4096])
        if kind is not None and kind != "image":  # a clip (animated images too): traced across frames
            result = self._trace_clip(data, label)
            sha256 = hashlib.sha256(data).hexdigest()
        else:
            policy = self.console.policy.media
            loaded = load_image(
                data,
                max_pixels=policy.max_pixels,
                max_bytes=self.console.config.max_upload_bytes,
                source=label,
            )
            if loaded.format.lower() not in policy.allowed_formats:
                raise BadInput(
                    f"{label}: {loaded.format} is not allowed by the policy "
                    f"({', '.join(policy.allowed_formats)})"
                )
            result = self.tracer().trace(loaded.rgb, label).to_json()
            sha256 = loaded.sha256
        result["records"] = {
            match["record_id"]: record_summary(self.console.log.get(match["record_id"]))
            for match in result["matches"]
        }
        result["sha256"] = sha256
        return result

    def _trace_clip(self, data: bytes, label: str) -> dict[str, Any]:
        """PyAV reads a file: the clip lives in a private temporary directory for the call only."""
        from fusionguard.trace_cli import trace_clip

        if len(data) > self.console.config.max_upload_bytes:
            raise BadInput(f"{label}: the upload is over {self.console.config.max_upload_bytes} bytes")
        with tempfile.TemporaryDirectory(prefix="fusionguard-trace-") as folder:  # mode 0700
            path = Path(folder) / f"upload-{label}"  # the label has no separators; messages name it
            path.write_bytes(data)
            return trace_clip(self.tracer(), path).to_json() | {"source": label}
