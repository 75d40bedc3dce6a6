"""The ``fusionguard`` command: a thin layer over importable functions.

Exit codes: 0 ok; 1 an error (one line on stderr: what was wrong and what to do); 2 bad usage;
3 verification failed or a check blocked. Every command that lists things has ``--json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click

from fusionguard.audit.keys import KeyRing
from fusionguard.audit.log import AuditLog, Filters, StoredRecord
from fusionguard.audit.operations import check_takedown, file_takedown, record_summary
from fusionguard.audit.verify import checkpoint_summary, verify_log, verify_proof_file
from fusionguard.config import Settings, utc_now
from fusionguard.errors import (
    BadInput,
    FusionGuardError,
    PolicyViolation,
    SigningKeyError,
    TamperDetected,
)
from fusionguard.home import initialise, recover_home, require_initialised

EXIT_ERROR, EXIT_USAGE, EXIT_FAILED = 1, 2, 3
_MAX_LIMIT = 1_000_000_000  # far above any log, far below what a database integer overflows at
_WATERMARK_ID = re.compile(r"[0-9a-fA-F]{16}")


def _watermark_id(value: str | None) -> str | None:
    if value is not None and not _WATERMARK_ID.fullmatch(value):
        raise click.BadParameter(f"{value!r} is not a watermark ID (expected 16 hex digits)")
    return value.lower() if value is not None else None


class Context:
    def __init__(self, home: str | None, db_url: str | None) -> None:
        self.settings = Settings.resolve(home, db_url)
        self._log: AuditLog | None = None

    def ring(self) -> KeyRing:
        require_initialised(self.settings)  # says so in one line, and creates nothing
        return KeyRing.load(self.settings.keys_dir)

    def log(self) -> AuditLog:
        if self._log is None:
            require_initialised(self.settings)
            self._log = AuditLog.open(
                self.settings.db_url, self.ring(), witness_path=self.settings.witness_path
            )
        return self._log


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def _read_text(path: str, what: str) -> str:
    """A small text file the user named (a checkpoint note), or a one-line BadInput."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text (expected {what})") from None
    except OSError as error:
        raise BadInput(f"{path}: cannot read {what} ({error.strerror})") from None


@contextmanager
def _output_file(path: str) -> Iterator[IO[str]]:
    """Write ``path`` by write-then-rename: a symlink planted at ``path`` is replaced, never followed,
    and a failed write leaves no partial file."""
    target = Path(path)
    if target.is_dir() and not target.is_symlink():
        raise BadInput(f"{path}: is a directory; give a file name")
    parent = target.absolute().parent
    if not parent.is_dir():
        raise BadInput(f"{path}: directory {parent} does not exist")
    fd, temporary = tempfile.mkstemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _write_text(path: str, text: str) -> None:
    with _output_file(path) as handle:
        handle.write(text)


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on a terminal; nothing when output is piped (scripts and CI)."""
    if not sys.stderr.isatty() or total < 1000:
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)  # out-of-range instants (year 1 at +14:00) fail here, not later
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or time") from None
    except OverflowError:
        raise click.BadParameter(f"{value!r} is outside the range of dates this tool handles") from None


@click.group()
@click.option("--home", envvar="FUSIONGUARD_HOME", help="State directory (keys, workspaces).")
@click.option("--db", "db_url", envvar="FUSIONGUARD_DB", help="SQLAlchemy database URL.")
@click.pass_context
def cli(ctx: click.Context, home: str | None, db_url: str | None) -> None:
    """fusionguard: checked, watermarked, signed and audited face-swap runs."""
    ctx.obj = Context(home, db_url)


pass_context = click.make_pass_decorator(Context)


@cli.command()
@pass_context
def init(context: Context) -> None:
    """Create the home, the signing key and the database schema (or upgrade it)."""
    report = initialise(context.settings)
    if report.tightened:
        click.echo(report.tightened)
    if report.swept:
        click.echo(f"swept {report.swept} workspace(s) left by killed runs")
    if report.sealed:
        click.echo(
            f"sealed the names and embeddings of {report.sealed} identities enrolled before schema 0005"
        )
    for line in report.recovered.lines():
        click.echo(f"recovered: {line}")
    click.echo(f"home {report.home}")
    click.echo(f"database {report.database} at schema {report.schema}")
    click.echo(f"log {report.origin} with {report.records} records; signing key {report.signing_key}")


# -- audit ---------------------------------------------------------------------------------------


@cli.group()
def audit() -> None:
    """Query, verify, prove and export the audit log."""


def _summary(stored: StoredRecord) -> dict[str, Any]:
    return record_summary(stored)


@audit.command("list")
@click.option("--since", help="Only records at or after this time (ISO 8601, UTC by default).")
@click.option("--until", help="Only records before this time.")
@click.option(
    "--decision",
    type=click.Choice(
        [
            "allowed",
            "blocked",
            "takedown",
            "not_released",
            "enrolled",
            "granted",
            "revoked",
            "erased",
            "admin",
        ]
    ),
)
@click.option("--model", help="Only records of this model name.")
@click.option("--identity", help="Only records involving this identity ID.")
@click.option(
    "--watermark-id",
    callback=lambda _ctx, _param, value: _watermark_id(value),
    help="Only the record with this watermark ID (16 hex digits).",
)
@click.option(
    "--taken-down/--not-taken-down",
    default=None,
    help="Only run records whose output was (or was not) taken down.",
)
@click.option("--limit", type=click.IntRange(min=1, max=_MAX_LIMIT), help="At most N records (the newest).")
@click.option("--oldest-first", is_flag=True, help="Oldest first (default: newest first).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def audit_list(
    context: Context,
    since: str | None,
    until: str | None,
    decision: str | None,
    model: str | None,
    identity: str | None,
    watermark_id: str | None,
    taken_down: bool | None,
    limit: int | None,
    oldest_first: bool,
    as_json: bool,
) -> None:
    """List records, newest first."""
    filters = Filters(
        since=_parse_time(since),
        until=_parse_time(until),
        decision=decision,
        model=model,
        identity=identity,
        watermark_id=watermark_id,
        taken_down=taken_down,
        limit=limit,
        newest_first=not oldest_first,
    )
    rows = [_summary(stored) for stored in context.log().query(filters)]
    if as_json:
        _emit({"ok": True, "records": rows})
        return
    if rows:
        click.echo(
            f"{'SEQ':>8}  {'TIME (UTC)':<27}  {'DECISION':<12}  {'RECORD ID':<32}  {'MODEL':<20}  WATERMARK"
        )
    for row in rows:
        click.echo(
            f"{row['seq']:>8}  {row['timestamp']:<27}  {row['decision']:<12}  "
            f"{row['record_id']}  {row['model'] or '-':<20}  {row['watermark_id'] or '-'}"
        )
    click.echo(f"{len(rows)} record(s)", err=True)


@audit.command("show")
@click.argument("record")
@pass_context
def audit_show(context: Context, record: str) -> None:
    """Show one record (by record ID, sequence number or watermark ID) with its signature."""
    _emit(context.log().get(record).envelope)


@audit.command("verify")
@click.option("--full", is_flag=True, help="Check every record signature, not only where needed.")
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="An exported checkpoint the log must still be consistent with (repeatable).",
)
@click.option(
    "--trusted-keys",
    type=click.Path(dir_okay=False),
    help="Accept only these public keys ('keys export-public'), not the home's ring "
    "[env FUSIONGUARD_TRUSTED_KEYS].",
)
@click.option(
    "--allow-missing-witness",
    is_flag=True,
    help="Verify even though the witness file (rollback detection) is missing.",
)
@click.option("--json", "as_json", is_flag=True)
@pass_context
def audit_verify(
    context: Context,
    full: bool,
    checkpoints: tuple[str, ...],
    trusted_keys: str | None,
    allow_missing_witness: bool,
    as_json: bool,
) -> None:
    """Recompute the log; name every edited, missing, reordered or badly signed record."""
    log = context.log()
    notes = [_read_text(p, "a checkpoint note") for p in checkpoints]
    pinned_path = Path(trusted_keys) if trusted_keys else context.settings.trusted_keys
    pinned = KeyRing.load_public(pinned_path) if pinned_path is not None else None
    # -- witnessing (fusionguard.witness): cosigned checkpoints must match the records too --
    from fusionguard.witness.cli import verify_block

    witnessed = verify_block(context.settings.home, log)
    notes += witnessed.notes if witnessed else []
    with _progress(log.count(), "verifying") as progress:
        report = verify_log(
            log,
            full=full,
            external_checkpoints=notes,
            progress=progress,
            trusted_keys=pinned,
            require_witness=not allow_missing_witness,
        )
    if witnessed:
        report.problems += witnessed.problems
    if as_json:
        _emit(
            {
                "ok": report.ok,
                "records": report.records,
                "tree_size": report.tree_size,
                "root_hash": report.root_hash.hex(),
                "problems": [p.to_dict() for p in report.problems],
                **({"witnessing": witnessed.to_json(utc_now())} if witnessed else {}),
            }
        )
    elif report.ok:
        click.echo(f"ok: {report.records} records, root {report.root_hash.hex()}")
    if witnessed and not as_json:
        for line in witnessed.lines(utc_now()):
            click.echo(line)
    if not report.ok:
        if not as_json:
            for problem in report.problems:
                click.echo(f"problem: {problem}", err=True)
        raise click.exceptions.Exit(EXIT_FAILED)


@audit.command("export")
@click.option("--out", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
@pass_context
def audit_export(context: Context, out: str | None) -> None:
    """Export every record envelope as JSON Lines (oldest first)."""
    log = context.log()
    destination = _output_file(out) if out else contextlib.nullcontext(sys.stdout)
    with destination as handle, _progress(log.count(), "exporting") as progress:
        for row in log.iter_rows():
            handle.write(row.envelope + "\n")
            if progress:
                progress(1)


@audit.command("proof")
@click.argument("record", required=False)
@click.option(
    "--from-checkpoint",
    type=click.Path(dir_okay=False, exists=True),
    help="Prove consistency from this exported checkpoint instead of inclusion.",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Proof file (default: stdout).")
@pass_context
def audit_proof(context: Context, record: str | None, from_checkpoint: str | None, out: str | None) -> None:
    """Write a self-contained inclusion proof for RECORD (or a consistency proof)."""
    log = context.log()
    if from_checkpoint:
        proof = log.consistency_proof(_read_text(from_checkpoint, "a checkpoint note"))
    elif record:
        proof = log.inclusion_proof(record)
    else:
        raise click.UsageError("give a RECORD or --from-checkpoint FILE")
    text = json.dumps(proof, indent=2, sort_keys=True) + "\n"
    if out:
        _write_text(out, text)
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)


@audit.command("verify-proof")
@click.argument("proof_file", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False, exists=True),
    required=True,
    help="Exported public keys ('keys export-public') or a PEM public key.",
)
@click.option("--json", "as_json", is_flag=True)
def audit_verify_proof(proof_file: str, public_key: str, as_json: bool) -> None:
    """Verify a proof file offline, with only the public key (no database)."""
    try:
        summary = verify_proof_file(Path(proof_file).read_bytes(), KeyRing.load_public(Path(public_key)))
    except TamperDetected as error:
        if error.problems and all(p.kind == "unknown key" for p in error.problems):
            # Not tampering: the verifier holds the wrong (or an old) key file.
            raise SigningKeyError(
                f"{public_key}: this key file does not contain the key that signed this proof; export "
                "the keys again ('fusionguard keys export-public') from the log's home"
            ) from None
        raise
    if as_json:
        _emit({"ok": True, **summary})
    elif "seq" in summary:
        click.echo(
            f"ok: record {summary['record']['record_id']} is entry {summary['seq']} of "
            f"{summary['origin']} at size {summary['tree_size']}"
        )
    else:
        click.echo(
            f"ok: {summary['origin']} size {summary['old_size']} is a prefix of size {summary['new_size']}"
        )


@audit.command("checkpoint")
@click.option(
    "--export",
    "export_path",
    type=click.Path(dir_okay=False),
    help="Also write the signed checkpoint to this file.",
)
@pass_context
def audit_checkpoint(context: Context, export_path: str | None) -> None:
    """Store a signed checkpoint of the current head (and publish it to a file)."""
    note = context.log().checkpoint()
    if export_path:
        _write_text(export_path, note)
    summary = checkpoint_summary(note)
    click.echo(f"checkpoint {summary['origin']} size {summary['tree_size']} root {summary['root_hash']}")


@audit.command("takedown")
@click.argument("record")
@click.option("--reason", required=True, help="Why the output is taken down.")
@click.option("--actor", default=lambda: os.environ.get("USER", "admin"), show_default="$USER")
@click.option(
    "--image",
    type=click.Path(dir_okay=False, exists=True),
    help="The reported image: it is traced, and the takedown refused unless it traces to RECORD.",
)
@click.option(
    "--override-unverified",
    metavar="REASON",
    help="Take down even though the image's trace is 'unverified' (a mark whose content does not "
    "match); the takedown record says so, with this reason.",
)
@pass_context
def audit_takedown(
    context: Context, record: str, reason: str, actor: str, image: str | None, override_unverified: str | None
) -> None:
    """Append a signed takedown record for RECORD (existing records are never edited)."""
    log = context.log()
    target = check_takedown(log, record, reason)
    data: dict[str, Any] = {}
    if image is not None:
        from fusionguard.trace_cli import takedown_evidence

        data = takedown_evidence(context.settings, log, Path(image), target, override_unverified)
    elif override_unverified is not None:
        raise BadInput("--override-unverified applies to a traced --image; give --image too")
    receipt = file_takedown(log, record, reason, actor=actor, now=utc_now(), data=data, checked=target)
    click.echo(f"takedown recorded as seq {receipt.seq} ({receipt.record_id})")


@audit.command("shred")
@click.argument("record")
@click.option("--reason", required=True, help="Why the originals are destroyed (an erasure request, say).")
@click.option("--actor", default=lambda: os.environ.get("USER", "admin"), show_default="$USER")
@pass_context
def audit_shred(context: Context, record: str, reason: str, actor: str) -> None:
    """Delete RECORD's sealed original faces for good, after a signed record of who did it and why
    (the run's record is untouched and the log verifies)."""
    from fusionguard.anonymise.recovery import shred_record, shreddable
    from fusionguard.anonymise.store import SealedRegions
    from fusionguard.audit.record import admin_action_record

    if not reason.strip():
        raise BadInput("--reason is empty; say why the sealed originals are destroyed")
    log = context.log()
    stored = log.get(record)
    store = SealedRegions(log.engine)
    regions = shreddable(stored.record, store)
    # The statement first: a deletion nobody signed for is what the log exists to prevent. If the
    # deletion then fails, the command can be run again (it appends another statement).
    receipt = log.append(
        admin_action_record(
            "sealed.shred",
            stored.record.record_id,
            reason.strip(),
            actor=actor,
            timestamp=utc_now(),
            data={"regions": regions},
        )
    )
    count = shred_record(stored.record, store)
    click.echo(
        f"shredded {count} sealed region(s) of record {stored.record.record_id}; "
        f"recorded as seq {receipt.seq} ({receipt.record_id})"
    )


# -- keys ----------------------------------------------------------------------------------------


@cli.group()
def keys() -> None:
    """Show, rotate and export the signing keys."""


@keys.command("show")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def keys_show(context: Context, as_json: bool) -> None:
    """List the key ring; the newest key signs, every key verifies."""
    ring = context.ring()
    rows = [{"key_id": kid, "signing": kid == ring.signer.key_id} for kid in ring.key_ids]
    if as_json:
        _emit({"ok": True, "keys": rows})
        return
    for row in rows:
        click.echo(f"{row['key_id']}  {'signing' if row['signing'] else 'verify-only'}")


@keys.command("rotate")
@pass_context
def keys_rotate(context: Context) -> None:
    """Add a new signing key; older keys keep verifying old records."""
    context.ring()  # refuse to rotate a ring whose current key is unusable
    ring = KeyRing.rotate(context.settings.keys_dir, now=utc_now())
    click.echo(f"new signing key {ring.signer.key_id}")


@keys.command("export-public")
@click.option("--out", type=click.Path(dir_okay=False), help="File to write (default: stdout).")
@pass_context
def keys_export_public(context: Context, out: str | None) -> None:
    """Export the public keys for offline verification of proofs."""
    text = json.dumps(context.ring().export_public(), indent=2) + "\n"
    if out:
        _write_text(out, text)
    else:
        click.echo(text, nl=False)


@keys.command("recovery-keygen")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="New file for the PRIVATE key.")
@pass_context
def keys_recovery_keygen(context: Context, out: str) -> None:
    """Create the admin's recovery key pair for anonymised faces.

    The private key goes to OUT (0600, never overwritten): take it offline, it never belongs in the
    home. The public key is installed in the home, and Guards seal bystanders' faces to it.
    """
    from fusionguard.anonymise.sealing import write_recovery_keys

    key_id = write_recovery_keys(Path(out), context.settings.keys_dir)
    click.echo(f"recovery key {key_id}: private key written to {out} (keep it offline); public key installed")


# -- C2PA Content Credentials (fusionguard.provenance.c2pa) --


@keys.command("c2pa-dev-cert")
@click.option("--out", type=click.Path(file_okay=False), help="Folder (default: <home>/c2pa).")
@pass_context
def keys_c2pa_dev_cert(context: Context, out: str | None) -> None:
    """Create a local, NOT TRUSTED test CA + ES256 signer for C2PA (policy provenance.c2pa).

    For trying C2PA out only: no validator trusts it. Production needs a chain from a CA on the
    C2PA trust list; install it as <home>/c2pa/chain.pem and key.pem.
    """
    from fusionguard.provenance.c2pa import make_dev_cert

    folder = Path(out) if out else context.settings.home / "c2pa"
    chain, key = make_dev_cert(folder)
    click.echo(f"NOT TRUSTED test C2PA certificate (for trying C2PA out only): {chain}, key {key}")


@cli.command("recover")
@click.argument("record", required=False)
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--image", type=click.Path(exists=True, dir_okay=False), help="The output.")
@click.option("--out", type=click.Path(dir_okay=False), help="New PNG file to write.")
@pass_context
def recover(
    context: Context, record: str | None, key_file: str | None, image: str | None, out: str | None
) -> None:
    """Without RECORD: finish or undo the releases of runs that were killed (every Guard start does
    this too). With RECORD: restore its anonymised faces in IMAGE with the recovery private key."""
    if record is None:
        if key_file or image or out:
            raise click.UsageError("--key, --image and --out restore a RECORD's faces: give the RECORD")
        report = recover_home(context.settings, context.log())
        for line in report.lines():
            click.echo(line)
        click.echo(f"{report.settled} staged release(s) settled, {len(report.left)} left alone")
        return
    if not (key_file and image and out):
        raise click.UsageError("restoring RECORD's faces needs --key, --image and --out")
    from fusionguard.anonymise.recovery import recover_image
    from fusionguard.anonymise.store import SealedRegions
    from fusionguard.media import encode_image, load_image

    log = context.log()
    stored = log.get(record)
    loaded = load_image(image)
    restored, count = recover_image(
        stored.record, SealedRegions(log.engine), Path(key_file).read_bytes(), loaded.rgb
    )
    data = encode_image(restored, "png")
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise click.UsageError(f"{out} exists; choose a new file") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    click.echo(f"restored {count} region(s) of record {stored.record.record_id} into {out}")


# -- consent -------------------------------------------------------------------------------------


@cli.group()
def consent() -> None:
    """Enrol consenting people; list, show, revoke and erase them."""


def _registry(context: Context) -> Any:
    from fusionguard.registry import ConsentRegistry
    from fusionguard.registry.identity_keys import IdentityKeyStore

    require_initialised(context.settings)
    return ConsentRegistry.open(
        context.settings.db_url, keys=IdentityKeyStore(context.settings.identity_keys_dir), log=context.log()
    )


@consent.command("enroll")
@click.option("--name", required=True, help="Display name (kept in the registry, never in the log).")
@click.option(
    "--photo",
    "photos",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False),
    help="A reference photo with exactly one face (repeatable).",
)
@click.option(
    "--scope",
    default="source,target",
    show_default=True,
    help="Roles consented to: source (face used on others), target (face replaced).",
)
@click.option("--until", help="Consent end date (ISO 8601).")
@click.option(
    "--evidence",
    type=click.Path(dir_okay=False, exists=True),
    help="The signed consent document; only its SHA-256 is stored.",
)
@pass_context
def consent_enroll(
    context: Context, name: str, photos: tuple[str, ...], scope: str, until: str | None, evidence: str | None
) -> None:
    """Enrol a person from reference photos, with consent for the given roles."""
    from fusionguard.faces import DlibBackend
    from fusionguard.registry import enrol_photos

    identity = enrol_photos(
        _registry(context),
        DlibBackend(),
        name,
        list(photos),
        roles=[r.strip() for r in scope.split(",") if r.strip()],
        valid_until=_parse_time(until),
        evidence=Path(evidence).read_bytes() if evidence else None,
    )
    click.echo(identity)


@consent.command("grant")
@click.argument("identity")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(["source", "target"]),
    help="Role to consent to (repeatable).",
)
@click.option("--until", help="Consent end date (ISO 8601).")
@click.option(
    "--evidence",
    type=click.Path(dir_okay=False, exists=True),
    help="The signed consent document; only its SHA-256 is stored.",
)
@pass_context
def consent_grant(
    context: Context, identity: str, roles: tuple[str, ...], until: str | None, evidence: str | None
) -> None:
    """Give an enrolled person consent for a role (again, after a revocation)."""
    from fusionguard.media import sha256_hex

    granted = _registry(context).grant(
        identity,
        roles,
        valid_until=_parse_time(until),
        evidence_sha256=sha256_hex(Path(evidence).read_bytes()) if evidence else None,
    )
    if granted:
        click.echo(f"granted {','.join(granted)} consent to {identity}")
    else:
        click.echo(f"{identity} already has live {','.join(sorted(set(roles)))} consent")


@consent.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def consent_list(context: Context, as_json: bool) -> None:
    """List enrolled identities and their active roles."""
    now = utc_now()
    people = [p.to_json(now) for p in _registry(context).identities()]
    if as_json:
        _emit({"ok": True, "identities": people})
        return
    for person in people:
        name = "(erased identity)" if person["erased"] else person["display_name"]
        click.echo(f"{person['identity_id']}  {','.join(person['active_roles']) or '-':<14}  {name}")


@consent.command("show")
@click.argument("identity")
@pass_context
def consent_show(context: Context, identity: str) -> None:
    """Show one identity's consents and reference embeddings (counts only)."""
    _emit({"ok": True, **_registry(context).show(identity).to_json(utc_now())})


@consent.command("revoke")
@click.argument("identity")
@click.option("--role", type=click.Choice(["source", "target"]), help="Only this role (default: all).")
@pass_context
def consent_revoke(context: Context, identity: str, role: str | None) -> None:
    """Revoke consent; the next check refuses this person."""
    count = _registry(context).revoke(identity, [role] if role else ["source", "target"])
    click.echo(f"revoked {count} consent(s) of {identity}")


@consent.command("erase")
@click.argument("identity")
@pass_context
def consent_erase(context: Context, identity: str) -> None:
    """Erase name and biometric data; audit records keep resolving to "erased identity"."""
    _registry(context).erase(identity)
    click.echo(f"erased {identity}")


# -- checks, trace, demo --------------------------------------------------------------------------


@cli.command("check")
@click.argument("image", type=click.Path(dir_okay=False))
@click.option("--role", type=click.Choice(["source", "target"]), default="source", show_default=True)
@click.option(
    "--policy", "policy_name", default="default", show_default=True, help="Policy name or YAML file."
)
@click.option("--json", "as_json", is_flag=True)
@pass_context
def check(context: Context, image: str, role: str, policy_name: str, as_json: bool) -> None:
    """Run the pre-checks (NSFW, consent) on one image; exit 0 when allowed, 3 when blocked."""
    from fusionguard.checks.consent import ConsentCheck
    from fusionguard.checks.nsfw import OpenNsfwOnnx
    from fusionguard.faces import DlibBackend
    from fusionguard.guard import nsfw_screen, screened_inputs
    from fusionguard.media import load_image
    from fusionguard.policy import Policy

    policy = Policy.resolve(policy_name)
    registry = _registry(context)
    loaded = load_image(image, max_pixels=policy.media.max_pixels)
    label = "source[0]" if role == "source" else "target"
    pairs = [(label, loaded.rgb)]
    # The Guard's own NSFW pre-check: the same rules (enabled, check_sources/targets, threshold).
    screened = screened_inputs(
        policy.nsfw, pairs if role == "source" else [], pairs if role == "target" else []
    )
    scores, nsfw_reasons = nsfw_screen(OpenNsfwOnnx(), screened, policy.nsfw.threshold_inputs)
    reasons = [r.to_dict() for r in nsfw_reasons]
    findings = ConsentCheck(DlibBackend(), registry).check_inputs(
        pairs if role == "source" else [], pairs if role == "target" else [], policy.consent
    )
    reasons += [r.to_dict() for r in findings.reasons]
    score = scores.get(label)
    result = {
        "ok": not reasons,
        "image": image,
        "role": role,
        "allowed": not reasons,
        "nsfw_score": round(score, 4) if score is not None else None,
        "faces": findings.faces.get(label, 0),
        "identities": list(findings.identities.get(label, ())),
        "reasons": reasons,
    }
    if as_json:
        _emit(result)
    else:
        shown = f"NSFW {score:.3f}" if score is not None else "NSFW not screened"
        click.echo(
            f"{'allowed' if not reasons else 'blocked'}: {image} ({shown}, "
            f"{result['faces']} face(s), identities {result['identities'] or '-'})"
        )
        for reason in reasons:
            click.echo(f"  {reason['check']}: {reason['subject']}: {reason['detail']}")
    if reasons:
        raise click.exceptions.Exit(EXIT_FAILED)


@cli.command("trace")
@click.argument("path", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True)
@pass_context
def trace(context: Context, path: str, as_json: bool) -> None:
    """Trace a leaked image or video (or every file in a directory) back to its audit record.

    Exit 0 when verified or found by fingerprint, 4 when a watermark's content does not match its
    record (unverified), 3 when nothing matches.
    """
    from fusionguard.trace_cli import run_trace

    code = run_trace(context.settings, context.log(), Path(path), as_json)
    if code:
        raise click.exceptions.Exit(code)


@cli.command("trace-index")
@click.option("--rebuild", is_flag=True, help="Rewrite the persisted index from the database.")
@click.option("--verify", "check", is_flag=True, help="Compare the persisted index with the database.")
@pass_context
def trace_index(context: Context, rebuild: bool, check: bool) -> None:
    """Show, rebuild or verify the persisted trace index under the home (a cache of the database)."""
    from fusionguard.trace_cli import index_command

    code = index_command(context.settings, context.log(), rebuild=rebuild, verify=check)
    if code:
        raise click.exceptions.Exit(code)


@cli.command("demo")
@click.option("--out", type=click.Path(file_okay=False), default="out/demo", show_default=True)
@click.option(
    "--video", "video", is_flag=True, help="The video demo: a guarded swap on every frame of a clip."
)
@pass_context
def demo(context: Context, out: str, video: bool) -> None:
    """Run the end-to-end demo: enrol, swap through the Guard, leak, trace, and a blocked swap."""
    if video:
        from fusionguard.demo.video import run_video_demo

        run_video_demo(context.settings, Path(out), echo=click.echo)
        return
    from fusionguard.demo.run import run_demo

    run_demo(context.settings, Path(out), echo=click.echo)


# -- admin console (fusionguard.server) ----------------------------------------------------------
from fusionguard.server.commands import admin as _admin_group  # noqa: E402 (registered after the groups above)
from fusionguard.server.commands import serve as _serve_command  # noqa: E402

cli.add_command(_serve_command)
cli.add_command(_admin_group)

# -- witnessing (fusionguard.witness) ------------------------------------------------------------
from fusionguard.witness.cli import (  # noqa: E402 (registered beside the other commands)
    audit_evidence,
    verify_evidence_command,
    witness,
)

cli.add_command(witness)
audit.add_command(audit_evidence)
cli.add_command(verify_evidence_command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every fusionguard error becomes one line on stderr and a non-zero exit."""
    try:
        # Without standalone mode click returns the code of an ``Exit`` instead of raising it.
        code = cli.main(args=argv, prog_name="fusionguard", standalone_mode=False)
        if isinstance(code, int):
            return code
    except click.exceptions.Exit as stop:
        return int(stop.exit_code)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        return EXIT_ERROR
    except click.ClickException as error:
        error.show()
        return EXIT_USAGE
    except (TamperDetected, PolicyViolation) as error:
        click.echo(f"error: {error}", err=True)
        return EXIT_FAILED
    except FusionGuardError as error:
        click.echo(f"error: {error}", err=True)
        return EXIT_ERROR
    except OSError as error:
        click.echo(f"error: {error.filename or ''}: {error.strerror}".replace(": :", ":"), err=True)
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
