"""Adapters: thin translations from callers' calling conventions to :meth:`Guard.run`.

The diffusers adapter is imported on its own (``from fusionguard.adapters.diffusers import
guard_pipeline``) so that importing this package never imports torch.
"""

from __future__ import annotations

from fusionguard.adapters.facefusion import protect_arrays, protect_job_step, protect_paths

__all__ = ["protect_arrays", "protect_job_step", "protect_paths"]
