"""The witness's rules (C2SP tlog-witness add-checkpoint) over HTTP, against a real server process."""

from __future__ import annotations

import base64
import hashlib
import http.client
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fusionguard.audit.checkpoint import Checkpoint
from fusionguard.audit.keys import LocalSigner
from fusionguard.audit.merkle import consistency_proof, leaf_hash, root_hash
from fusionguard.errors import ConfigError
from fusionguard.witness.cosignature import DASH, NoteError, Verifier, split_note
from fusionguard.witness.protocol import format_request
from fusionguard.witness.server import Witness, init_home
from tests.witness.support import WitnessProcess

ORIGIN = "example.test/log"


class Log:
    """A log in memory: leaves and signed checkpoints."""

    def __init__(self, origin: str = ORIGIN) -> None:
        self.origin = origin
        self.signer = LocalSigner.generate()
        self.leaves: list[bytes] = []

    @property
    def vkey(self) -> str:
        return Verifier.log(self.origin, self.signer.public_key).vkey

    def grow(self, n: int, tag: bytes = b"") -> None:
        self.leaves += [leaf_hash(tag + bytes([len(self.leaves) % 256, i])) for i in range(n)]

    def note(self, size: int | None = None) -> str:
        size = len(self.leaves) if size is None else size
        return Checkpoint(self.origin, size, root_hash(self.leaves[:size])).sign(self.signer)

    def request(self, old: int, size: int | None = None) -> bytes:
        size = len(self.leaves) if size is None else size
        proof = consistency_proof(self.leaves[:size], old) if 0 < old < size else []
        return format_request(old, proof, self.note(size))


def post(port: int, body: bytes) -> tuple[int, str, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/add-checkpoint", body=body)
    response = connection.getresponse()
    answer = response.read().decode()
    connection.close()
    return response.status, response.getheader("Content-Type") or "", answer


@pytest.fixture
def served(tmp_path: Path) -> tuple[WitnessProcess, Log]:
    log = Log()
    witness = WitnessProcess.create(tmp_path / "w", "witness.test/w", [log.vkey]).start()
    yield witness, log  # type: ignore[misc]
    witness.stop()


def test_add_checkpoint_statuses(served: tuple[WitnessProcess, Log]) -> None:
    witness, log = served
    log.grow(5)
    status, _, body = post(witness.port, log.request(0))
    assert status == 200 and body.startswith(f"{DASH} witness.test/w ") and body.endswith("\n")
    timestamp = witness.verifier.verify_line(split_note(log.note()).body, body.strip())
    assert timestamp > 1_700_000_000  # a real, non-zero POSIX time
    log.grow(3)
    assert post(witness.port, log.request(0))[:2] == (409, "text/x.tlog.size")  # stale old size
    assert post(witness.port, log.request(0))[2] == "5\n"
    assert post(witness.port, log.request(5))[0] == 200
    assert post(witness.port, log.request(8))[0] == 200  # same size, same root: cosigned again
    assert post(witness.port, log.request(8, 7))[0] == 400  # old size larger than the checkpoint

    forked = Log()
    forked.signer = log.signer  # the stolen key signs a different history
    forked.grow(12, tag=b"fork")
    assert post(witness.port, forked.request(8))[0] == 422  # its proof cannot reach the cosigned root
    assert post(witness.port, forked.request(0))[0] == 409

    stranger = Log("example.test/other")
    stranger.grow(2)
    assert post(witness.port, stranger.request(0))[0] == 404  # unknown origin
    impostor = Log()  # the right origin, signed by a key the witness does not trust
    impostor.grow(9)
    assert post(witness.port, impostor.request(8))[0] == 403
    assert post(witness.port, b"old 01\n\n" + log.note().encode())[0] == 400
    assert post(witness.port, b"nonsense")[0] == 400

    # Monitoring: the latest cosigned checkpoint, with the log's and the witness's signatures.
    connection = http.client.HTTPConnection("127.0.0.1", witness.port, timeout=10)
    connection.request("GET", f"/{hashlib.sha256(ORIGIN.encode()).hexdigest()}/checkpoint")
    response = connection.getresponse()
    note = split_note(response.read().decode())
    assert response.status == 200 and note.tree_size == 8
    assert [s.name for s in note.signatures] == [ORIGIN, "witness.test/w"]


def test_state_survives_a_restart(served: tuple[WitnessProcess, Log]) -> None:
    witness, log = served
    log.grow(4)
    assert post(witness.port, log.request(0))[0] == 200
    witness.stop()
    witness.start()
    log.grow(4)
    assert post(witness.port, log.request(0))[2] == "4\n"
    assert post(witness.port, log.request(4))[0] == 200


def test_concurrent_submissions_never_roll_the_witness_back(served: tuple[WitnessProcess, Log]) -> None:
    """Many clients race from the same old size: exactly one wins, the others get 409 with its size."""
    witness, log = served
    log.grow(10)
    assert post(witness.port, log.request(0, 10))[0] == 200
    log.grow(30)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def submit(size: int) -> None:
        status, _, body = post(witness.port, log.request(10, size))
        with lock:
            results.append((status, body))

    threads = [threading.Thread(target=submit, args=(size,)) for size in range(11, 41)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [body for status, body in results if status == 200]
    assert len(winners) == 1
    sizes = {body for status, body in results if status == 409}
    assert len(sizes) == 1 and len(results) == 30
    final = int(sizes.pop())
    assert 11 <= final <= 40
    assert post(witness.port, log.request(final))[0] == 200  # the winner's size is the witness's state


def test_witness_in_process_rules(tmp_path: Path) -> None:
    log = Log()
    init_home(tmp_path / "w", "witness.test/w")
    (tmp_path / "w" / "logs").write_text(f"# the logs this witness accepts\nlog {log.vkey}\n")
    witness = Witness(tmp_path / "w")
    log.grow(1)
    witness.add_checkpoint(log.request(0))
    with pytest.raises(ConfigError, match="already has a witness key"):
        init_home(tmp_path / "w", "witness.test/w")
    key = tmp_path / "w" / "witness.key"
    key.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        Witness(tmp_path / "w")


def test_cosignature_format_matches_the_spec() -> None:
    """tlog-cosignature: key ID over name || 0x0A || 0x04 || key; signed message; 8-byte timestamp."""
    key = Ed25519PrivateKey.generate()
    from fusionguard.witness.cosignature import cosign, raw_public

    body = f"{ORIGIN}\n3\n{base64.b64encode(bytes(32)).decode()}\n"
    line = cosign(key, "w.test", body, 1_679_315_147)
    blob = base64.b64decode(line.split(" ")[2])
    public = raw_public(key.public_key())
    assert blob[:4] == hashlib.sha256(b"w.test\n\x04" + public).digest()[:4]
    assert int.from_bytes(blob[4:12], "big") == 1_679_315_147
    message = f"cosignature/v1\ntime 1679315147\n{body}".encode()
    key.public_key().verify(blob[12:], message)
    verifier = Verifier.cosigner("w.test", public)
    with pytest.raises(NoteError, match="does not verify"):
        verifier.verify_line(body.replace("\n3\n", "\n4\n"), line.strip())
