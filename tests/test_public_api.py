"""The curated public API: exactly these names, and importing them loads no model."""

from __future__ import annotations

import subprocess
import sys

import fusionguard

EXPECTED = {
    "AnonymisationFailed", "AuditError", "BadInput", "ConfigError", "ConsentRequired", "Detection",
    "FusionGuardError", "Guard", "GuardResult", "Hooks", "LicenseDenied", "ModelInfo", "NsfwContent",
    "Policy", "PolicyViolation", "Reason", "RecoveryError", "RunInputs", "TamperDetected",
    "UnsupportedMedia", "WatermarkCodec", "WatermarkError", "protect_arrays", "protect_job_step",
    "protect_paths",
    # The whole error tree (issue 11: one tree, all exported).
    "AlreadyEnrolled", "BadSignature", "DiffusersNotInstalled", "InvalidArgument", "InvalidRecord",
    "ModelUnavailable",
    "NotFound", "NotInitialised", "PolicyError", "Problem", "ProofError", "ReleaseError",
    "ProvenanceError",
    "SchemaNotAtHead", "SigningKeyError", "UndeclaredLicense", "UnknownKey", "WorkspaceError",
    "AuthError", "RateLimited",  # the console's refusals
}  # fmt: skip


def test_every_error_class_is_exported() -> None:
    import inspect

    import fusionguard.errors

    errors = {
        name
        for name, value in vars(fusionguard.errors).items()
        if inspect.isclass(value) and value.__module__ == "fusionguard.errors"
    }
    assert errors <= set(fusionguard.__all__)


def test_exported_names_are_exactly_the_intended_ones() -> None:
    assert set(fusionguard.__all__) == EXPECTED
    assert all(hasattr(fusionguard, name) for name in EXPECTED)


def test_import_loads_no_model_and_no_torch() -> None:
    heavy = ("dlib", "onnxruntime", "torch", "diffusers")
    probe = f"import sys, fusionguard; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
