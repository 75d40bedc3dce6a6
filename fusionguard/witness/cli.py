"""``fusionguard witness ...``: run a witness, and witness this home's log.

fusionguard witness init --home W1 --name witness.example/w1     # prints the witness vkey
fusionguard witness add-log --home W1 "$(fusionguard witness log-key)"
fusionguard witness serve --home W1 --listen 127.0.0.1:7001
fusionguard witness submit                                      # one round now, for this home's log
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from fusionguard.audit.checkpoint import note_key_hash
from fusionguard.errors import ConfigError
from fusionguard.witness.cosignature import Verifier

__all__ = ["audit_evidence", "verify_block", "verify_evidence_command", "witness"]


@click.group()
def witness() -> None:
    """Run a C2SP witness, or get this log's checkpoints cosigned."""


_home = click.option(
    "--home",
    "witness_home",
    required=True,
    type=click.Path(file_okay=False),
    help="The witness's own state directory (its key, accepted logs, SQLite state).",
)


@witness.command("init")
@_home
@click.option("--name", required=True, help="The witness's name, e.g. witness.example.com/w1.")
def witness_init(witness_home: str, name: str) -> None:
    """Create a witness home with a new Ed25519 cosigning key; print its vkey."""
    from fusionguard.witness.server import init_home

    click.echo(init_home(Path(witness_home), name).vkey)


@witness.command("add-log")
@_home
@click.argument("vkey")
def witness_add_log(witness_home: str, vkey: str) -> None:
    """Accept checkpoints of the log with this vkey ('fusionguard witness log-key' prints it)."""
    from fusionguard.witness.server import add_log

    verifier = add_log(Path(witness_home), vkey)
    click.echo(f"accepting {verifier.name} (key ID {verifier.key_id.hex()})")


@witness.command("vkey")
@_home
def witness_vkey(witness_home: str) -> None:
    """Print the witness's vkey (for the log's witness policy)."""
    from fusionguard.witness.server import Witness

    click.echo(Witness(Path(witness_home)).verifier.vkey)


@witness.command("serve")
@_home
@click.option("--listen", required=True, help="HOST:PORT to listen on, e.g. 127.0.0.1:7001.")
@click.option("--verbose", is_flag=True, help="Log every request.")
def witness_serve(witness_home: str, listen: str, verbose: bool) -> None:
    """Serve add-checkpoint (POST /add-checkpoint) and the latest cosigned checkpoints."""
    from fusionguard.witness.server import serve

    serve(Path(witness_home), listen, verbose=verbose)


@witness.command("log-key")
@click.pass_obj
def witness_log_key(context: Any) -> None:
    """Print this log's checkpoint vkey(s), one per key of the ring, for witnesses to accept."""
    log = context.log()
    origin = log.state()[0]
    for key_id in log.ring.key_ids:
        verifier = Verifier.log(origin, log.ring.public_key(key_id))
        assert verifier.key_id == note_key_hash(origin, verifier.public_key)
        click.echo(verifier.vkey)


@witness.command("submit")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def witness_submit(context: Any, as_json: bool) -> None:
    """Send the log's signed head to every witness of the policy now, and show what they answered."""
    from fusionguard.witness.config import load_witnessing

    witnessing = load_witnessing(context.settings.home)
    if witnessing is None:
        raise ConfigError(
            f"{context.settings.home / 'witness-policy'} not found: write a tlog-policy file naming "
            "the witnesses and the quorum"
        )
    client = witnessing.client(context.log())
    statuses = {name: s.to_json() for name, s in client.submit_now().items()}
    client.stop()
    if as_json:
        click.echo(json.dumps(statuses, indent=2, sort_keys=True))
    else:
        for name, status in statuses.items():
            line = f"{name}: cosigned size {status['size']}"
            if status["error"]:
                line += f" ({status['error']})"
            click.echo(line)
            if status["alarm"]:
                click.echo(f"ALARM: {status['alarm']}", err=True)
    if any(s["alarm"] for s in statuses.values()):
        raise click.exceptions.Exit(3)


def verify_block(home: Path, log: Any) -> Any:
    """For ``audit verify``: the witness report of a home with a witness policy, else None."""
    from fusionguard.witness.config import load_witnessing
    from fusionguard.witness.report import witness_report

    witnessing = load_witnessing(home)
    if witnessing is None:
        return None
    return witness_report(log, witnessing.policy, timeout=witnessing.timeout_seconds)


# -- evidence bundles (fusionguard.evidence) -------------------------------------------------------


@click.command("evidence")
@click.argument("record")
@click.option("--image", type=click.Path(dir_okay=False, exists=True), help="The leaked image to compare.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The evidence file to write.")
@click.pass_obj
def audit_evidence(context: Any, record: str, image: str | None, out: str) -> None:
    """Write a self-contained, offline-checkable evidence file for RECORD (for a platform)."""
    from fusionguard.config import utc_now
    from fusionguard.evidence import build_evidence, compare_image
    from fusionguard.witness.config import load_witnessing

    witnessing = load_witnessing(context.settings.home)
    if witnessing is None:
        raise ConfigError(
            "evidence needs witnessed checkpoints: write "
            f"{context.settings.home / 'witness-policy'} (see 'fusionguard witness --help')"
        )
    log = context.log()
    trace = None
    if image:
        from fusionguard.guard import load_watermark_key
        from fusionguard.media import load_image
        from fusionguard.watermark import WatermarkCodec

        data = Path(image).read_bytes()
        codec = WatermarkCodec(load_watermark_key(context.settings.keys_dir))
        trace = compare_image(log, record, load_image(data).rgb, data, codec)
    bundle = build_evidence(log, witnessing.policy, record, now=utc_now(), trace=trace)
    target = Path(out)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps(bundle, indent=2, sort_keys=True) + "\n")
    partial.replace(target)
    index = bundle["proof"].split("\n")[1]
    click.echo(f"wrote {out}: record {record}, {index}" + (f", trace {trace['verdict']}" if trace else ""))


@click.command("verify-evidence")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--policy",
    type=click.Path(dir_okay=False, exists=True),
    help="A tlog-policy with the log and witness keys you trust (default: the keys in the file).",
)
@click.option("--json", "as_json", is_flag=True)
def verify_evidence_command(file: str, policy: str | None, as_json: bool) -> None:
    """Check an evidence file offline and say in plain words what it proves."""
    from fusionguard.evidence import verify_evidence_file

    result, lines = verify_evidence_file(Path(file), Path(policy) if policy else None)
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        for line in lines:
            click.echo(line)
