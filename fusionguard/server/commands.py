"""``fusionguard serve`` and ``fusionguard admin add|list|disable|password|token`` (registered by cli.py).

Account changes made here are signed ``admin_action`` records, like the console's own actions; the actor
is ``--actor`` (default ``$USER``).
"""

from __future__ import annotations

import json
import os
from typing import Any

import click

from fusionguard.config import utc_now
from fusionguard.server import actions
from fusionguard.server.accounts import ROLES, Accounts

_actor = click.option(
    "--actor", default=lambda: os.environ.get("USER", "admin"), show_default="$USER", help="Who does this."
)


def _accounts(context: Any) -> Accounts:
    return Accounts(context.log().engine)


@click.command("serve")
@click.option("--listen", default="127.0.0.1:8700", show_default=True, help="HOST:PORT to listen on.")
@click.option(
    "--policy",
    "policy_name",
    default="default",
    show_default=True,
    help="Policy name or YAML file (upload limits).",
)
@click.option(
    "--insecure-cookies",
    is_flag=True,
    help="Session cookies without the Secure flag (plain HTTP on a non-loopback name; not in production).",
)
@click.option("--max-upload-mb", type=click.IntRange(1, 100), default=20, show_default=True)
@click.pass_obj
def serve(context: Any, listen: str, policy_name: str, insecure_cookies: bool, max_upload_mb: int) -> None:
    """Run the admin console and the HTTP API (uvicorn)."""
    try:
        import uvicorn

        from fusionguard.server.app import ConsoleConfig, create_app
    except ImportError:
        raise click.ClickException("the console needs its extra: pip install 'fusionguard[server]'") from None
    from pathlib import Path

    from fusionguard.policy import Policy

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter(f"{listen!r} is not HOST:PORT", param_hint="--listen")
    policy = (
        Policy.load(Path(policy_name))
        if policy_name.endswith((".yaml", ".yml"))
        else Policy.named(policy_name)
    )
    app = create_app(
        ConsoleConfig(
            settings=context.settings,
            policy=policy,
            secure_cookies=not insecure_cookies,
            max_upload_bytes=max_upload_mb * 1024 * 1024,
        )
    )
    click.echo(
        f"fusionguard console on http://{listen}/ (database {context.settings.db_url.split('@')[-1]})",
        err=True,
    )
    uvicorn.run(
        app,
        host=host.strip("[]"),
        port=int(port),
        log_level="warning",
        proxy_headers=False,
        server_header=False,
    )


@click.group("admin")
def admin() -> None:
    """Console accounts: add, list, disable, reset a password, issue an API token."""


@admin.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--reason", default="account created with 'fusionguard admin add'", show_default=True)
@_actor
@click.pass_obj
def admin_add(context: Any, username: str, role: str, reason: str, actor: str) -> None:
    """Create an account; prints its one-time password (platform: an API token), shown only now."""
    log, accounts = context.log(), _accounts(context)
    password = actions.add_account(log, accounts, username, role, reason, actor=actor, now=utc_now())
    if role == "platform":
        token = actions.issue_token(log, accounts, username, "initial", reason, actor=actor, now=utc_now())
        click.echo(f"API token for {username} (shown once): {token}")
    else:
        click.echo(f"password for {username} (shown once): {password}")


@admin.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def admin_list(context: Any, as_json: bool) -> None:
    """List console accounts."""
    rows = [a.to_json() for a in _accounts(context).list()]
    if as_json:
        click.echo(json.dumps({"ok": True, "accounts": rows}, indent=2, sort_keys=True))
        return
    for row in rows:
        state = f"disabled {row['disabled_at']}" if row["disabled_at"] else "active"
        click.echo(f"{row['username']:<24} {row['role']:<9} {state}")


@admin.command("disable")
@click.argument("username")
@click.option("--reason", required=True, help="Why (recorded in the log).")
@_actor
@click.pass_obj
def admin_disable(context: Any, username: str, reason: str, actor: str) -> None:
    """Disable an account: its sessions end and its API tokens stop working at once."""
    actions.disable_account(context.log(), _accounts(context), username, reason, actor=actor, now=utc_now())
    click.echo(f"disabled {username}")


@admin.command("password")
@click.argument("username")
@click.option("--reason", default="password reset with 'fusionguard admin password'", show_default=True)
@_actor
@click.pass_obj
def admin_password(context: Any, username: str, reason: str, actor: str) -> None:
    """Set a new random password (shown once) and end the account's sessions."""
    password = actions.reset_password(
        context.log(), _accounts(context), username, reason, actor=actor, now=utc_now()
    )
    click.echo(f"password for {username} (shown once): {password}")


@admin.command("token")
@click.argument("username")
@click.option("--label", default="api", show_default=True)
@click.option("--reason", default="token issued with 'fusionguard admin token'", show_default=True)
@_actor
@click.pass_obj
def admin_token(context: Any, username: str, label: str, reason: str, actor: str) -> None:
    """Issue an API token for USERNAME (stored hashed; shown only now)."""
    token = actions.issue_token(
        context.log(), _accounts(context), username, label, reason, actor=actor, now=utc_now()
    )
    click.echo(f"API token for {username} (shown once): {token}")
