"""What the real-tool tests share: the Guard of tests/test_guard.py (real models, two enrolled people)."""

from __future__ import annotations

from tests.test_guard import guard, photos

_ = guard, photos  # the fixtures, re-exported for this directory
