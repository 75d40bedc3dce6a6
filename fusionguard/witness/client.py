"""The log's witness client: cosignatures for the log's checkpoints, in the background.

After every ``every_appends`` appends, or ``every_seconds`` after an append when fewer came, a daemon
thread takes the log's signed head and sends it to each witness of the policy that has a URL
(``add-checkpoint``) with a consistency proof from the size that witness last cosigned. Appends only
bump a counter and set an event: they never wait on the network, and a witness that is down only
delays its cosignatures. Returned cosignatures are verified and stored in ``witness_cosignatures``.

A 409 tells the client the witness's size: it retries from there when the log is at least that big,
and otherwise raises the alarm (the witness has cosigned a bigger tree than the log now holds: the
log was rolled back). A 422 on a proof the log computed means the log's history differs from what the
witness cosigned: a fork. Alarms are kept in :attr:`WitnessClient.status` and logged; ``audit verify``
finds the same from the witnesses' checkpoints.

    client = WitnessClient(log, WitnessPolicy.load(home / "witness-policy"))
    client.start()          # registers with the log; appends from now on are witnessed
    client.submit_now()     # one synchronous round (``fusionguard witness submit``)
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from fusionguard.audit.log import AuditLog
from fusionguard.audit.merkle import CompactTree, node_hash
from fusionguard.errors import FusionGuardError
from fusionguard.store import db
from fusionguard.store.models import AuditRow, WitnessCosignature
from fusionguard.witness.cosignature import NoteError, SignedNote, split_note
from fusionguard.witness.policy import PolicyWitness, WitnessPolicy
from fusionguard.witness.protocol import format_request

__all__ = ["WitnessClient", "WitnessStatus"]

_log = logging.getLogger("fusionguard.witness")


@dataclass
class WitnessStatus:
    """What the client knows of one witness."""

    size: int | None = None  # the size it last cosigned (None: not asked yet)
    error: str | None = None  # the last failure to reach it or to get a cosignature
    alarm: str | None = None  # evidence that the log was rolled back or forked
    attempts: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "error": self.error, "alarm": self.alarm, "attempts": self.attempts}


class WitnessClient:
    def __init__(
        self,
        log: AuditLog,
        policy: WitnessPolicy,
        *,
        every_appends: int = 256,
        every_seconds: float = 5.0,
        timeout: float = 5.0,
    ) -> None:
        if every_appends < 1 or every_seconds <= 0 or timeout <= 0:
            raise FusionGuardError("witnessing needs every_appends >= 1 and positive every_seconds/timeout")
        self.log = log
        self.policy = policy
        self.every_appends = every_appends
        self.every_seconds = every_seconds
        self.timeout = timeout
        self.witnesses = [w for w in policy.witnesses.values() if w.url]
        self.status = {w.name: WitnessStatus() for w in self.witnesses}
        self._pending = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._round_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._connections: dict[str, http.client.HTTPConnection] = {}
        self._head_size = 0  # the size of the head last sent
        self._leaves: list[bytes] = []
        self._tree = CompactTree()
        self._subtrees = Subtrees(self._leaves)

    # -- the append side: cheap and network-free -------------------------------------------------

    def notify(self, _note: str = "") -> None:
        """Called after each append: count it, wake the thread when enough have come."""
        self._pending += 1
        if self._pending >= self.every_appends:
            self._wake.set()

    def start(self) -> WitnessClient:
        if self._thread is None and self.witnesses:
            self.log.append_observers.append(self.notify)
            self._thread = threading.Thread(target=self._run, name="fusionguard-witness", daemon=True)
            self._thread.start()
        return self

    def stop(self, *, flush: bool = False) -> None:
        """Stop the thread (after one last round when ``flush``)."""
        if self.notify in self.log.append_observers:
            self.log.append_observers.remove(self.notify)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout * (len(self.witnesses) + 1) * 2)
            self._thread = None
        if flush:
            self.submit_now()
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            woken = self._wake.wait(self.every_seconds)
            if self._stop.is_set():
                return
            if not woken and not self._pending and not self._behind():
                continue
            self._wake.clear()
            self._pending = 0
            try:
                self.submit_now()
            except Exception as error:  # the thread must outlive one bad round
                _log.warning("witnessing round failed: %s", error)

    def _behind(self) -> bool:
        """Whether a witness has not cosigned the last head sent (down, or refused): retry it."""
        return any((s.size or 0) < self._head_size for s in self.status.values())

    # -- one round ------------------------------------------------------------------------------

    def submit_now(self) -> dict[str, WitnessStatus]:
        """Send the log's signed head to every witness now; return each witness's status."""
        with self._round_lock:
            _origin, _size, head = self.log.state()
            if head is None:
                return self.status
            note = split_note(head)
            self._head_size = note.tree_size
            leaves = self._leaves_up_to(note)
            # Where each witness stands: stored beside the checkpoints, read once per client.
            known = self._stored_sizes() if any(s.size is None for s in self.status.values()) else {}
            proofs: dict[int, list[bytes]] = {}
            for witness in self.witnesses:
                status = self.status[witness.name]
                if status.size is None:
                    status.size = known.get(witness.verifier.name, 0)
                self._submit(witness, status, note, leaves, proofs)
            return self.status

    def _leaves_up_to(self, note: SignedNote) -> list[bytes]:
        """Leaf hashes up to the head, read incrementally and checked against the signed root."""
        if len(self._leaves) < note.tree_size:
            with self.log.engine.connect() as connection:
                rows = connection.execute(
                    select(AuditRow.leaf_hash)
                    .where(AuditRow.seq >= len(self._leaves), AuditRow.seq < note.tree_size)
                    .order_by(AuditRow.seq)
                ).all()
            for row in rows:
                leaf = bytes(row[0])
                self._leaves.append(leaf)
                self._tree.append(leaf)
        if self._tree.size != note.tree_size or self._tree.root() != note.root_hash:
            self._leaves, self._tree = [], CompactTree()  # re-read next time, in case of a race
            self._subtrees = Subtrees(self._leaves)
            raise FusionGuardError(
                f"stored leaves do not reproduce the signed head at size {note.tree_size}; "
                "run 'fusionguard audit verify'"
            )
        return self._leaves[: note.tree_size]

    def _stored_sizes(self) -> dict[str, int]:
        with self.log.engine.connect() as connection:
            rows = connection.execute(
                select(WitnessCosignature.witness, func.max(WitnessCosignature.tree_size)).group_by(
                    WitnessCosignature.witness
                )
            ).all()
        return {str(name): int(size) for name, size in rows}

    def _submit(
        self,
        witness: PolicyWitness,
        status: WitnessStatus,
        note: SignedNote,
        leaves: list[bytes],
        proofs: dict[int, list[bytes]],
    ) -> None:
        status.attempts += 1
        for _retry in range(2):
            old = status.size or 0
            if old > note.tree_size:
                status.alarm = (
                    f"witness {witness.name} has cosigned size {old} but the log holds {note.tree_size}: "
                    "the log was rolled back"
                )
                _log.error("%s", status.alarm)
                return
            if old not in proofs:  # witnesses in step share one proof per round
                proofs[old] = (
                    self._subtrees.consistency(old, note.tree_size) if 0 < old < note.tree_size else []
                )
            proof = proofs[old]
            try:
                code, body = self._post(witness, format_request(old, proof, note.text()))
            except OSError as error:
                status.error = f"cannot reach {witness.url}: {error}"
                return
            if code == 200:
                self._store(witness, status, note, body)
                return
            if code == 409 and body.strip().isdigit():
                status.size = int(body.strip())
                status.error = f"409: the witness is at size {status.size}"
                continue
            status.error = f"{code}: {body.strip()[:200]}"
            if code == 422:
                status.alarm = (
                    f"witness {witness.name} refused the log's consistency proof from size {old}: "
                    "the log's history differs from what it cosigned (a fork)"
                )
                _log.error("%s", status.alarm)
            return

    def _post(self, witness: PolicyWitness, body: bytes) -> tuple[int, str]:
        assert witness.url is not None
        url = urllib.parse.urlsplit(witness.url)
        for attempt in range(2):  # a kept-alive connection the witness closed: reconnect once
            connection = self._connections.get(witness.name)
            if connection is None:
                connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=self.timeout)
                self._connections[witness.name] = connection
            try:
                connection.request("POST", url.path + "/add-checkpoint", body=body)
                response = connection.getresponse()
                return response.status, response.read().decode(errors="replace")
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                del self._connections[witness.name]
                if attempt or isinstance(error, ConnectionRefusedError | TimeoutError):
                    raise OSError(str(error) or type(error).__name__) from None
        raise OSError("unreachable")

    def _store(self, witness: PolicyWitness, status: WitnessStatus, note: SignedNote, body: str) -> None:
        mine = None
        for line in body.split("\n"):
            if not line:
                continue
            try:
                cosigned = split_note(note.body + "\n" + line + "\n").signatures[0]
                if witness.verifier.matches(cosigned):
                    timestamp = witness.verifier.verify_line(note.body, cosigned)
                    mine = (cosigned.text, timestamp)
            except NoteError as error:
                status.error = f"bad cosignature: {error}"
                return
        if mine is None:
            status.error = "the witness answered without a cosignature by its policy key"
            return
        try:
            with (
                self.log.engine.connect().execution_options(**{db.WRITE: True}) as connection,
                connection.begin(),
            ):
                connection.execute(
                    insert(WitnessCosignature).values(
                        witness=witness.verifier.name,
                        tree_size=note.tree_size,
                        root_hash=note.root_hash,
                        note=note.text(),
                        cosignature=mine[0],
                        cosigned_at=datetime.fromtimestamp(mine[1], UTC).replace(tzinfo=None),
                        created_at=datetime.now(UTC).replace(tzinfo=None),
                    )
                )
        except IntegrityError:
            pass  # this size was cosigned before (a re-submission): the first cosignature stays
        except SQLAlchemyError as error:
            status.error = f"cannot store the cosignature: {db.first_line(error)}"
            return
        status.size, status.error = note.tree_size, None


class Subtrees:
    """RFC 9162 consistency proofs over a growing list of leaf hashes, remembering subtree roots.

    A proof needs the roots of O(log n) subtrees; computed from scratch that is O(n) hashing per
    proof. The roots of perfect subtrees of 64 leaves or more never change once complete, so they are
    kept (n/32 hashes of memory), and each later proof costs O(log n) hashes plus the new leaves.
    """

    MEMO_FROM = 64

    def __init__(self, leaves: list[bytes]) -> None:
        self.leaves = leaves
        self.memo: dict[tuple[int, int], bytes] = {}

    def root(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 1:
            return self.leaves[lo]
        perfect = n & (n - 1) == 0
        if perfect and n >= self.MEMO_FROM and (lo, n) in self.memo:
            return self.memo[lo, n]
        k = n // 2 if perfect else 1 << ((n - 1).bit_length() - 1)
        value = node_hash(self.root(lo, lo + k), self.root(lo + k, hi))
        if perfect and n >= self.MEMO_FROM:
            self.memo[lo, n] = value
        return value

    def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        """PROOF(old_size, D[new_size]) of RFC 9162 section 2.1.4.1 (0 < old_size <= new_size)."""
        return self._proof(old_size, 0, new_size, True)

    def _proof(self, m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if complete else [self.root(lo, hi)]
        k = 1 << ((n - 1).bit_length() - 1)
        if m <= k:
            return [*self._proof(m, lo, lo + k, complete), self.root(lo + k, hi)]
        return [*self._proof(m - k, lo + k, hi, False), self.root(lo, lo + k)]


def wait_for(client: WitnessClient, size: int, timeout: float = 10.0) -> bool:
    """Wait until every witness cosigned at least ``size`` (tests and the CLI's ``--wait``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all((s.size or 0) >= size for s in client.status.values()):
            return True
        time.sleep(0.02)
    return False
