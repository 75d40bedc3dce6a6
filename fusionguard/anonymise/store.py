"""Sealed regions beside the log: put before the record is appended, fetched for recovery, shredded.

regions = SealedRegions(engine)
regions.put(record_id, [(0, key_id, ciphertext), ...])
regions.get(record_id)  -> [(index, key_id, sha256, ciphertext), ...]
regions.shred(record_id) -> number of ciphertexts deleted
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from fusionguard.errors import RecoveryError
from fusionguard.store.db import first_line
from fusionguard.store.models import SealedRegionRow


class SealedRegions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, record_id: str, sealed: Sequence[tuple[int, str, bytes]]) -> None:
        rows = [
            {
                "record_id": record_id,
                "region_index": index,
                "key_id": key_id,
                "sha256": hashlib.sha256(ciphertext).hexdigest(),
                "ciphertext": ciphertext,
            }
            for index, key_id, ciphertext in sealed
        ]
        if not rows:
            return
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(SealedRegionRow), rows)
        except SQLAlchemyError as error:
            raise RecoveryError(f"cannot store the sealed regions: {first_line(error)}") from None

    def get(self, record_id: str) -> list[tuple[int, str, str, bytes]]:
        query = (
            select(
                SealedRegionRow.region_index,
                SealedRegionRow.key_id,
                SealedRegionRow.sha256,
                SealedRegionRow.ciphertext,
            )
            .where(SealedRegionRow.record_id == record_id)
            .order_by(SealedRegionRow.region_index)
        )
        with self.engine.connect() as connection:
            return [(int(i), str(k), str(s), bytes(c)) for i, k, s, c in connection.execute(query)]

    def shred(self, record_id: str) -> int:
        with self.engine.begin() as connection:
            result = connection.execute(delete(SealedRegionRow).where(SealedRegionRow.record_id == record_id))
            return int(result.rowcount or 0)
