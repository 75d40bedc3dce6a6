"""Adapters: thin translations from callers' calling conventions to :meth:`Guard.run`."""

from __future__ import annotations

from fusionguard.adapters.facefusion import protect_arrays, protect_job_step, protect_paths

__all__ = ["protect_arrays", "protect_job_step", "protect_paths"]
