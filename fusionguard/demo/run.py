"""``fusionguard demo``: the whole product in one run, on the embedded SQLite default.

1. enrol two consenting people from public-domain photos available offline: NASA's astronaut portrait
   (Eileen Collins, ``skimage.data``; consents as source and target) and the US Navy portrait of Grace
   Hopper (matplotlib's sample data; consents as *source only*);
2. swap Grace Hopper's face onto the astronaut with a small classical face swap
   (:mod:`fusionguard.demo.swap`), wrapped by the Guard's path adapter: checked, watermarked, signed,
   recorded, workspace purged;
3. simulate a leak (crop, resize, JPEG) and trace it back to its record by the watermark;
4. try the reverse swap — the astronaut onto Grace Hopper, who gave no *target* consent — and show the
   block, its reasons and its signed record.

Re-runnable: people already enrolled are reused, and each run adds new records.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from fusionguard.adapters import protect_paths
from fusionguard.audit.log import AuditLog
from fusionguard.audit.record import ModelInfo
from fusionguard.audit.verify import verify_log
from fusionguard.config import Settings
from fusionguard.demo import swap
from fusionguard.errors import AlreadyEnrolled, ConfigError, PolicyViolation
from fusionguard.guard import Guard
from fusionguard.home import initialise
from fusionguard.media import encode_image, load_image
from fusionguard.registry import ConsentRegistry, enrol_photos
from fusionguard.trace import Tracer

DEMO_MODEL = ModelInfo("fusionguard-demo-swap", "1.0", "apache-2.0")


def _demo_photos(folder: Path) -> tuple[Path, Path]:
    """Write the two public-domain portraits as PNG files the pipeline can read by path."""
    try:
        import matplotlib.cbook
        import skimage.data
    except ImportError:
        raise ConfigError(
            "the demo photos come from scikit-image and matplotlib: pip install 'fusionguard[demo]'"
        ) from None
    astronaut = folder / "astronaut.png"
    hopper = folder / "grace_hopper.png"
    astronaut.write_bytes(encode_image(np.asarray(skimage.data.astronaut()), "png"))  # type: ignore[no-untyped-call]
    sample = Path(str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    hopper.write_bytes(encode_image(load_image(sample, source="grace_hopper.jpg").rgb, "png"))
    return astronaut, hopper


def _ensure_person(
    registry: ConsentRegistry,
    guard: Guard,
    name: str,
    photo: Path,
    roles: list[str],
    echo: Callable[[str], None],
) -> str:
    """Enrol the person, or find them by their face and set their consent to exactly ``roles``.

    So the demo runs again in any state the previous run or an admin left: after a revocation the
    role is granted again, an extra role is revoked, an erased person is enrolled anew.
    """
    try:
        return enrol_photos(registry, guard.faces, name, [photo], roles=roles)
    except AlreadyEnrolled as known:
        identity = known.identity_id
    live = registry.show(identity).active_roles(registry.clock())
    missing, extra = sorted(set(roles) - live), sorted(live - set(roles))
    if missing:
        registry.grant(identity, missing, actor="demo")
        echo(f"   {identity}: granted {','.join(missing)} consent again (it had been revoked)")
    if extra:
        registry.revoke(identity, extra, actor="demo")
        echo(f"   {identity}: revoked {','.join(extra)} consent, which the demo needs absent")
    return identity


def _leak(path: Path, out: Path) -> Path:
    """What a takedown request brings: a centre crop, downscaled, re-compressed as JPEG."""
    rgb = load_image(path).rgb
    h, w = rgb.shape[:2]
    crop = rgb[h // 10 : h - h // 10, w // 10 : w - w // 10]
    # 0.9x: at 0.8x with JPEG 75 a 512-px output's mark failed to read for about 1 key in 15 (2 of 30
    # keys measured); the demo shows the watermark path, and the fingerprint path covers harsher copies.
    small = cv2.resize(crop, None, fx=0.9, fy=0.9, interpolation=cv2.INTER_AREA)
    leaked = out / "leaked.jpg"
    leaked.write_bytes(encode_image(small, "jpeg", quality=75))
    return leaked


def run_demo(settings: Settings, out: Path, echo: Callable[[str], None] = print) -> None:
    initialise(settings)  # what `fusionguard init` does; idempotent
    out.mkdir(parents=True, exist_ok=True)
    guard = Guard.from_policy("default", home=settings.home, db_url=settings.db_url, actor="demo")
    registry = guard.registry
    astronaut, hopper = _demo_photos(out)

    echo("== 1. enrol two consenting people (public-domain portraits)")
    collins = _ensure_person(
        registry, guard, "Eileen Collins (NASA portrait)", astronaut, ["source", "target"], echo
    )
    grace = _ensure_person(registry, guard, "Grace Hopper (US Navy portrait)", hopper, ["source"], echo)
    echo(f"   {collins}: source+target consent   {grace}: source consent only")

    echo("== 2. face swap through the Guard: Grace Hopper's face onto the astronaut")
    process_image = protect_paths(guard, model=DEMO_MODEL)(swap.process_image)
    output = out / "swap.png"
    process_image([str(hopper)], str(astronaut), str(output))
    record = guard.log.query()[-1].record
    assert record.output is not None
    echo(f"   wrote {output} (watermarked, no metadata)")
    echo(
        f"   record {record.record_id} seq {record.seq}: decision {record.decision}, "
        f"watermark ID {record.output.watermark_id}"
    )
    echo("   " + json.dumps(record.to_json(), sort_keys=True)[:300] + " ...")

    echo("== 3. a leaked copy (cropped, resized, JPEG 75) is traced back")
    leaked = _leak(output, out)
    result = Tracer(guard.log, guard.codec).trace(load_image(leaked).rgb, str(leaked))
    echo(f"   verdict: {result.meaning}")
    for match in result.matches:
        echo(
            f"   {leaked} -> record {match.record_id} by {match.method}"
            + (
                f" (false alarm <= {match.false_alarm_probability:.1e})"
                if match.false_alarm_probability is not None
                else f" (PDQ distance {match.pdq_distance})"
            )
        )
    if not result.matches:
        echo(f"   {leaked}: {result.note}")

    echo("== 4. the reverse swap: Grace Hopper gave no target consent")
    blocked_output = out / "blocked.png"
    try:
        process_image([str(astronaut)], str(hopper), str(blocked_output))
    except PolicyViolation as violation:
        echo(f"   blocked (record {violation.record_id}); no output written: {not blocked_output.exists()}")
        for reason in violation.reasons:
            echo(f"   - {reason}")
    else:  # pragma: no cover - the demo's point is that this is refused
        raise AssertionError("the swap onto a non-consenting target was not blocked")

    log = AuditLog.open(settings.db_url, guard.log.ring, witness_path=settings.witness_path)
    report = verify_log(log)
    echo(
        f"== audit log: {report.records} records, verify {'ok' if report.ok else 'FAILED'}, "
        f"root {report.root_hash.hex()[:16]}..."
    )
