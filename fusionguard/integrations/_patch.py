"""Reversible attribute patches: what an integration replaced, so that it can be put back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType, TracebackType
from typing import Any

from fusionguard.errors import ConfigError

logger = logging.getLogger("fusionguard.integrations")


@dataclass
class Installation:
    """The patches one ``install`` made, in order; ``uninstall`` undoes them in reverse."""

    tool: str
    patches: list[tuple[Any, str, Any]] = field(default_factory=list)
    cleanups: list[Callable[[], Any]] = field(default_factory=list)

    def patch(self, owner: ModuleType | type, name: str, replacement: Any) -> Any:
        """Replace ``owner.name``; return the original. Refuses an attribute that does not exist,
        so a tool version that moved its hooks fails at install, not silently at run time."""
        if not hasattr(owner, name):
            raise ConfigError(f"{self.tool}: {getattr(owner, '__name__', owner)!r} has no {name!r} to guard")
        original = getattr(owner, name)
        setattr(owner, name, replacement)
        self.patches.append((owner, name, original))
        return original

    def on_uninstall(self, cleanup: Callable[[], Any]) -> None:
        """Run ``cleanup`` at :meth:`uninstall` (after the patches are undone): close live sessions."""
        self.cleanups.append(cleanup)

    def uninstall(self) -> None:
        while self.patches:
            owner, name, original = self.patches.pop()
            setattr(owner, name, original)
        while self.cleanups:
            self.cleanups.pop()()

    @property
    def patched(self) -> list[str]:
        """``module.attribute`` for each patch, for logs and tests."""
        return [f"{_name(owner)}.{name}" for owner, name, _ in self.patches]

    def __enter__(self) -> Installation:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.uninstall()


def _name(owner: Any) -> str:
    if isinstance(owner, type):
        return f"{owner.__module__}.{owner.__qualname__}"
    return str(getattr(owner, "__name__", owner))
