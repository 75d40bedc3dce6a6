"""Console accounts, sessions, API tokens and login rate limits, in the fusionguard database.

Roles: ``viewer`` reads; ``admin`` also takes down outputs and changes consents; ``platform`` holds API
tokens for trace and takedown requests only (no password, no pages). Passwords are hashed with scrypt
(hashlib, N=2**14, r=8, p=1, 16-byte salt); session IDs and API tokens are random 32-byte values stored as
SHA-256 (a stolen database holds no usable credential). Sessions and failed logins live in the database,
so several server processes sharing one PostgreSQL agree on both.

    accounts = Accounts(engine)
    password = accounts.add("alice", "admin")       # printed once by ``fusionguard admin add``
    session = accounts.login("alice", password, remote="127.0.0.1", now=utc_now())
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from fusionguard.errors import AuthError, BadInput, NotFound, RateLimited
from fusionguard.store.models import ConsoleAccount, ConsoleLoginFailure, ConsoleSession, ConsoleToken

ROLES = ("viewer", "admin", "platform")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
TOKEN_PREFIX = "fgt_"


def check_new_account(username: str, role: str) -> None:
    if not USERNAME.match(username):
        raise BadInput(f"username {username!r} must be 1-64 lowercase letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise BadInput(f"role {role!r} is not one of {', '.join(ROLES)}")


def check_password_strength(password: str) -> None:
    if len(password) < 12:
        raise BadInput("a password needs at least 12 characters")
    if len(password) > 1024:
        raise BadInput("a password is at most 1024 characters")


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None) if moment.tzinfo else moment


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64): the parameters travel with the hash so they can be raised."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH = hash_password("fusionguard-timing-equaliser", salt=b"\0" * 16)


def secret_hash(secret: str) -> str:
    """Session IDs and API tokens are 256-bit random: one SHA-256 is enough (no guessing to slow down)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    created_at: datetime
    disabled_at: datetime | None
    has_password: bool
    must_change: bool = False

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def to_json(self) -> dict[str, object]:
        return {
            "username": self.username,
            "role": self.role,
            "created_at": self.created_at.isoformat() + "Z",
            "disabled_at": self.disabled_at.isoformat() + "Z" if self.disabled_at else None,
        }


@dataclass(frozen=True)
class Session:
    """A logged-in browser: ``token`` goes in the cookie (only at login), ``csrf`` in every form."""

    token: str
    account: Account
    csrf: str


@dataclass(frozen=True)
class RateLimit:
    attempts: int = 5  # failed logins per username in the window
    per_remote: int = 20  # failed logins per client address in the window
    window: timedelta = timedelta(minutes=15)


class Accounts:
    def __init__(
        self,
        engine: Engine,
        *,
        session_lifetime: timedelta = timedelta(hours=8),
        rate_limit: RateLimit = RateLimit(),
    ) -> None:
        self.engine = engine
        self.session_lifetime = session_lifetime
        self.rate_limit = rate_limit

    # -- accounts -------------------------------------------------------------------------------

    def add(self, username: str, role: str, *, now: datetime, password: str | None = None) -> str | None:
        """Create an account; returns the password (generated unless given), None for ``platform``."""
        check_new_account(username, role)
        generated = password is None and role != "platform"
        if role == "platform":
            password = None
        elif password is None:
            password = secrets.token_urlsafe(15)
        else:
            check_password_strength(password)
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(ConsoleAccount).values(
                        username=username,
                        role=role,
                        password_hash=hash_password(password) if password else None,
                        must_change=generated,
                        created_at=_naive(now),
                        disabled_at=None,
                    )
                )
        except IntegrityError:
            raise BadInput(f"account {username!r} exists already") from None
        return password

    def get(self, username: str) -> Account:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(ConsoleAccount).where(ConsoleAccount.username == username)
            ).first()
        if row is None:
            raise NotFound(f"no console account {username!r} ('fusionguard admin list' shows them)")
        return _account(row)

    def list(self) -> list[Account]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(ConsoleAccount).order_by(ConsoleAccount.username)).all()
        return [_account(row) for row in rows]

    def set_password(self, username: str, *, password: str | None = None) -> str:
        """Set a password (a generated one must be changed at the next login); end the sessions."""
        account = self.get(username)
        if account.role == "platform":
            raise BadInput(f"{username} is a platform account: it has API tokens, not a password")
        if password is not None:
            check_password_strength(password)
        new = password or secrets.token_urlsafe(15)
        with self.engine.begin() as connection:
            connection.execute(
                update(ConsoleAccount)
                .where(ConsoleAccount.username == username)
                .values(password_hash=hash_password(new), must_change=password is None)
            )
            connection.execute(delete(ConsoleSession).where(ConsoleSession.username == username))
        return new

    def check_change(self, username: str, current: str, new: str) -> None:
        """Refuse a change whose current password is wrong, or whose new one is weak or the same."""
        stored = self._password_hash(username)
        if stored is None or not check_password(current, stored):
            raise AuthError("the current password is wrong")
        if new == current:
            raise BadInput("the new password must differ from the current one")
        check_password_strength(new)

    def change_password(self, username: str, current: str, new: str, *, keep_session: str) -> None:
        """The account's own change: the current password is checked; other sessions end."""
        self.check_change(username, current, new)
        with self.engine.begin() as connection:
            connection.execute(
                update(ConsoleAccount)
                .where(ConsoleAccount.username == username)
                .values(password_hash=hash_password(new), must_change=False)
            )
            connection.execute(
                delete(ConsoleSession)
                .where(ConsoleSession.username == username)
                .where(ConsoleSession.id_hash != secret_hash(keep_session))
            )

    def disable(self, username: str, *, now: datetime) -> None:
        """Disable an account: its sessions end and its tokens stop working at once."""
        self.get(username)
        with self.engine.begin() as connection:
            connection.execute(
                update(ConsoleAccount)
                .where(ConsoleAccount.username == username)
                .where(ConsoleAccount.disabled_at.is_(None))
                .values(disabled_at=_naive(now))
            )
            connection.execute(delete(ConsoleSession).where(ConsoleSession.username == username))
            connection.execute(
                update(ConsoleToken)
                .where(ConsoleToken.username == username)
                .where(ConsoleToken.revoked_at.is_(None))
                .values(revoked_at=_naive(now))
            )

    # -- API tokens -----------------------------------------------------------------------------

    def issue_token(self, username: str, label: str, *, now: datetime) -> str:
        """A new API token for ``username``; only its hash is kept, so this is the one time it is seen."""
        account = self.get(username)
        if not account.active:
            raise BadInput(f"account {username} is disabled")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.engine.begin() as connection:
            connection.execute(
                insert(ConsoleToken).values(
                    token_hash=secret_hash(token),
                    prefix=token[:10],
                    username=username,
                    label=label[:200] or "api",
                    created_at=_naive(now),
                    revoked_at=None,
                )
            )
        return token

    def by_token(self, token: str) -> Account:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(ConsoleAccount)
                .join(ConsoleToken, ConsoleToken.username == ConsoleAccount.username)
                .where(ConsoleToken.token_hash == secret_hash(token))
                .where(ConsoleToken.revoked_at.is_(None))
                .where(ConsoleAccount.disabled_at.is_(None))
            ).first()
        if row is None:
            raise AuthError("unknown or revoked API token")
        return _account(row)

    # -- sessions -------------------------------------------------------------------------------

    def login(self, username: str, password: str, *, remote: str, now: datetime) -> Session:
        """Check a password under the rate limit; a success opens a session."""
        limit = self.rate_limit
        since = _naive(now - limit.window)
        with self.engine.connect() as connection:
            by_user = connection.execute(
                select(func.count())
                .select_from(ConsoleLoginFailure)
                .where(ConsoleLoginFailure.username == username[:64])
                .where(ConsoleLoginFailure.at >= since)
            ).scalar_one()
            by_remote = connection.execute(
                select(func.count())
                .select_from(ConsoleLoginFailure)
                .where(ConsoleLoginFailure.remote == remote[:64])
                .where(ConsoleLoginFailure.at >= since)
            ).scalar_one()
        if by_user >= limit.attempts or by_remote >= limit.per_remote:
            minutes = int(limit.window.total_seconds() // 60)
            raise RateLimited(f"too many failed logins; try again in {minutes} minutes")
        try:
            account = self.get(username)
        except NotFound:
            account = None
        stored = account and self._password_hash(account.username)
        good = check_password(password, stored or _DUMMY_HASH) and stored is not None
        if account is None or not good or not account.active or account.role == "platform":
            with self.engine.begin() as connection:
                connection.execute(
                    insert(ConsoleLoginFailure).values(
                        username=username[:64], remote=remote[:64], at=_naive(now)
                    )
                )
            raise AuthError("wrong username or password")
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.engine.begin() as connection:
            connection.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < _naive(now)))
            connection.execute(delete(ConsoleLoginFailure).where(ConsoleLoginFailure.at < since))
            connection.execute(
                insert(ConsoleSession).values(
                    id_hash=secret_hash(token),
                    username=account.username,
                    csrf_token=csrf,
                    created_at=_naive(now),
                    expires_at=_naive(now + self.session_lifetime),
                )
            )
        return Session(token, account, csrf)

    def _password_hash(self, username: str) -> str | None:
        with self.engine.connect() as connection:
            value = connection.execute(
                select(ConsoleAccount.password_hash).where(ConsoleAccount.username == username)
            ).scalar_one_or_none()
        return str(value) if value else None

    def session(self, token: str, *, now: datetime) -> Session:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(ConsoleAccount, ConsoleSession.csrf_token)
                .join(ConsoleSession, ConsoleSession.username == ConsoleAccount.username)
                .where(ConsoleSession.id_hash == secret_hash(token))
                .where(ConsoleSession.expires_at > _naive(now))
                .where(ConsoleAccount.disabled_at.is_(None))
            ).first()
        if row is None:
            raise AuthError("not logged in, or the session expired")
        return Session(token, _account(row), str(row.csrf_token))

    def logout(self, token: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == secret_hash(token)))


def _account(row: Any) -> Account:
    """An account from a row of ``select(ConsoleAccount, ...)`` (columns by name)."""
    return Account(
        username=str(row.username),
        role=str(row.role),
        created_at=row.created_at,
        disabled_at=row.disabled_at,
        has_password=row.password_hash is not None,
        must_change=bool(row.must_change),
    )
