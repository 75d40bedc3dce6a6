"""One error tree for fusionguard.

Every error a caller can see derives from :class:`FusionGuardError`. Messages are one line and say what
was found, what was expected and, where there is one, what to do — so a CLI can print ``str(error)`` as is.

>>> try:
...     raise BadInput("photo.jpg: not an image (expected JPEG, PNG or WebP)")
... except FusionGuardError as error:
...     print(error)
photo.jpg: not an image (expected JPEG, PNG or WebP)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class FusionGuardError(Exception):
    """Base class of every error fusionguard raises on purpose."""

    def __init__(self, message: str) -> None:
        # Keep messages to one line: a CLI prints them verbatim after "error: ".
        super().__init__(" ".join(message.split("\n")))

    @property
    def message(self) -> str:
        return str(self.args[0])


class BadInput(FusionGuardError):
    """An input (image, file, argument) is malformed, too large, of the wrong type or unsafe."""


class AlreadyEnrolled(BadInput):
    """A reference photo shows a person who is already enrolled; ``identity_id`` says who."""

    def __init__(self, message: str, identity_id: str) -> None:
        super().__init__(message)
        self.identity_id = identity_id


class ConfigError(FusionGuardError):
    """A configuration file, policy file or home directory is missing or invalid."""


class PolicyError(ConfigError):
    """A policy file does not validate (unknown key, wrong type, bad value)."""


class SigningKeyError(FusionGuardError):
    """A signing key is missing, unreadable, too permissive or locked with a wrong passphrase."""


class ModelUnavailable(FusionGuardError):
    """A model's weights are not present locally; fusionguard never downloads them."""


@dataclass(frozen=True)
class Reason:
    """One structured reason for a blocked run.

    ``check`` names the check (``nsfw``, ``consent``, ``license``, ...), ``subject`` the input or output it
    is about (``source[0]``, ``target``, ``output``), ``detail`` a human sentence, and ``data`` the figures
    behind it (scores, thresholds, distances) so that callers never have to parse the sentence.
    """

    check: str
    subject: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "subject": self.subject,
            "detail": self.detail,
            "data": self.data,
        }

    def __str__(self) -> str:
        return f"{self.check}: {self.subject}: {self.detail}"


class PolicyViolation(FusionGuardError):
    """A run was blocked by the policy. ``reasons`` says why, one :class:`Reason` per failed check."""

    def __init__(self, reasons: Sequence[Reason], record_id: str | None = None) -> None:
        self.reasons: tuple[Reason, ...] = tuple(reasons)
        self.record_id = record_id
        summary = "; ".join(str(reason) for reason in self.reasons) or "blocked by policy"
        super().__init__(f"blocked: {summary}")


class ConsentRequired(PolicyViolation):
    """A face in a source, target or output has no active consent for its role."""


class NsfwContent(PolicyViolation):
    """An input or output scored above the policy's NSFW threshold."""


class LicenseDenied(PolicyViolation):
    """The model's license is denied (or unknown) under the policy."""


class WatermarkError(FusionGuardError):
    """The watermark could not be embedded or verified; the output is not released."""


class AuditError(FusionGuardError):
    """The audit log could not be written or read (database down, schema not at head, ...)."""


class SchemaNotAtHead(AuditError):
    """The database schema is missing or older than this version of fusionguard expects."""


class NotFound(FusionGuardError):
    """A record, identity or key that was asked for does not exist."""


@dataclass(frozen=True)
class Problem:
    """One problem found while verifying the audit log, with the sequence numbers involved."""

    kind: str
    detail: str
    sequence_numbers: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "detail": self.detail,
            "sequence_numbers": list(self.sequence_numbers),
        }

    def __str__(self) -> str:
        where = ""
        if self.sequence_numbers:
            where = " (seq " + ", ".join(str(n) for n in self.sequence_numbers) + ")"
        return f"{self.kind}{where}: {self.detail}"


class TamperDetected(AuditError):
    """Verification of the log, a record, a proof or a checkpoint failed."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        shown = "; ".join(str(p) for p in self.problems[:5])
        more = f"; and {len(self.problems) - 5} more" if len(self.problems) > 5 else ""
        super().__init__(f"tamper detected: {shown}{more}")


class UnsupportedMedia(BadInput):
    """The input is a kind of media fusionguard does not handle yet (e.g. video)."""


# -- Errors that used to live beside the code raising them (one tree; the old names still import) ----


class InvalidRecord(BadInput, ValueError):
    """An audit record (or a part of one: model, actor, identity) fails validation when built.

    Also a :class:`ValueError`, which it was before it joined this tree.
    """


class WorkspaceError(FusionGuardError):
    """A workspace could not be created or removed completely."""


class UnknownKey(SigningKeyError):
    """A signature names a key that is not in the ring."""


class BadSignature(SigningKeyError):
    """A signature does not verify under the key it names."""


class InvalidArgument(BadInput, ValueError):
    """A public function or constructor was given a value outside its range (also a ValueError)."""


class ProofError(FusionGuardError, ValueError):
    """A Merkle proof does not verify, or cannot be built for the sizes asked."""


class DiffusersNotInstalled(FusionGuardError, ImportError):
    """diffusers (or transformers/torch) is not installed; the message says how to install it."""


class UndeclaredLicense(LicenseDenied):
    """:class:`LicenseDenied` for a model whose license is unknown, saying how to declare one.

    Same reasons and record ID as the Guard's error; only the message adds the hint.
    """

    def __init__(self, reasons: Sequence[Reason], record_id: str | None = None, *, hint: str = "") -> None:
        super().__init__(reasons, record_id)
        if hint:
            FusionGuardError.__init__(self, f"{self.message}; {hint}")


class NotInitialised(ConfigError):
    """The home (keys, database) was never set up: run ``fusionguard init`` first."""


class ReleaseError(FusionGuardError):
    """An output could not be released, or a crashed run's staged output could not be recovered."""


class RecoveryError(FusionGuardError):
    """Anonymised regions could not be sealed, stored or recovered (wrong key, altered ciphertext,
    shredded regions, or no recovery key installed)."""


class AnonymisationFailed(FusionGuardError):
    """A bystander's face stayed recognisable after every anonymisation method (the run is blocked)."""


# -- admin console ---------------------------------------------------------------------------------


class AuthError(FusionGuardError):
    """A console login, session or API token was refused (wrong password, expired, revoked, no role)."""


class RateLimited(AuthError):
    """Too many failed logins for this account or client in the window; wait and try again."""


class ProvenanceError(FusionGuardError):
    """C2PA Content Credentials could not be written or read (missing package, bad certificate)."""
