"""Canonical JSON: the fast path must equal RFC 8785 byte for byte."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from fusionguard.audit.canonical import canonical_json, parse_json_object

# JSON without floats: what records carry on the fast path (floats take rfc8785's own path).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_equals_the_reference_implementation(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        with pytest.raises(ValueError):
            canonical_json(value)
        return
    assert canonical_json(value) == expected


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_follow_ecmascript_formatting(number: float) -> None:
    assert canonical_json({"score": number}) == rfc8785.dumps({"score": number})


def test_refuses_what_cannot_be_canonical() -> None:
    with pytest.raises(ValueError):
        canonical_json({"big": 2**60})
    with pytest.raises(ValueError):
        canonical_json({"nan": float("nan")})
    with pytest.raises(ValueError, match="duplicate JSON key"):
        parse_json_object('{"a": 1, "a": 2}')
