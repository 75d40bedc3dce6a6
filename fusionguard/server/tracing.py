"""Tracing an uploaded image: the same safe loading as the Guard, the same :class:`Tracer` as the CLI.

The upload is decoded from memory with :func:`fusionguard.media.load_image` under the policy's pixel
limit (and the server's byte limit); nothing is written to disk. The tracer's PDQ index is rebuilt when
the log has grown since it was loaded, so a new output is traceable at once.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from fusionguard.audit.operations import record_summary
from fusionguard.errors import BadInput
from fusionguard.fingerprint import PdqHash
from fusionguard.media import load_image
from fusionguard.store.models import AuditRow

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
        """The tracer, its PDQ index extended with outputs appended since the last call."""
        from fusionguard.guard import load_watermark_key
        from fusionguard.trace import Tracer
        from fusionguard.watermark import WatermarkCodec

        size = self.console.log.state()[1]
        with self._lock:
            if self._tracer is None:
                codec = WatermarkCodec(load_watermark_key(self.console.settings.keys_dir))
                self._tracer = Tracer(self.console.log, codec)
                self._tracer.pdq_index()  # loads every output's PDQ up to now
                self._size = size
            elif size > self._size:
                with self.console.log.engine.connect() as connection:
                    rows = connection.execute(
                        select(AuditRow.seq, AuditRow.pdq)
                        .where(AuditRow.seq >= self._size)
                        .where(AuditRow.pdq.is_not(None))
                        .order_by(AuditRow.seq)
                    ).all()
                if rows:
                    self._tracer.pdq_index().extend(
                        [int(r.seq) for r in rows], [PdqHash.from_hex(str(r.pdq)) for r in rows]
                    )
                self._size = size
            return self._tracer

    def trace(self, data: bytes, filename: str) -> dict[str, Any]:
        """Trace one uploaded image; the result is ``Tracer.trace(...).to_json()`` plus the records."""
        label = upload_label(filename)
        policy = self.console.policy.media
        loaded = load_image(
            data, max_pixels=policy.max_pixels, max_bytes=self.console.config.max_upload_bytes, source=label
        )
        if loaded.format.lower() not in policy.allowed_formats:
            raise BadInput(
                f"{label}: {loaded.format} is not allowed by the policy ({', '.join(policy.allowed_formats)})"
            )
        result = self.tracer().trace(loaded.rgb, label).to_json()
        result["records"] = {
            match["record_id"]: record_summary(self.console.log.get(match["record_id"]))
            for match in result["matches"]
        }
        result["sha256"] = loaded.sha256
        return result
