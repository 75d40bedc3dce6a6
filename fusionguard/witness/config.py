"""Where a home configures witnessing, and starting it.

``<home>/witness-policy`` is a C2SP tlog-policy file: the witnesses (vkey and URL) and the quorum.
When it exists, every Guard (and ``fusionguard witness submit``) witnesses the log. The cadence lives
beside it in ``<home>/witnessing.yaml`` (optional)::

    every_appends: 256      # submit after this many appends ...
    every_seconds: 5        # ... or this long after an append, whichever comes first
    timeout_seconds: 5      # per HTTP request to a witness
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fusionguard.audit.log import AuditLog
from fusionguard.errors import ConfigError
from fusionguard.witness.client import WitnessClient
from fusionguard.witness.policy import WitnessPolicy

__all__ = ["POLICY_FILE", "SETTINGS_FILE", "Witnessing", "load_witnessing", "start_witnessing"]

POLICY_FILE = "witness-policy"
SETTINGS_FILE = "witnessing.yaml"
_DEFAULTS = {"every_appends": 256, "every_seconds": 5.0, "timeout_seconds": 5.0}


@dataclass(frozen=True)
class Witnessing:
    policy: WitnessPolicy
    every_appends: int
    every_seconds: float
    timeout_seconds: float

    def client(self, log: AuditLog) -> WitnessClient:
        return WitnessClient(
            log,
            self.policy,
            every_appends=self.every_appends,
            every_seconds=self.every_seconds,
            timeout=self.timeout_seconds,
        )


def load_witnessing(home: Path) -> Witnessing | None:
    """The home's witnessing configuration, or None when it has no witness policy."""
    policy_path = home / POLICY_FILE
    if not policy_path.exists():
        return None
    policy = WitnessPolicy.load(policy_path)
    values: dict[str, Any] = dict(_DEFAULTS)
    settings_path = home / SETTINGS_FILE
    if settings_path.exists():
        try:
            loaded = yaml.safe_load(settings_path.read_text()) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"{settings_path}: not valid YAML ({error})") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{settings_path}: expected a mapping of {', '.join(_DEFAULTS)}")
        for key, value in loaded.items():
            if key not in _DEFAULTS:
                raise ConfigError(f"{settings_path}: unknown key {key!r} (expected {', '.join(_DEFAULTS)})")
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"{settings_path}: {key} must be a positive number, found {value!r}")
            values[key] = value
    if int(values["every_appends"]) != values["every_appends"]:
        raise ConfigError(f"{settings_path}: every_appends must be a whole number")
    return Witnessing(
        policy,
        int(values["every_appends"]),
        float(values["every_seconds"]),
        float(values["timeout_seconds"]),
    )


def start_witnessing(home: Path, log: AuditLog) -> WitnessClient | None:
    """Start the background witness client for ``log`` when the home configures witnesses."""
    witnessing = load_witnessing(home)
    if witnessing is None:
        return None
    return witnessing.client(log).start()
