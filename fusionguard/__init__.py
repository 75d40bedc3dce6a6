"""fusionguard: provenance and audit middleware for face-swap and image-generation pipelines.

    from fusionguard import Guard, ModelInfo, protect_paths

    guard = Guard.from_policy("default")        # after `fusionguard init`; home: FUSIONGUARD_HOME or home=

    @protect_paths(guard, model=ModelInfo("my-swapper", "1.0", "apache-2.0"))  # a license the policy allows
    def process_image(source_paths, target_path, output_path): ...   # writes to the output_path it gets

Importing fusionguard loads no model: backends load their weights on first use.
"""

from __future__ import annotations

# -- supported platforms: POSIX (Linux, macOS). The log, key ring and workspaces lock files with fcntl.
try:
    import fcntl as _fcntl  # noqa: F401
except ImportError:  # pragma: no cover - exercised in a subprocess by tests/test_platform.py
    import sys as _sys

    raise ImportError(
        f"fusionguard supports Linux and macOS (POSIX file locks via fcntl); this platform "
        f"({_sys.platform}) has no fcntl module. Run it on Linux, macOS or WSL."
    ) from None
# --

from fusionguard.adapters import protect_arrays, protect_job_step, protect_paths
from fusionguard.audit.record import ModelInfo
from fusionguard.errors import (
    AlreadyEnrolled,
    AnonymisationFailed,
    AuditError,
    AuthError,
    BadInput,
    BadSignature,
    ConfigError,
    ConsentRequired,
    DiffusersNotInstalled,
    FusionGuardError,
    InvalidArgument,
    InvalidRecord,
    LicenseDenied,
    ModelUnavailable,
    NotFound,
    NotInitialised,
    NsfwContent,
    PolicyError,
    PolicyViolation,
    Problem,
    ProofError,
    ProvenanceError,
    RateLimited,
    Reason,
    RecoveryError,
    ReleaseError,
    SchemaNotAtHead,
    SigningKeyError,
    TamperDetected,
    UndeclaredLicense,
    UnknownKey,
    UnsupportedMedia,
    WatermarkError,
    WorkspaceError,
)
from fusionguard.guard import Guard, GuardResult, Hooks, RunInputs
from fusionguard.policy import Policy
from fusionguard.watermark import Detection, WatermarkCodec

__version__ = "0.1.0"

__all__ = [
    "AlreadyEnrolled",
    "AnonymisationFailed",
    "AuditError",
    "AuthError",
    "BadInput",
    "BadSignature",
    "ConfigError",
    "ConsentRequired",
    "Detection",
    "DiffusersNotInstalled",
    "FusionGuardError",
    "Guard",
    "GuardResult",
    "Hooks",
    "InvalidArgument",
    "InvalidRecord",
    "LicenseDenied",
    "ModelInfo",
    "ModelUnavailable",
    "NotFound",
    "NotInitialised",
    "NsfwContent",
    "Policy",
    "PolicyError",
    "PolicyViolation",
    "Problem",
    "ProofError",
    "ProvenanceError",
    "RateLimited",
    "Reason",
    "RecoveryError",
    "ReleaseError",
    "RunInputs",
    "SchemaNotAtHead",
    "SigningKeyError",
    "TamperDetected",
    "UndeclaredLicense",
    "UnknownKey",
    "UnsupportedMedia",
    "WatermarkCodec",
    "WatermarkError",
    "WorkspaceError",
    "protect_arrays",
    "protect_job_step",
    "protect_paths",
]
