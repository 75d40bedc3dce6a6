"""tlog-policy parsing and quorum rules."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fusionguard.errors import ConfigError
from fusionguard.witness.cosignature import Verifier, parse_vkey, raw_public
from fusionguard.witness.policy import WitnessPolicy


def _vkey(name: str, log: bool = False) -> str:
    public = raw_public(Ed25519PrivateKey.generate().public_key())
    return (Verifier.log(name, public) if log else Verifier.cosigner(name, public)).vkey


def test_groups_and_quorum() -> None:
    text = (
        f"# two organisations\nlog {_vkey('example.test/log', log=True)}\n"
        f"witness X1 {_vkey('x1.test')} http://127.0.0.1:1/\n"
        f"witness X2 {_vkey('x2.test')}\n\twitness X3 {_vkey('x3.test')}\n"
        "group X 2 X1 X2 X3\n"
        f"witness Y1 {_vkey('y1.test')}\n"
        "group Y any Y1\n"
        "group XY all X Y\nquorum XY\n"
    )
    policy = WitnessPolicy.parse(text)
    assert policy.witnesses["X1"].url == "http://127.0.0.1:1"
    assert policy.satisfied({"X1", "X3", "Y1"})
    assert not policy.satisfied({"X1", "Y1"})
    assert not policy.satisfied({"X1", "X2", "X3"})
    assert WitnessPolicy.parse("quorum none\n").satisfied(set())


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "no quorum line"),
        ("quorum w1\n", "not defined"),
        ("witness w1 {w}\ngroup g 2 w1\nquorum g\n", "threshold"),
        ("witness w1 {w}\nwitness w1 {w2}\nquorum w1\n", "already defined"),
        ("witness w1 {w}\nwitness w2 {w}\nquorum w1\n", "duplicate key"),
        ("witness w1 {log}\nquorum w1\n", "0x04"),
        ("quorum none\nquorum none\n", "exactly one"),
        ("witnes w1 {w}\nquorum none\n", "cannot read line"),
    ],
)
def test_bad_policies_name_the_line(text: str, error: str) -> None:
    filled = text.format(w=_vkey("w.test"), w2=_vkey("w2.test"), log=_vkey("l.test", log=True))
    with pytest.raises(ConfigError, match=error):
        WitnessPolicy.parse(filled, source="p")


def test_vkey_round_trip_and_bad_key_id() -> None:
    vkey = _vkey("w.test")
    assert parse_vkey(vkey).vkey == vkey
    name, _key_id, material = vkey.split("+", 2)
    with pytest.raises(Exception, match="has key ID"):
        parse_vkey(f"{name}+00000000+{material}")


def test_module_examples_run() -> None:
    import doctest

    import fusionguard.witness.cosignature
    import fusionguard.witness.policy
    import fusionguard.witness.protocol

    for module in (fusionguard.witness.cosignature, fusionguard.witness.policy, fusionguard.witness.protocol):
        assert doctest.testmod(module).failed == 0
