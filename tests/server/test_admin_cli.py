"""``fusionguard admin ...`` as an operator runs it; each change is a signed admin-action record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fusionguard.cli import main


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    assert main(["--home", str(path), "init"]) == 0
    return path


def test_add_list_disable_password_token(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    h = ["--home", str(home)]
    assert main([*h, "admin", "add", "alice", "--role", "admin", "--actor", "root"]) == 0
    password = capsys.readouterr().out.strip().rsplit(" ", 1)[1]
    assert len(password) >= 16
    assert main([*h, "admin", "add", "bot", "--role", "platform"]) == 0
    assert capsys.readouterr().out.startswith("API token for bot (shown once): fgt_")
    assert main([*h, "admin", "add", "alice", "--role", "viewer"]) == 1
    assert "account 'alice' exists already" in capsys.readouterr().err
    assert main([*h, "admin", "add", "Bad Name", "--role", "viewer"]) == 1
    assert main([*h, "admin", "password", "bot"]) == 1
    assert "platform account" in capsys.readouterr().err
    assert main([*h, "admin", "password", "alice"]) == 0
    assert main([*h, "admin", "token", "alice", "--label", "scripts"]) == 0
    assert main([*h, "admin", "disable", "alice", "--reason", "left"]) == 0
    capsys.readouterr()
    assert main([*h, "admin", "list", "--json"]) == 0
    accounts = {a["username"]: a for a in json.loads(capsys.readouterr().out)["accounts"]}
    assert accounts["alice"]["disabled_at"] is not None
    assert accounts["bot"]["role"] == "platform"
    assert main([*h, "audit", "list", "--decision", "admin", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)["records"]
    assert len(records) == 6  # add alice, add bot, bot's token, password, token, disable
    assert main([*h, "audit", "verify"]) == 0


def test_serve_refuses_a_bad_listen_address(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(home), "serve", "--listen", "nowhere"]) == 2
    assert "is not HOST:PORT" in capsys.readouterr().err
