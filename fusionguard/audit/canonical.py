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

from fusionguard.errors import InvalidArgument

_LIMIT = 2**53


def _plain(value: Any) -> bool:
    """True when the standard library's output is already canonical for ``value``.

    That holds without floats (JCS formats numbers as ECMAScript does, Python's ``repr`` differs) and
    with ASCII keys (JCS sorts keys by UTF-16 code units, Python by code points; they agree on ASCII).
    Integers must fit in 53 bits, as JCS requires. Iterative, with exact type tests: this runs on
    every append, and recursion with ``isinstance`` cost a tenth of an append.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if not -_LIMIT < item < _LIMIT:
                return False
        elif kind is dict:
            for key, child in item.items():
                if type(key) is not str or not key.isascii():
                    return False
                stack.append(child)
        elif kind is list or kind is tuple:
            stack.extend(item)
        else:
            return False  # floats, subclasses and anything else take the reference path
    return True


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
        raise InvalidArgument(f"value cannot be canonicalised as JSON: {error}") from None


def parse_json_object(data: bytes | str) -> dict[str, Any]:
    """Parse JSON that must be an object; duplicate keys are refused (they make signatures ambiguous)."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, item in pairs:
            if key in seen:
                raise InvalidArgument(f"duplicate JSON key {key!r}")
            seen[key] = item
        return seen

    value = json.loads(data, object_pairs_hook=no_duplicates)
    if not isinstance(value, dict):
        raise InvalidArgument("expected a JSON object")
    return value
