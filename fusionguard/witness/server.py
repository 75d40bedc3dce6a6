"""A small C2SP tlog-witness: ``fusionguard witness serve --listen 127.0.0.1:PORT --home DIR``.

The home holds the witness's own Ed25519 cosigning key (``witness.key``, 0600), its name (``name``),
the logs it accepts (``logs``: one log vkey per line, re-read when the file changes) and its state
(``witness.db``, SQLite in WAL mode with ``synchronous=FULL``: a cosignature is answered only once the
new state is on disk). One committer thread checks submissions in arrival order against the state the
ones before them left, and commits them in batches (group commit: one fsync for every submission that
arrived meanwhile), so concurrent submissions for one log can never roll it back (the race the spec
warns of) and the fsync is shared. Signature checks run in the request threads, before the queue.
Refused checkpoints that carry a valid log signature are kept in ``refused`` as possible evidence of
log misbehaviour.

Why the standard library's threading HTTP server: the witness is a few hundred requests a second of
one signature check, one proof check, one signature and one SQLite commit each; a thread per
keep-alive connection does that with no dependency to audit or pin, which matters for a service whose
whole value is being trustworthy and easy to run on a separate machine.

Routes: ``POST /add-checkpoint`` and ``GET /<sha256(origin) hex>/checkpoint`` (monitoring).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import sqlite3
import stat
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fusionguard.audit.keys import raw_public
from fusionguard.audit.merkle import EMPTY_ROOT
from fusionguard.errors import ConfigError
from fusionguard.witness.cosignature import (
    LOG_SIGNATURE_TYPE,
    NoteError,
    SignatureLine,
    SignedNote,
    Verifier,
    cosign,
    parse_vkey,
    split_note,
)
from fusionguard.witness.protocol import SIZE_CONTENT_TYPE, Refusal, check_submission, parse_request

__all__ = ["Witness", "add_log", "init_home", "make_server", "serve"]

MAX_BODY = 64 * 1024
_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    origin TEXT PRIMARY KEY, tree_size INTEGER NOT NULL, root_hash BLOB NOT NULL,
    note TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS refused (
    id INTEGER PRIMARY KEY, origin TEXT NOT NULL, status INTEGER NOT NULL, detail TEXT NOT NULL,
    request BLOB NOT NULL, received_at REAL NOT NULL);
"""


def init_home(home: Path, name: str) -> Verifier:
    """Create a witness home with a fresh cosigning key; return the witness's verifier (vkey)."""
    if not name or " " in name or "+" in name:
        raise ConfigError(f"witness name {name!r} must be non-empty, without spaces or '+'")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_path = home / "witness.key"
    if key_path.exists():
        raise ConfigError(f"{key_path} exists: this home already has a witness key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    (home / "name").write_text(name + "\n")
    (home / "logs").touch()
    return Verifier.cosigner(name, raw_public(key.public_key()))


def add_log(home: Path, vkey: str) -> Verifier:
    verifier = parse_vkey(vkey)
    if verifier.signature_type != LOG_SIGNATURE_TYPE:
        raise ConfigError("a log vkey must have signature type 0x01 (an Ed25519 checkpoint key)")
    with open(home / "logs", "a") as handle:
        handle.write(verifier.vkey + "\n")
    return verifier


def _load_key(path: Path) -> Ed25519PrivateKey:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"{path} is readable by others (mode {oct(mode & 0o777)}); chmod 600 it")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ConfigError(f"{path} not found; run 'fusionguard witness init --home DIR --name N'") from None
    except ValueError:
        raise ConfigError(f"{path} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} is not an Ed25519 key")
    return key


@dataclass
class _Logs:
    mtime: float
    by_origin: dict[str, list[Verifier]]


@dataclass
class _Pending:
    """One submission waiting for the group commit."""

    old_size: int
    proof: list[bytes]
    note: SignedNote
    log_lines: tuple[SignatureLine, ...]
    body: bytes
    cosignature: str | None = None
    error: Refusal | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Witness:
    """The witness's rules and state, independent of HTTP (tests and benchmarks call it directly)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.key = _load_key(home / "witness.key")
        try:
            self.name = (home / "name").read_text().strip()
        except FileNotFoundError:
            raise ConfigError(f"{home / 'name'} not found; run 'fusionguard witness init'") from None
        self.verifier = Verifier.cosigner(self.name, raw_public(self.key.public_key()))
        self.db_path = home / "witness.db"
        self._local = threading.local()
        self._logs = _Logs(-1.0, {})
        self._logs_lock = threading.Lock()
        self._connection().executescript(_SCHEMA)
        self._queue: queue.Queue[_Pending] = queue.Queue()
        threading.Thread(target=self._commit_loop, name="witness-commit", daemon=True).start()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.db_path, isolation_level=None, timeout=30)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            self._local.connection = connection
        return connection

    def logs(self) -> dict[str, list[Verifier]]:
        """The accepted logs by origin, re-read when the ``logs`` file changed."""
        path = self.home / "logs"
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            mtime = 0.0
        with self._logs_lock:
            if mtime != self._logs.mtime:
                found: dict[str, list[Verifier]] = {}
                text = path.read_text() if mtime else ""
                for number, line in enumerate(text.split("\n"), 1):
                    line = line.strip()
                    if not line or line.startswith("#"):
                        continue
                    try:
                        verifier = parse_vkey(line.removeprefix("log ").split()[0])
                    except NoteError as error:
                        raise ConfigError(f"{path}:{number}: {error}") from None
                    found.setdefault(verifier.name, []).append(verifier)
                self._logs = _Logs(mtime, found)
            return self._logs.by_origin

    def add_checkpoint(self, body: bytes) -> str:
        """Check a submission, store the new state and return the cosignature line; or raise Refusal."""
        old_size, proof, text = parse_request(body)
        try:
            note = split_note(text)
        except NoteError as error:
            raise Refusal(400, str(error)) from None
        keys = self.logs().get(note.origin)
        if not keys:
            raise Refusal(404, f"unknown log origin {note.origin!r}")
        signed = False
        for line in note.signatures:
            for key in keys:
                if key.matches(line):
                    try:
                        key.verify_line(note.body, line)
                    except NoteError as error:
                        raise Refusal(403, str(error)) from None
                    signed = True
        if not signed:
            raise Refusal(403, f"checkpoint carries no signature by a trusted key of {note.origin!r}")
        log_lines = tuple(s for s in note.signatures if any(k.matches(s) for k in keys))
        pending = _Pending(old_size, proof, note, log_lines, body)
        self._queue.put(pending)
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        assert pending.cosignature is not None
        return pending.cosignature

    def _commit_loop(self) -> None:
        """Group commit: check a batch of submissions in order, in one transaction, one fsync.

        Each submission is checked against the state as the ones before it in the batch left it,
        exactly as if they had been committed one by one; none is answered before the batch is durable.
        """
        connection = self._connection()
        while True:
            batch = [self._queue.get()]
            while len(batch) < 256:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._commit(connection, batch)
            except BaseException as error:  # a database failure fails the whole batch, nothing cosigned
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
                for pending in batch:
                    pending.cosignature = None
                    pending.error = Refusal(500, f"the witness could not store its state: {error}")
            for pending in batch:
                pending.done.set()

    def _commit(self, connection: sqlite3.Connection, batch: list[_Pending]) -> None:
        connection.execute("BEGIN IMMEDIATE")
        state: dict[str, tuple[int, bytes]] = {}
        for pending in batch:
            note = pending.note
            if note.origin not in state:
                row = connection.execute(
                    "SELECT tree_size, root_hash FROM checkpoints WHERE origin = ?", (note.origin,)
                ).fetchone()
                state[note.origin] = (int(row[0]), bytes(row[1])) if row else (0, EMPTY_ROOT)
            try:
                check_submission(
                    pending.old_size, pending.proof, note.tree_size, note.root_hash, *state[note.origin]
                )
            except Refusal as refusal:
                pending.error = refusal
                if refusal.status in (409, 422):  # validly signed yet refused: kept, it may be evidence
                    connection.execute(
                        "INSERT INTO refused (origin, status, detail, request, received_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (note.origin, refusal.status, refusal.detail, pending.body, time.time()),
                    )
                continue
            now = time.time()
            pending.cosignature = cosign(self.key, self.name, note.body, int(now))
            state[note.origin] = (note.tree_size, note.root_hash)
            connection.execute(
                "INSERT INTO checkpoints (origin, tree_size, root_hash, note, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET tree_size = excluded.tree_size, "
                "root_hash = excluded.root_hash, note = excluded.note, updated_at = excluded.updated_at",
                (
                    note.origin,
                    note.tree_size,
                    note.root_hash,
                    note.text(pending.log_lines) + pending.cosignature,
                    now,
                ),
            )
        connection.execute("COMMIT")

    def checkpoint(self, origin_hash: str) -> str | None:
        """The latest cosigned checkpoint of the log whose SHA-256(origin) is ``origin_hash``."""
        for origin in self.logs():
            if hashlib.sha256(origin.encode()).hexdigest() == origin_hash:
                row = (
                    self._connection()
                    .execute("SELECT note FROM checkpoints WHERE origin = ?", (origin,))
                    .fetchone()
                )
                return str(row[0]) if row else None
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the spec recommends
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or -1)
        if self.path.rstrip("/") != "/add-checkpoint":
            self._answer(404, b"not found\n")
            return
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self._answer(400 if length < 0 else 413, b"a Content-Length up to 64 KiB is required\n")
            return
        body = self.rfile.read(length)
        try:
            line = self.server.witness.add_checkpoint(body)
        except Refusal as refusal:
            kind = SIZE_CONTENT_TYPE if refusal.status == 409 else "text/plain; charset=utf-8"
            self._answer(refusal.status, refusal.body, kind)
            return
        except Exception as error:  # one bad request must not stop the witness
            self._answer(500, f"internal error: {type(error).__name__}\n".encode())
            return
        self._answer(200, line.encode())

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        if len(parts) == 2 and parts[1] == "checkpoint" and len(parts[0]) == 64:
            note = self.server.witness.checkpoint(parts[0].lower())
            if note is not None:
                self._answer(200, note.encode())
                return
        self._answer(404, b"not found\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], witness: Witness, verbose: bool) -> None:
        self.witness = witness
        self.verbose = verbose
        super().__init__(address, _Handler)


def make_server(witness: Witness, host: str, port: int, *, verbose: bool = False) -> ThreadingHTTPServer:
    return _Server((host, port), witness, verbose)


def serve(home: Path, listen: str, *, verbose: bool = False) -> None:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--listen {listen!r} must be HOST:PORT")
    witness = Witness(home)
    server = make_server(witness, host, int(port), verbose=verbose)
    print(
        f"witness {witness.verifier.vkey} listening on http://{host}:{server.server_address[1]}", flush=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
