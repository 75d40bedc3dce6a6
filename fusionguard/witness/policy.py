"""Witness policy in the C2SP tlog-policy format: which logs, which witnesses, what quorum.

    log fusionguard.log/5f0c...+1a2b3c4d+AQ...                  # optional: the log's vkey(s)
    witness w1 witness.example/w1+89ab...+BA... http://127.0.0.1:7001
    witness w2 witness.example/w2+cdef...+BA... http://127.0.0.1:7002
    group both all w1 w2
    quorum both

A witness's URL is its submission prefix (``<url>/add-checkpoint``) and monitoring prefix. The log
submits to every witness that has a URL; a checkpoint is *witnessed* when the cosignatures on it meet
the quorum. ``quorum none`` means no cosignature is required.

>>> policy = WitnessPolicy.parse("quorum none\\n")
>>> policy.satisfied(set())
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fusionguard.errors import ConfigError
from fusionguard.witness.cosignature import (
    COSIGNATURE_TYPE,
    LOG_SIGNATURE_TYPE,
    NoteError,
    Verifier,
    parse_vkey,
)

__all__ = ["Group", "PolicyWitness", "WitnessPolicy"]


@dataclass(frozen=True)
class PolicyWitness:
    name: str  # the policy's local name (w1)
    verifier: Verifier  # key name = the cosigner's name in its signature lines
    url: str | None


@dataclass(frozen=True)
class Group:
    threshold: int
    members: tuple[str, ...]


@dataclass
class WitnessPolicy:
    logs: list[Verifier] = field(default_factory=list)
    witnesses: dict[str, PolicyWitness] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    quorum: str = "none"
    text: str = "quorum none\n"

    @classmethod
    def load(cls, path: Path) -> WitnessPolicy:
        try:
            return cls.parse(path.read_text(), source=str(path))
        except OSError as error:
            raise ConfigError(f"{path}: cannot read the witness policy ({error.strerror})") from None

    @classmethod
    def parse(cls, text: str, *, source: str = "witness policy") -> WitnessPolicy:
        policy = cls(text=text)
        quorum: str | None = None
        keys: set[bytes] = set()
        for number, raw in enumerate(text.split("\n"), 1):
            words = raw.replace("\t", " ").split()
            if not words or words[0].startswith("#"):
                continue

            def fail(why: str, number: int = number) -> ConfigError:
                return ConfigError(f"{source}:{number}: {why}")

            try:
                if words[0] == "log" and len(words) in (2, 3):
                    verifier = parse_vkey(words[1])
                    if verifier.signature_type != LOG_SIGNATURE_TYPE:
                        raise fail("a log vkey must have signature type 0x01 (Ed25519)")
                    if verifier.public_key in keys:
                        raise fail("duplicate key")
                    keys.add(verifier.public_key)
                    policy.logs.append(verifier)
                elif words[0] == "witness" and len(words) in (3, 4):
                    name = words[1]
                    if name in policy.witnesses or name in policy.groups or name == "none":
                        raise fail(f"name {name!r} is already defined")
                    verifier = parse_vkey(words[2])
                    if verifier.signature_type != COSIGNATURE_TYPE:
                        raise fail("a witness vkey must have signature type 0x04 (cosignature/v1)")
                    if verifier.public_key in keys:
                        raise fail("duplicate key")
                    keys.add(verifier.public_key)
                    url = words[3].rstrip("/") if len(words) == 4 else None
                    policy.witnesses[name] = PolicyWitness(name, verifier, url)
                elif words[0] == "group" and len(words) >= 4:
                    name, k, members = words[1], words[2], tuple(words[3:])
                    if name in policy.witnesses or name in policy.groups or name == "none":
                        raise fail(f"name {name!r} is already defined")
                    for member in members:
                        if member not in policy.witnesses and member not in policy.groups:
                            raise fail(f"group member {member!r} is not defined on an earlier line")
                    if len(set(members)) != len(members):
                        raise fail("a group lists a member twice")
                    if k == "all":
                        threshold = len(members)
                    elif k == "any":
                        threshold = 1
                    elif k.isdigit() and 1 <= int(k) <= len(members):
                        threshold = int(k)
                    else:
                        raise fail(f"threshold {k!r} must be all, any or 1..{len(members)}")
                    policy.groups[name] = Group(threshold, members)
                elif words[0] == "quorum" and len(words) == 2:
                    if quorum is not None:
                        raise fail("a policy has exactly one quorum line")
                    name = words[1]
                    if name != "none" and name not in policy.witnesses and name not in policy.groups:
                        raise fail(f"quorum {name!r} is not defined on an earlier line")
                    quorum = name
                else:
                    raise fail(f"cannot read line {raw.strip()[:60]!r}")
            except NoteError as error:
                raise fail(str(error)) from None
        if quorum is None:
            raise ConfigError(f"{source}: no quorum line (write 'quorum none' to require no witnesses)")
        policy.quorum = quorum
        return policy

    def satisfied(self, cosigned: set[str], name: str | None = None) -> bool:
        """Whether the witnesses (policy names) in ``cosigned`` meet the quorum (or group ``name``)."""
        name = self.quorum if name is None else name
        if name == "none":
            return True
        if name in self.witnesses:
            return name in cosigned
        group = self.groups[name]
        return sum(self.satisfied(cosigned, m) for m in group.members) >= group.threshold

    def by_key_name(self) -> dict[str, PolicyWitness]:
        return {w.verifier.name: w for w in self.witnesses.values()}
