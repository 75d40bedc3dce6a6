"""The model-license check: normalisation, model cards, and decisions under each shipped policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusionguard.audit.record import ModelInfo
from fusionguard.checks.license import (
    LicenseCheck,
    license_from_model_card,
    normalise_license,
)
from fusionguard.errors import BadInput, LicenseDenied, PolicyViolation
from fusionguard.policy import Policy


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Apache 2.0", "apache-2.0"),
        ("Apache-2.0", "apache-2.0"),
        ("apache2", "apache-2.0"),
        ("Apache License, Version 2.0", "apache-2.0"),
        ("  APACHE-2  ", "apache-2.0"),
        ("apache-1.1", "apache-1.1"),
        ("MIT", "mit"),
        ("MIT License", "mit"),
        ("CC BY-NC 4.0", "cc-by-nc-4.0"),
        ("CC-BY-NC-SA-4.0", "cc-by-nc-sa-4.0"),
        ("cc by nc nd 4", "cc-by-nc-nd-4.0"),
        ("CC BY 4.0", "cc-by-4.0"),
        ("cc-by-2.5", "cc-by-2.5"),
        ("CC0", "cc0-1.0"),
        ("CC0 1.0 Universal", "cc0-1.0"),
        ("BSD 3-Clause", "bsd-3-clause"),
        ("bsd3", "bsd-3-clause"),
        ("GPLv3", "gpl-3.0"),
        ("GPL-3.0+", "gpl-3.0-or-later"),
        ("lgpl-2.1", "lgpl-2.1"),
        ("creativeml-openrail-m", "creativeml-openrail-m"),
        ("CreativeML OpenRAIL-M", "creativeml-openrail-m"),
        ("OpenRAIL", "openrail"),
        ("openrail++", "openrail++"),
        ("The Unlicense", "unlicense"),
        ("other", "other"),
        ("llama3", "llama3"),
        ("", "unknown"),
        ("   ", "unknown"),
        (None, "unknown"),
        ("NOASSERTION", "unknown"),
        ("n/a", "unknown"),
    ],
)
def test_normalise_license(text: str | None, expected: str) -> None:
    assert normalise_license(text) == expected


def test_normalise_is_idempotent() -> None:
    for text in ("Apache 2.0", "CC BY-NC-SA 4.0", "BSD 2-Clause", "GPLv2", "OpenRAIL++", None):
        once = normalise_license(text)
        assert normalise_license(once) == once


# --- model cards ------------------------------------------------------------------------------------


def card(tmp_path: Path, text: str) -> Path:
    (tmp_path / "README.md").write_text(text, encoding="utf-8")
    return tmp_path


def test_card_in_a_directory(tmp_path: Path) -> None:
    card(tmp_path, "---\nlicense: Apache 2.0\ntags: [face-swap]\n---\n# My model\n")
    assert license_from_model_card(tmp_path) == "apache-2.0"


def test_card_given_as_a_file_path_string(tmp_path: Path) -> None:
    card(tmp_path, "\ufeff---\nlicense: cc-by-nc-4.0\n...\nbody\n")  # BOM and '...' terminator
    assert license_from_model_card(str(tmp_path / "README.md")) == "cc-by-nc-4.0"


@pytest.mark.parametrize(
    "text",
    [
        "# A model card without front matter\nlicense: mit\n",
        "---\ntags: [x]\n---\n",  # front matter without a license
        "---\n---\nbody\n",  # empty front matter
        "---\nlicense: null\n---\n",
        "---\nlicense: [mit, apache-2.0]\n---\n",  # dual-licensed: the operator chooses
    ],
)
def test_card_without_a_usable_license_is_unknown(tmp_path: Path, text: str) -> None:
    assert license_from_model_card(card(tmp_path, text)) == "unknown"


def test_single_item_license_list(tmp_path: Path) -> None:
    assert license_from_model_card(card(tmp_path, "---\nlicense: [MIT]\n---\n")) == "mit"


def test_missing_card_is_unknown(tmp_path: Path) -> None:
    assert license_from_model_card(tmp_path) == "unknown"
    assert license_from_model_card(tmp_path / "missing" / "README.md") == "unknown"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("---\nlicense: mit\n", r"README\.md: model card front matter starts with '---' but never"),
        ("---\nlicense: [mit\n---\n", r"README\.md: malformed model card front matter at line"),
        ("---\n- a\n- b\n---\n", r"front matter is a list, expected a mapping"),
        ("---\nlicense: 3\n---\n", r"model card license is 3 \(int\), expected a string"),
    ],
)
def test_malformed_card_is_bad_input(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(BadInput, match=expected) as info:
        license_from_model_card(card(tmp_path, text))
    assert "\n" not in str(info.value)


def test_card_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_bytes(b"---\nlicense: \xff\xfe\n---\n")
    with pytest.raises(BadInput, match="not UTF-8"):
        license_from_model_card(tmp_path)


# --- the check --------------------------------------------------------------------------------------

# (license as declared, expected outcome) under each shipped policy.
EXPECTED = {
    "default": {
        "apache-2.0": "no-allow-list",
        "creativeml-openrail-m": "no-allow-list",
        "CC BY-NC 4.0": "deny-list",
        "cc-by-nc-sa-4.0": "deny-list",
        "unknown": "unknown",
        "other": "unknown",
    },
    "strict": {
        "Apache 2.0": "allow-list",
        "mit": "allow-list",
        "openrail++": "not-in-allow-list",
        "gpl-3.0": "not-in-allow-list",
        "cc-by-nc-4.0": "deny-list",
        "": "unknown",
    },
    "research": {
        "mit": "no-allow-list",
        "cc-by-nc-4.0": "no-allow-list",
        "cc-by-nc-nd-4.0": "no-allow-list",
        "unknown": "unknown",
        "other": "unknown",
    },
}
CASES = [(policy, lic, rule) for policy, table in EXPECTED.items() for lic, rule in table.items()]


@pytest.mark.parametrize(("policy_name", "declared", "rule"), CASES)
def test_decision_under_shipped_policies(policy_name: str, declared: str, rule: str) -> None:
    policy = Policy.named(policy_name)
    model = ModelInfo("m", "1", declared)
    decision = LicenseCheck().evaluate(model, policy)
    assert decision.rule == rule
    assert decision.license == normalise_license(declared)
    # Shipped policies all block unknown licenses; allow-list and no-allow-list are the only passes.
    should_pass = rule in ("allow-list", "no-allow-list")
    assert decision.allowed is should_pass
    if should_pass:
        LicenseCheck().check(model, policy)  # does not raise
    else:
        with pytest.raises(LicenseDenied) as info:
            LicenseCheck().check(model, policy)
        (reason,) = info.value.reasons
        assert (reason.check, reason.subject) == ("license", "model")
        assert reason.data["rule"] == rule
        assert reason.data["license"] == decision.license
        assert reason.data["declared"] == declared
        assert reason.data["allow"] == list(policy.license.allow)
        assert reason.data["deny"] == list(policy.license.deny)
        assert reason.data["policy"] == policy_name


def test_denied_reason_names_the_matching_entry() -> None:
    with pytest.raises(LicenseDenied) as info:
        LicenseCheck().check(ModelInfo("inswapper", "128", "CC BY-NC-SA 4.0"), Policy.default())
    reason = info.value.reasons[0]
    assert reason.data["matched"] == "cc-by-nc-*"
    assert "'cc-by-nc-sa-4.0'" in reason.detail and "'default'" in reason.detail
    assert isinstance(info.value, PolicyViolation)
    assert str(info.value).startswith("blocked: license: model: model 'inswapper'")


def test_deny_wins_over_allow() -> None:
    # Exact duplicates across the lists are refused at load; a pattern may overlap an allow entry.
    policy = Policy.from_mapping(
        {"name": "t", "version": 1, "license": {"allow": ["cc-by-nc-4.0"], "deny": ["cc-by-*"]}}
    )
    decision = LicenseCheck().evaluate(ModelInfo("m", license="cc-by-nc-4.0"), policy)
    assert (decision.allowed, decision.rule, decision.matched) == (False, "deny-list", "cc-by-*")


def test_unknown_allowed_when_the_policy_says_so() -> None:
    policy = Policy.from_mapping({"name": "t", "version": 1, "license": {"unknown": "allow"}})
    for declared in ("unknown", "other", ""):
        decision = LicenseCheck().evaluate(ModelInfo("m", license=declared), policy)
        assert (decision.allowed, decision.rule) == (True, "unknown")


def test_unknown_blocked_message_says_how_to_fix() -> None:
    with pytest.raises(LicenseDenied, match=r"no known license \(declared 'other'\).*unknown: block"):
        LicenseCheck().check(ModelInfo("m", license="other"), Policy.named("strict"))


def test_license_from_card_feeds_the_check(tmp_path: Path) -> None:
    card(tmp_path, "---\nlicense: CC BY-NC 4.0\n---\n")
    model = ModelInfo("m", "1", license_from_model_card(tmp_path))
    assert not LicenseCheck().evaluate(model, Policy.default()).allowed
    assert LicenseCheck().evaluate(model, Policy.named("research")).allowed
