"""Admin actions: each one is recorded as a signed ``admin_action`` record (who, what, when, why).

The record is appended *before* the change is made, after the change has been checked to be possible:
if the log cannot be written, nothing changes (fail closed); a change that then fails leaves a record
of an attempt, never a change without a record. Takedowns are their own signed records
(:func:`fusionguard.audit.operations.file_takedown`), shared with ``fusionguard audit takedown``.

The CLI (``fusionguard admin ...``) and the console both call these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fusionguard.audit.log import AuditLog, Receipt
from fusionguard.audit.operations import MAX_REASON
from fusionguard.audit.record import admin_action_record
from fusionguard.errors import BadInput
from fusionguard.server.accounts import Accounts, check_new_account

CONSENT_ROLES = ("source", "target")


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise BadInput("say why (a reason is recorded with every admin action)")
    if len(reason) > MAX_REASON:
        raise BadInput(f"the reason is {len(reason)} characters, more than the limit of {MAX_REASON}")
    return reason


def _record(
    log: AuditLog, action: str, target: str, reason: str, actor: str, now: datetime, **data: Any
) -> Receipt:
    return log.append(admin_action_record(action, target, reason, actor=actor, timestamp=now, data=data))


def add_account(
    log: AuditLog,
    accounts: Accounts,
    username: str,
    role: str,
    reason: str,
    *,
    actor: str,
    now: datetime,
    password: str | None = None,
) -> str | None:
    """Create an account; returns its password (None for a platform account).

    Without ``password`` one is generated, printed once, and must be changed at the first login.
    """
    reason = _reason(reason)
    check_new_account(username, role)
    if any(a.username == username for a in accounts.list()):
        raise BadInput(f"account {username!r} exists already")
    _record(log, "account.add", username, reason, actor, now, role=role)
    return accounts.add(username, role, now=now, password=password)


def disable_account(
    log: AuditLog, accounts: Accounts, username: str, reason: str, *, actor: str, now: datetime
) -> None:
    reason = _reason(reason)
    accounts.get(username)
    _record(log, "account.disable", username, reason, actor, now)
    accounts.disable(username, now=now)


def reset_password(
    log: AuditLog, accounts: Accounts, username: str, reason: str, *, actor: str, now: datetime
) -> str:
    reason = _reason(reason)
    if accounts.get(username).role == "platform":
        raise BadInput(f"{username} is a platform account: it has API tokens, not a password")
    _record(log, "account.password", username, reason, actor, now)
    return accounts.set_password(username)


def change_own_password(
    log: AuditLog, accounts: Accounts, username: str, current: str, new: str, *, session: str, now: datetime
) -> None:
    """A user replaces their own password (the one-time one, or any); recorded, other sessions end."""
    stored = accounts.get(username)
    if not stored.active:
        raise BadInput(f"account {username} is disabled")
    accounts.check_change(username, current, new)
    _record(log, "account.password", username, "changed by the account holder", username, now)
    accounts.change_password(username, current, new, keep_session=session)


def issue_token(
    log: AuditLog, accounts: Accounts, username: str, label: str, reason: str, *, actor: str, now: datetime
) -> str:
    """A new API token, shown once (only its hash is stored); the record names its prefix, not the token."""
    reason = _reason(reason)
    if not accounts.get(username).active:
        raise BadInput(f"account {username} is disabled")
    _record(log, "token.issue", username, reason, actor, now, label=label)
    return accounts.issue_token(username, label, now=now)


def revoke_consent(
    log: AuditLog,
    registry: Any,
    identity: str,
    roles: Sequence[str],
    reason: str,
    *,
    actor: str,
    now: datetime,
) -> int:
    """Revoke consent (the same registry call as ``fusionguard consent revoke``), recorded."""
    reason = _reason(reason)
    bad = [r for r in roles if r not in CONSENT_ROLES]
    if bad or not roles:
        raise BadInput(f"roles must be source and/or target, got {', '.join(roles) or 'none'}")
    registry.show(identity)
    _record(log, "consent.revoke", identity, reason, actor, now, roles=list(roles))
    return int(registry.revoke(identity, list(roles), actor=actor))


def erase_identity(
    log: AuditLog, registry: Any, identity: str, reason: str, *, actor: str, now: datetime
) -> None:
    """Erase name and biometric data (as ``fusionguard consent erase``), recorded."""
    reason = _reason(reason)
    registry.show(identity)
    _record(log, "consent.erase", identity, reason, actor, now)
    registry.erase(identity, actor=actor)
