"""Check a fusionguard evidence file offline; needs only Python 3.11+ and `cryptography`.

    python3 verify_evidence.py EVIDENCE.json [--policy TRUSTED.policy] [--json]

Checks the record's Ed25519 signature, its inclusion proof (C2SP tlog-proof) to a log-signed checkpoint
and the witness cosignatures (C2SP tlog-cosignature) against a tlog-policy quorum. --policy: keys you
obtained independently; without it the file's own keys are used. Exit 0 = verified, 3 = not.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

RECORD_CONTEXT = b"fusionguard.audit-record/v1\n"
DASH = "\u2014"


class Invalid(Exception):  # the evidence does not prove what it claims
    pass


def _h(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


def _verify(public: bytes, signature: bytes, message: bytes, what: str) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        raise Invalid(f"{what}: signature does not verify") from None


def parse_policy(text: str) -> tuple[dict[str, bytes], dict[str, tuple[str, bytes]], dict[str, Any], str]:
    """tlog-policy -> (log keys by key ID, witnesses by name, groups, quorum). Ed25519 keys only."""
    logs: dict[str, bytes] = {}
    witnesses: dict[str, tuple[str, bytes]] = {}
    groups: dict[str, tuple[int, list[str]]] = {}
    quorum = None
    for w in (line.split() for line in text.splitlines()):
        if not w or w[0].startswith("#"):
            continue
        if w[0] in ("log", "witness"):
            name, hex_id, material = w[1 if w[0] == "log" else 2].split("+", 2)
            raw = base64.b64decode(material)
            if _h(name.encode(), b"\n", raw)[:4].hex() != hex_id or len(raw) != 33:
                raise Invalid(f"policy: vkey of {name} has a wrong key ID")
            if w[0] == "log":
                logs[hex_id] = raw[1:]
                logs.setdefault("origin:" + name, b"")
            else:
                witnesses[w[1]] = (name, raw[1:])
        elif w[0] == "group":
            k, members = w[2], w[3:]
            groups[w[1]] = (len(members) if k == "all" else 1 if k == "any" else int(k), members)
        elif w[0] == "quorum":
            quorum = w[1]
    if quorum is None:
        raise Invalid("policy: no quorum line")
    return logs, witnesses, groups, quorum


def _meets(name: str, cosigned: set[str], groups: dict[str, Any]) -> bool:
    if name == "none":
        return True
    if name not in groups:
        return name in cosigned
    k, members = groups[name]
    return bool(sum(_meets(m, cosigned, groups) for m in members) >= k)


def _inclusion_root(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.3.2: the root an inclusion proof leads to."""
    if not 0 <= index < size:
        raise Invalid(f"index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise Invalid("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = _h(b"\x01", p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _h(b"\x01", r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn:
        raise Invalid("inclusion proof is too short")
    return r


def verify(bundle: dict[str, Any], policy_text: str | None = None) -> dict[str, Any]:
    """Verify an evidence bundle; return what it proves, or raise Invalid."""
    if bundle.get("format") != "fusionguard.evidence/v1":
        raise Invalid("not a fusionguard evidence file (format fusionguard.evidence/v1)")
    logs, witnesses, groups, quorum = parse_policy(policy_text or str(bundle["witness_policy"]))
    lines = bundle["proof"].split("\n")
    if lines[0] != "c2sp.org/tlog-proof@v1" or not lines[1].startswith("index "):
        raise Invalid("proof is not a c2sp.org/tlog-proof@v1 block")
    index, blank = int(lines[1][6:]), lines.index("", 2)
    path = [base64.b64decode(x, validate=True) for x in lines[2:blank]]
    body, _, signature_text = "\n".join(lines[blank + 1 :]).partition("\n\n")
    body += "\n"
    origin, size_text, root_text = body.split("\n")[:3]
    size, root = int(size_text), base64.b64decode(root_text)
    if "origin:" + origin not in logs:
        raise Invalid(f"checkpoint is for log {origin!r}, which the policy does not list")
    log_key, cosigned = None, {}
    for line in filter(None, signature_text.split("\n")):
        dash, name, blob_text = line.split(" ")
        blob = base64.b64decode(blob_text)
        if dash == DASH and name == origin and blob[:4].hex() in logs:
            _verify(logs[blob[:4].hex()], blob[4:], body.encode(), f"log checkpoint at size {size}")
            log_key = logs[blob[:4].hex()]
        for local, (wname, public) in witnesses.items():
            if name == wname and blob[:4] == _h(wname.encode(), b"\n\x04", public)[:4]:
                cosigned[local] = stamp = int.from_bytes(blob[4:12], "big")
                _verify(public, blob[12:], f"cosignature/v1\ntime {stamp}\n{body}".encode(), local)
    if log_key is None:
        raise Invalid("checkpoint is not signed by a log key of the policy")
    if not _meets(quorum, set(cosigned), groups):
        raise Invalid(f"cosignatures by {sorted(cosigned) or 'no witness'} do not meet the quorum {quorum!r}")
    envelope_text = bundle["envelope"].encode()
    if _inclusion_root(index, size, _h(b"\x00", envelope_text), path) != root:
        raise Invalid("inclusion proof does not lead to the checkpoint's root: the record is not in the log")
    envelope = json.loads(envelope_text)
    record, signature = envelope["record"], envelope["signature"]
    record_bytes = envelope_text[len(b'{"record":') : envelope_text.rindex(b',"signature":{')]
    if not envelope_text.startswith(b'{"record":') or json.loads(record_bytes) != record:
        raise Invalid("record envelope is not in canonical form")
    if record.get("seq") != index:
        raise Invalid(f"record is signed as entry {record.get('seq')}, the proof is for entry {index}")
    keys = {hashlib.sha256(k).digest()[:16].hex(): k for k in logs.values() if k}
    if signature["key_id"] not in keys:
        raise Invalid(f"record is signed by key {signature['key_id']}, which the policy does not list")
    value = base64.b64decode(signature["value"])
    _verify(keys[signature["key_id"]], value, RECORD_CONTEXT + record_bytes, "record")
    trace = bundle.get("trace")
    if trace and trace.get("record_id") != record["record_id"]:
        raise Invalid("the trace in the file is about another record")
    return {"ok": True, "pinned": policy_text is not None, "origin": origin, "index": index,
            "tree_size": size, "root_hash": root.hex(), "record": record, "cosigned": cosigned,
            "quorum": quorum, "trace": trace}  # fmt: skip


def describe(result: dict[str, Any]) -> list[str]:
    """What a verified bundle proves, in plain words."""
    r = result["record"]
    out, model = r.get("output") or {}, r.get("model") or {}
    when = ", ".join(f"{w} at {stamp}" for w, stamp in sorted(result["cosigned"].items()))
    said = [
        f"PROVEN: record {r['record_id']} ({r['kind']}, {r['decision']}) was signed by the log's key: "
        f"made {r['timestamp']} with model {model.get('name')} ({model.get('license')}); output "
        f"SHA-256 {out.get('sha256')}, watermark ID {out.get('watermark_id')}.",
        f"PROVEN: it is entry {result['index']} of log {result['origin']}, under the checkpoint of size "
        f"{result['tree_size']} (root {result['root_hash'][:16]}...).",
        f"PROVEN: witnesses {when or 'none'} (POSIX times) cosigned that checkpoint, meeting the quorum "
        f"{result['quorum']!r}: the operator cannot remove or alter this record later without them noticing.",
    ]
    if trace := result["trace"]:
        said.append(
            f"STATED by the operator, not proven by signatures: the image {trace.get('image_sha256')} "
            f"traces to this record (verdict {trace.get('verdict')}, watermark {trace.get('watermark_id')}, "
            "false alarm "
            f"<= {trace.get('false_alarm_probability')}, PDQ distance {trace.get('pdq_distance')} of 256); "
            "recompute the image's SHA-256 and PDQ hash to check it against the signed record."
        )
    if not result["pinned"]:
        said.append("WARNING: keys were taken from the file itself; pass --policy with keys you trust.")
    return said


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a fusionguard evidence file offline.")
    parser.add_argument("file")
    parser.add_argument("--policy", help="tlog-policy file with the log and witness keys you trust")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        bundle = json.loads(open(args.file, encoding="utf-8").read())  # noqa: SIM115
        result = verify(bundle, open(args.policy, encoding="utf-8").read() if args.policy else None)  # noqa: SIM115
    except (Invalid, OSError, ValueError, KeyError, TypeError, IndexError) as error:
        print(f"NOT VERIFIED: {type(error).__name__ if not str(error) else error}", file=sys.stderr)
        return 3
    print(json.dumps(result, indent=2, sort_keys=True) if args.json else "\n".join(describe(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
