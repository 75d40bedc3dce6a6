"""The model-license check: is this model's license acceptable under the policy?

Licenses are compared as normalised, SPDX-like lowercase IDs (``apache-2.0``, ``cc-by-nc-4.0``,
``creativeml-openrail-m``), so that a model card saying "Apache 2.0" and a policy saying
``apache-2.0`` agree. A license is read from a local model card (a README.md with YAML front matter,
as on the Hugging Face Hub) and never fetched over the network.

>>> from fusionguard.audit.record import ModelInfo
>>> from fusionguard.policy import Policy
>>> normalise_license("CC BY-NC 4.0")
'cc-by-nc-4.0'
>>> check = LicenseCheck()
>>> check.evaluate(ModelInfo("sdxl", "1.0", "openrail++"), Policy.default()).allowed
True
>>> check.check(ModelInfo("inswapper", "128", "CC BY-NC 4.0"), Policy.default())  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
fusionguard.errors.LicenseDenied: blocked: license: model: ...
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from fusionguard.errors import BadInput, LicenseDenied, Reason

if TYPE_CHECKING:  # policy.py imports this module (for normalise_license); avoid a cycle at runtime
    from fusionguard.audit.record import ModelInfo
    from fusionguard.policy import Policy

__all__ = [
    "UNKNOWN",
    "UNKNOWN_LICENSES",
    "LicenseCheck",
    "LicenseDecision",
    "Rule",
    "license_from_model_card",
    "normalise_license",
]

UNKNOWN = "unknown"

#: IDs that say nothing about the terms. ``other`` is the Hub's marker for a custom license: the
#: check cannot read it, so it is judged like an unknown one. To run such a model, record a specific
#: license ID for it (``ModelInfo.license``) and list that ID in the policy.
UNKNOWN_LICENSES = frozenset({UNKNOWN, "other"})

# Spellings that mean "no license information" (SPDX writes NOASSERTION).
_NO_INFORMATION = frozenset({"", "unknown", "none", "n/a", "na", "unspecified", "noassertion", "?"})

_APACHE = re.compile(r"^apache(?:-license)?(?:-version)?-?v?(?:2|2\.0)?$")
_CC = re.compile(r"^cc-?(by(?:-nc)?(?:-sa|-nd)?)-?v?(\d)(?:\.0)?(?:-international)?$")
_CC0 = re.compile(r"^cc-?0(?:-?v?1(?:\.0)?)?(?:-universal)?$")
_BSD = re.compile(r"^bsd-?([234])(?:-clause)?$")
_GPL = re.compile(r"^(a|l)?gpl-?v?([23])(?:\.0)?(-only|-or-later|\+)?$")
_PLAIN_ALIASES = {"mit-license": "mit", "the-unlicense": "unlicense", "openrail-license": "openrail"}

#: Front matter is at the top of a card; reading more than this is never needed.
_MAX_CARD_BYTES = 1 << 20


def normalise_license(text: str | None) -> str:
    """The canonical lowercase ID for a license as people write it; ``"unknown"`` when empty.

    Unrecognised IDs are only lowercased and hyphenated (``"CreativeML OpenRAIL-M"`` becomes
    ``"creativeml-openrail-m"``), so Hub license IDs pass through unchanged.

    >>> [normalise_license(t) for t in ("Apache 2.0", "apache2", "MIT License", None, "OpenRAIL")]
    ['apache-2.0', 'apache-2.0', 'mit', 'unknown', 'openrail']
    """
    if text is None:
        return UNKNOWN
    # One separator spelling: whitespace and underscores become hyphens, commas vanish
    # ("Apache License, Version 2.0"), runs collapse.
    value = re.sub(r"[\s_]+", "-", str(text).strip().lower().replace(",", ""))
    value = re.sub(r"-{2,}", "-", value).strip("-")
    if value in _NO_INFORMATION:
        return UNKNOWN
    if _APACHE.match(value):
        return "apache-2.0"
    if _CC0.match(value):
        return "cc0-1.0"
    if match := _CC.match(value):
        return f"cc-{match.group(1)}-{match.group(2)}.0"
    if match := _BSD.match(value):
        return f"bsd-{match.group(1)}-clause"
    if match := _GPL.match(value):
        prefix, version, suffix = match.group(1) or "", match.group(2), match.group(3) or ""
        # The Hub writes gpl-3.0; keep "or later" when it was said, it changes the terms.
        later = "-or-later" if suffix in ("-or-later", "+") else ""
        return f"{prefix}gpl-{version}.0{later}"
    if value.endswith("-license") and value.removesuffix("-license") in ("mit", "openrail"):
        return value.removesuffix("-license")
    return _PLAIN_ALIASES.get(value, value)


def _front_matter(text: str, source: Path) -> dict[str, Any] | None:
    """The YAML front matter of a Markdown file as a mapping, None when the file has none."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    end = next((i for i, line in enumerate(lines) if i and line.strip() in ("---", "...")), None)
    if end is None:
        raise BadInput(f"{source}: model card front matter starts with '---' but never ends")
    try:
        data = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as error:
        where = ""
        mark = getattr(error, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 2}"  # +1 for 1-based, +1 for the opening '---'
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise BadInput(f"{source}: malformed model card front matter{where}: {problem}") from None
    if data is None:
        return None
    if not isinstance(data, dict):
        raise BadInput(f"{source}: model card front matter is a {type(data).__name__}, expected a mapping")
    return data


def license_from_model_card(path: Path | str) -> str:
    """The normalised license of a local model card: ``README.md`` in a directory, or the file itself.

    Never touches the network. A missing card, a card without front matter and a card without a
    ``license`` key all give ``"unknown"``. A dual-licensed card (``license: [mit, apache-2.0]``) also
    gives ``"unknown"``: which license applies is the operator's choice, recorded in
    ``ModelInfo.license``, not something to guess. Malformed front matter raises :class:`BadInput`.
    """
    card = Path(path)
    if card.is_dir():
        card = card / "README.md"
    if not card.is_file():
        return UNKNOWN
    try:
        with open(card, "rb") as handle:
            raw = handle.read(_MAX_CARD_BYTES)
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{card}: model card is not UTF-8 text") from None
    except OSError as error:
        raise BadInput(f"{card}: cannot read model card: {error.strerror or error}") from None
    data = _front_matter(text, card)
    if data is None:
        return UNKNOWN
    value = data.get("license")
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    if value is None:
        return UNKNOWN
    if not isinstance(value, str):
        raise BadInput(f"{card}: model card license is {value!r} ({type(value).__name__}), expected a string")
    return normalise_license(value)


#: Which rule decided: the license is unknown (``license.unknown`` decides), it matched the deny
#: list, it matched the allow list, the allow list is non-empty and it is not on it, or there is no
#: allow list and it is not denied.
Rule = Literal["unknown", "deny-list", "allow-list", "not-in-allow-list", "no-allow-list"]


@dataclass(frozen=True)
class LicenseDecision:
    """The outcome of the license check, whether or not it blocks."""

    allowed: bool
    license: str
    rule: Rule
    matched: str | None = None  # the allow/deny entry that matched, when one did

    def to_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "license": self.license,
            "rule": self.rule,
            "matched": self.matched,
        }


def _first_match(license_id: str, patterns: tuple[str, ...]) -> str | None:
    # Entries are validated by the policy to use no fnmatch syntax but '*', so this is plain globbing.
    return next((p for p in patterns if fnmatch.fnmatchcase(license_id, p)), None)


class LicenseCheck:
    """Decides whether a model's license is acceptable under a policy.

    Order: an unknown license (``unknown``/``other``) is decided by ``license.unknown``; otherwise the
    deny list wins over the allow list; a non-empty allow list admits only what it names; with an
    empty allow list, anything not denied is allowed.
    """

    name = "license"

    def evaluate(self, model: ModelInfo, policy: Policy) -> LicenseDecision:
        """The decision for ``model`` under ``policy``, without raising."""
        rules = policy.license
        license_id = normalise_license(model.license)
        if license_id in UNKNOWN_LICENSES:
            return LicenseDecision(rules.unknown == "allow", license_id, "unknown")
        if (denied := _first_match(license_id, rules.deny)) is not None:
            return LicenseDecision(False, license_id, "deny-list", denied)
        if not rules.allow:
            return LicenseDecision(True, license_id, "no-allow-list")
        if (allowed := _first_match(license_id, rules.allow)) is not None:
            return LicenseDecision(True, license_id, "allow-list", allowed)
        return LicenseDecision(False, license_id, "not-in-allow-list")

    def check(self, model: ModelInfo, policy: Policy) -> None:
        """Return if the license is acceptable; raise :class:`LicenseDenied` saying why if not."""
        decision = self.evaluate(model, policy)
        if decision.allowed:
            return
        where = f"policy {policy.name!r}"
        if decision.rule == "unknown":
            detail = (
                f"model {model.name!r} has no known license (declared {model.license!r}); "
                f"{where} blocks unknown licenses (license.unknown: block)"
            )
        elif decision.rule == "deny-list":
            detail = (
                f"model {model.name!r} has license {decision.license!r}, which {where} denies "
                f"(deny entry {decision.matched!r})"
            )
        else:
            detail = (
                f"model {model.name!r} has license {decision.license!r}, which is not on the "
                f"allow list of {where}"
            )
        data = {
            "model": model.name,
            "declared": model.license,
            "license": decision.license,
            "rule": decision.rule,
            "matched": decision.matched,
            "policy": policy.name,
            "allow": list(policy.license.allow),
            "deny": list(policy.license.deny),
            "unknown": policy.license.unknown,
        }
        raise LicenseDenied([Reason("license", "model", detail, data)])
