"""Canonical JSON (RFC 8785, JCS): the bytes that are hashed and signed.

Two producers that agree on a record's content always agree on its bytes, so a signature made by one
verifies for the other. Floats are allowed by JCS but scores are rounded by their producers first, so that
a record does not carry noise digits.

>>> canonical_json({"b": 1, "a": [True, None, "é"]})
b'{"a":[true,null,"\\xc3\\xa9"],"b":1}'
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785


def _plain(value: Any) -> bool:
    """True when the standard library's output is already canonical for ``value``.

    That holds without floats (JCS formats numbers as ECMAScript does, Python's ``repr`` differs) and
    with ASCII keys (JCS sorts keys by UTF-16 code units, Python by code points; they agree on ASCII).
    Integers must fit in 53 bits, as JCS requires.
    """
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -(2**53) < value < 2**53
    if isinstance(value, dict):
        return all(isinstance(k, str) and k.isascii() and _plain(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return False


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` as RFC 8785 canonical JSON (UTF-8, sorted keys, no whitespace).

    Records are canonicalised on every append, so the common case (no floats, ASCII keys) takes the C
    encoder of the standard library, whose output then equals JCS byte for byte (a property test checks
    this against the reference implementation); everything else goes through ``rfc8785``.
    """
    try:
        if _plain(value):
            text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            return text.encode("utf-8")
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as error:
        raise ValueError(f"value cannot be canonicalised as JSON: {error}") from None


def parse_json_object(data: bytes | str) -> dict[str, Any]:
    """Parse JSON that must be an object; duplicate keys are refused (they make signatures ambiguous)."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, item in pairs:
            if key in seen:
                raise ValueError(f"duplicate JSON key {key!r}")
            seen[key] = item
        return seen

    value = json.loads(data, object_pairs_hook=no_duplicates)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value
