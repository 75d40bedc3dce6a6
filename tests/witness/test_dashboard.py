"""The console dashboard's cosigning-lag figures, from a log that two real witnesses cosigned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fusionguard.audit.keys import KeyRing
from fusionguard.server import stats
from fusionguard.witness.client import wait_for
from fusionguard.witness.config import POLICY_FILE
from fusionguard.witness.cosignature import Verifier
from fusionguard.witness.policy import WitnessPolicy
from fusionguard.witness.report import witnessed_checkpoints
from tests.witness.conftest import Setup


def test_dashboard_figures_show_how_far_cosigning_lags(setup: Setup, ring: KeyRing) -> None:
    assert stats.witnessing(setup.home, setup.log, now=setup.clock()) is None  # no policy: no card
    vkey = Verifier.log(setup.log.state()[0], ring.signer.public_key).vkey
    text = (
        f"log {vkey}\n"
        + setup.w1.policy_line("w1")
        + setup.w2.policy_line("w2")
        + "group both all w1 w2\nquorum both\n"
    )
    (setup.home / POLICY_FILE).write_text(text)
    policy = WitnessPolicy.parse(text)
    figures = stats.witnessing(setup.home, setup.log, now=setup.clock())
    assert figures is not None and figures["newest_witnessed_size"] is None
    client = setup.client().start()
    setup.fill(5)
    assert wait_for(client, 5, timeout=30), client.status
    setup.fill(4)
    assert wait_for(client, 9, timeout=30), client.status
    client.stop()
    setup.fill(3)  # appended after the last cosigning round
    everything, _ = witnessed_checkpoints(setup.log, policy)
    newest, _ = witnessed_checkpoints(setup.log, policy, newest_only=True)
    assert [c.tree_size for c in newest] == [9] and len(everything) >= 2  # older rounds not read
    assert newest[0].cosigners == everything[-1].cosigners
    later = datetime.now(UTC) + timedelta(seconds=40)  # cosignatures carry the witnesses' real time
    figures = stats.witnessing(setup.home, setup.log, now=later)
    assert figures is not None
    assert figures["newest_witnessed_size"] == 9 and figures["lag_records"] == 3
    assert sorted(figures["cosigners"]) == ["w1", "w2"] and figures["problems"] == []
    assert figures["lag_seconds"] is not None and 40 <= figures["lag_seconds"] < 600
