"""``make demo`` runs again in every state a previous run or an admin left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fusionguard.cli import main

pytestmark = pytest.mark.slow


def _people(home: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, object]]:
    capsys.readouterr()
    assert main(["--home", str(home), "consent", "list", "--json"]) == 0
    return {p["display_name"] or p["identity_id"]: p for p in json.loads(capsys.readouterr().out)}


def _demo(home: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    code = main(["--home", str(home), "demo", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "verify ok" in printed.out, printed.out
    return printed.out


def test_the_demo_runs_again_after_a_revoke_an_erase_and_an_extra_grant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home, out = tmp_path / "home", tmp_path / "out"
    _demo(home, out, capsys)
    people = _people(home, capsys)
    collins = str(people["Eileen Collins (NASA portrait)"]["identity_id"])
    grace = str(people["Grace Hopper (US Navy portrait)"]["identity_id"])

    _demo(home, out, capsys)  # again, unchanged: no duplicate identity
    assert len(_people(home, capsys)) == 2

    assert main(["--home", str(home), "consent", "revoke", collins]) == 0
    printed = _demo(home, out, capsys)
    assert f"{collins}: granted source,target consent again" in printed
    assert len(_people(home, capsys)) == 2

    assert main(["--home", str(home), "consent", "grant", grace, "--role", "target"]) == 0
    printed = _demo(home, out, capsys)
    assert f"{grace}: revoked target consent" in printed  # the blocked swap still blocks

    assert main(["--home", str(home), "consent", "erase", grace]) == 0
    _demo(home, out, capsys)  # an erased person is enrolled anew
    people = _people(home, capsys)
    assert len(people) == 3 and grace in people  # the erased pseudonym stays, nameless


def test_enrolling_an_enrolled_face_says_who_and_how_to_grant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import matplotlib.cbook

    home = tmp_path / "home"
    assert main(["--home", str(home), "init"]) == 0
    photo = str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    enroll = ["--home", str(home), "consent", "enroll", "--name", "Grace", "--photo", photo]
    capsys.readouterr()
    assert main([*enroll, "--scope", "source"]) == 0
    identity = capsys.readouterr().out.strip()
    assert main([*enroll, "--scope", "target"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and f"already enrolled as {identity} (Grace" in error
    assert f"fusionguard consent grant {identity} --role target" in error
    assert main(["--home", str(home), "consent", "grant", identity, "--role", "target"]) == 0
    assert len(_people(home, capsys)) == 1
