"""One-line integrations for face-swap tools as shipped: ``install(guard, model=...)`` patches the
tool's own functions so that every output it writes goes through the Guard.

    import fusionguard.integrations.facefusion as ff_guard
    ff_guard.install(guard, model=ModelInfo("hyperswap_1a_256", license="other"))

Each ``install`` returns an :class:`~fusionguard.integrations._patch.Installation`; call its
``uninstall()`` (or use it as a context manager) to put the tool's functions back. Import the tool
first: these modules import nothing from it until ``install`` is called.
"""

from __future__ import annotations

from fusionguard.integrations._patch import Installation

__all__ = ["Installation"]
