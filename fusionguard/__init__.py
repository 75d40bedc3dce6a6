"""fusionguard: provenance and audit middleware for face-swap and image-generation pipelines."""

from __future__ import annotations

__version__ = "0.1.0"
