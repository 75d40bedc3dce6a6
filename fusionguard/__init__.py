"""fusionguard: provenance and audit middleware for face-swap and image-generation pipelines.

    from fusionguard import Guard, ModelInfo, protect_paths

    guard = Guard.from_policy("default")                       # after `fusionguard init`

    @protect_paths(guard, model=ModelInfo("inswapper", "128", "other"))
    def process_image(source_paths, target_path, output_path): ...

Importing fusionguard loads no model: backends load their weights on first use.
"""

from __future__ import annotations

from fusionguard.adapters import protect_arrays, protect_job_step, protect_paths
from fusionguard.audit.record import ModelInfo
from fusionguard.errors import (
    AnonymisationFailed,
    AuditError,
    BadInput,
    ConfigError,
    ConsentRequired,
    FusionGuardError,
    LicenseDenied,
    NsfwContent,
    PolicyViolation,
    Reason,
    RecoveryError,
    TamperDetected,
    UnsupportedMedia,
    WatermarkError,
)
from fusionguard.guard import Guard, GuardResult, Hooks, RunInputs
from fusionguard.policy import Policy
from fusionguard.watermark import Detection, WatermarkCodec

__version__ = "0.1.0"

__all__ = [
    "AnonymisationFailed",
    "AuditError",
    "BadInput",
    "ConfigError",
    "ConsentRequired",
    "Detection",
    "FusionGuardError",
    "Guard",
    "GuardResult",
    "Hooks",
    "LicenseDenied",
    "ModelInfo",
    "NsfwContent",
    "Policy",
    "PolicyViolation",
    "Reason",
    "RecoveryError",
    "RunInputs",
    "TamperDetected",
    "UnsupportedMedia",
    "WatermarkCodec",
    "WatermarkError",
    "protect_arrays",
    "protect_job_step",
    "protect_paths",
]
