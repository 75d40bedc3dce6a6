"""The policy: what a guarded run must satisfy, loaded from YAML and validated on load.

A policy is a frozen tree of dataclasses. Every key has a default, so a file only says what it changes
(``name`` and ``version`` are always required). Loading refuses unknown keys, wrong types and
out-of-range values with a one-line :class:`~fusionguard.errors.PolicyError` naming the file, the key's
dotted path, what was found and what was expected.

``policy.sha256`` hashes the canonical JSON of the fully resolved policy (defaults filled in, lists
normalised and sorted), so two files that mean the same thing have the same hash; the audit record
stores it through :meth:`Policy.ref`.

>>> policy = Policy.named("strict")
>>> policy.nsfw.threshold_outputs, policy.license.unknown
(0.4, 'block')
>>> tuned = Policy.from_mapping({"name": "tuned", "version": 1, "nsfw": {"threshold_inputs": 0.6}})
>>> tuned.nsfw.threshold_inputs, tuned.nsfw.threshold_outputs
(0.6, 0.8)
>>> Policy.from_mapping(  # doctest: +ELLIPSIS
...     {"name": "x", "version": 1, "nsfw": {"treshold": 0.5}}, source="x.yaml"
... )
Traceback (most recent call last):
...
fusionguard.errors.PolicyError: x.yaml: nsfw.treshold: unknown key 'treshold' ...
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, NoReturn, cast

import yaml

import fusionguard._policies
from fusionguard.audit.canonical import canonical_json
from fusionguard.audit.record import PolicyRef
from fusionguard.checks.license import UNKNOWN_LICENSES, normalise_license
from fusionguard.errors import PolicyError

__all__ = [
    "SCHEMA_VERSION",
    "AuditPolicy",
    "ConsentPolicy",
    "LicensePolicy",
    "MediaPolicy",
    "MetadataPolicy",
    "NsfwPolicy",
    "Policy",
    "PrivacyPolicy",
    "StreamPolicy",
    "VideoPolicy",
    "WatermarkPolicy",
    "shipped_policies",
]

SCHEMA_VERSION = 1

BlockOrAllow = Literal["block", "allow"]
UnknownFaces = Literal["block", "allow", "anonymise"]
AnonymiseMethod = Literal["blur", "pixelate", "synthetic"]
PromptStorage = Literal["hash", "plain", "none"]
ImageFormat = Literal["jpeg", "png", "webp"]

_IMAGE_FORMATS: tuple[ImageFormat, ...] = ("jpeg", "png", "webp")  # what fusionguard.media decodes
_FORMAT_ALIASES = {"jpg": "jpeg"}
#: The watermark codec cannot embed in images smaller than this (fusionguard.watermark.MIN_SIZE; not
#: imported, to keep loading a policy free of numpy/scipy).
_WATERMARK_MIN_SIZE = 256
_MAX_PIXELS_CEILING = 1_000_000_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SHIPPED_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# License list entries: normalised IDs, '*' as the only wildcard (so fnmatch's [] and ? never apply).
_LICENSE_PATTERN = re.compile(r"^[a-z0-9*][a-z0-9.+*-]*$")


# --- the tree ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NsfwPolicy:
    """NSFW screening: a score above the threshold blocks the run."""

    enabled: bool = True
    threshold_inputs: float = 0.8
    threshold_outputs: float = 0.8
    check_sources: bool = True
    check_targets: bool = True
    check_outputs: bool = True


@dataclass(frozen=True)
class ConsentPolicy:
    """Face consent: whose faces may be used, and whether the output is checked to be the source."""

    required: bool = True
    unknown_target_faces: UnknownFaces = "block"
    verify_output_identity: bool = True
    max_distance: float | None = None  # None: the face backend's own match threshold
    min_face_size: int = 64
    #: With ``unknown_target_faces: anonymise``: how bystanders' faces are made unrecognisable, and
    #: by how much their embedding distance to the original must exceed the match threshold.
    anonymise_method: AnonymiseMethod = "pixelate"
    anonymise_margin: float = 0.2


@dataclass(frozen=True)
class LicensePolicy:
    """Model licenses, as normalised IDs or '*' patterns (``cc-by-nc-*``); sorted, no duplicates."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ("cc-by-nc-*",)
    unknown: BlockOrAllow = "block"


@dataclass(frozen=True)
class WatermarkPolicy:
    required: bool = True
    allow_unwatermarked_outputs: bool = False
    min_size: int = _WATERMARK_MIN_SIZE


@dataclass(frozen=True)
class MetadataPolicy:
    strip: bool = True
    signed_manifest: bool = False


@dataclass(frozen=True)
class MediaPolicy:
    max_pixels: int = 40_000_000
    allowed_formats: tuple[ImageFormat, ...] = ("jpeg", "png", "webp")
    output_format: ImageFormat = "png"


@dataclass(frozen=True)
class PrivacyPolicy:
    store_prompts: PromptStorage = "hash"


@dataclass(frozen=True)
class AuditPolicy:
    record_blocked: bool = True


# --- video (fusionguard.video) ----------------------------------------------------------------------

VideoContainer = Literal["mp4", "mov", "mkv", "webm", "gif", "webp", "apng"]
VideoCodec = Literal["h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "gif", "apng", "webp"]
OutputVideoCodec = Literal["h264", "hevc", "vp9"]
NsfwBlockRule = Literal["any", "fraction"]
_VIDEO_CONTAINERS: tuple[VideoContainer, ...] = ("mp4", "mov", "mkv", "webm", "gif", "webp", "apng")
_VIDEO_CODECS: tuple[VideoCodec, ...] = ("h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "gif", "apng", "webp")
_OUTPUT_VIDEO_CODECS: tuple[OutputVideoCodec, ...] = ("h264", "hevc", "vp9")
_X26X_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
)


@dataclass(frozen=True)
class VideoPolicy:
    """Video targets and outputs: what is accepted, how densely it is checked, how it is encoded."""

    sample_fps: float = 1.0
    scene_cut_threshold: float = 0.15
    nsfw_block: NsfwBlockRule = "any"
    nsfw_max_fraction: float = 0.1
    max_duration_s: float = 600.0
    max_frames: int = 36_000
    max_frame_pixels: int = 8_294_400
    max_total_pixels: int = 40_000_000_000
    allowed_containers: tuple[VideoContainer, ...] = ("apng", "gif", "mkv", "mov", "mp4", "webm", "webp")
    allowed_codecs: tuple[VideoCodec, ...] = (
        "apng",
        "av1",
        "gif",
        "h264",
        "hevc",
        "mpeg4",
        "vp8",
        "vp9",
        "webp",
    )
    codec: OutputVideoCodec = "h264"
    crf: int = 18
    preset: str = "veryfast"


# --- live streams (fusionguard.stream) ---


StreamOnBlock = Literal["black", "raise"]


@dataclass(frozen=True)
class StreamPolicy:
    """Live streams (:meth:`fusionguard.guard.Guard.stream`): check rates, record cadence, blocking.

    ``face_fps``: face detections per second on a background thread (a new face track is checked
    for target consent when it appears). ``nsfw_fps``: released frames scored per second.
    ``max_check_age``: seconds; a frame is withheld (black) when the newest finished face check is
    older than this (the checker fell behind or failed). ``interim_seconds``: a signed interim
    record at least this often, so a crash loses at most that much accountability.
    ``on_block``: what frames become once a check fails, black frames or an exception.
    """

    face_fps: float = 4.0
    nsfw_fps: float = 1.0
    max_check_age: float = 1.0
    interim_seconds: int = 10
    on_block: StreamOnBlock = "black"


# --- provenance written into outputs (fusionguard.provenance) ---


C2paMode = Literal["off", "embed", "sidecar"]


@dataclass(frozen=True)
class ProvenancePolicy:
    """C2PA Content Credentials on released outputs: ``off`` (no metadata), ``embed`` (a signed
    manifest inside the image) or ``sidecar`` (``<output>.c2pa`` beside it). The signing chain and
    key are the operator's, in ``<home>/c2pa/`` (not in the policy, which is hashed into records)."""

    c2pa: C2paMode = "off"


_SECTIONS: dict[str, type[Any]] = {
    "nsfw": NsfwPolicy,
    "consent": ConsentPolicy,
    "license": LicensePolicy,
    "watermark": WatermarkPolicy,
    "metadata": MetadataPolicy,
    "media": MediaPolicy,
    "privacy": PrivacyPolicy,
    "audit": AuditPolicy,
    "video": VideoPolicy,
    "stream": StreamPolicy,
    "provenance": ProvenancePolicy,
}
#: Sections added after schema version 1 was published: they enter :meth:`Policy.to_dict` (and so the
#: hash stored in audit records) only when they differ from their defaults, so the hashes of existing
#: policies do not change.
_ADDITIVE_SECTIONS = ("video", "stream", "provenance")


@dataclass(frozen=True)
class Policy:
    """A validated policy. Build it with :meth:`load`, :meth:`from_mapping`, :meth:`named` or
    :meth:`default`; direct construction and ``dataclasses.replace`` are validated too."""

    name: str
    version: int = SCHEMA_VERSION
    nsfw: NsfwPolicy = field(default_factory=NsfwPolicy)
    consent: ConsentPolicy = field(default_factory=ConsentPolicy)
    license: LicensePolicy = field(default_factory=LicensePolicy)
    watermark: WatermarkPolicy = field(default_factory=WatermarkPolicy)
    metadata: MetadataPolicy = field(default_factory=MetadataPolicy)
    media: MediaPolicy = field(default_factory=MediaPolicy)
    privacy: PrivacyPolicy = field(default_factory=PrivacyPolicy)
    audit: AuditPolicy = field(default_factory=AuditPolicy)
    video: VideoPolicy = field(default_factory=VideoPolicy)
    stream: StreamPolicy = field(default_factory=StreamPolicy)
    provenance: ProvenancePolicy = field(default_factory=ProvenancePolicy)
    #: Where the policy came from, for messages; not part of its meaning, so not compared or hashed.
    source: str = field(default="<mapping>", compare=False, repr=False)

    def __post_init__(self) -> None:
        # Re-validate what was built, so a hand-made or replace()d policy obeys the same rules as a
        # loaded one; a policy that is valid but not normalised (unsorted lists) is refused too,
        # since its hash would differ from the same policy loaded from a file.
        for name, kind in _SECTIONS.items():
            if not isinstance(getattr(self, name), kind):
                raise PolicyError(
                    f"{self.source}: {name}: found {_describe(getattr(self, name))}, "
                    f"expected a {kind.__name__}"
                )
        resolved = _parse(self.to_dict(), self.source)
        for name, value in resolved.items():
            if getattr(self, name) != value:
                raise PolicyError(
                    f"{self.source}: {name}: not in normal form (found {getattr(self, name)!r}, "
                    f"expected {value!r}); build policies with Policy.from_mapping"
                )

    # --- constructors ---

    @classmethod
    def from_mapping(cls, data: Any, source: str = "<mapping>") -> Policy:
        """Validate ``data`` (as parsed from YAML or JSON) and build the policy."""
        return cls(**_parse(data, source), source=source)

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """Read and validate a policy file."""
        file = Path(path)
        source = str(file)
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PolicyError(f"{source}: policy file not found") from None
        except UnicodeDecodeError:
            raise PolicyError(f"{source}: policy file is not UTF-8 text") from None
        except OSError as error:
            raise PolicyError(f"{source}: cannot read policy file: {error.strerror}") from None
        return cls.from_mapping(_load_yaml(text, source), source=source)

    @classmethod
    def named(cls, name: str) -> Policy:
        """A policy shipped with fusionguard, by name: ``default``, ``strict``, ``research``."""
        available = shipped_policies()
        if not _SHIPPED_NAME.match(name) or name not in available:
            raise PolicyError(f"no shipped policy named {name!r} (expected one of: {', '.join(available)})")
        return _load_shipped(name)

    @classmethod
    def resolve(cls, policy: str | os.PathLike[str] | Policy) -> Policy:
        """The one way a policy argument is read: a :class:`Policy` as is; a shipped policy's name
        (``default``, ``strict``, ``research``); anything else (a ``.yaml`` file, a path) is a file."""
        if isinstance(policy, Policy):
            return policy
        text = os.fspath(policy)
        if isinstance(text, str) and _SHIPPED_NAME.match(text) and not text.endswith((".yaml", ".yml")):
            return cls.named(text)
        return cls.load(Path(text))

    @classmethod
    def default(cls) -> Policy:
        """The shipped ``default`` policy."""
        return cls.named("default")

    # --- views ---

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved policy as plain JSON-able data (tuples become lists)."""
        result: dict[str, Any] = {"name": self.name, "version": self.version}
        for section, kind in _SECTIONS.items():
            value = getattr(self, section)
            if section in _ADDITIVE_SECTIONS and value == kind():
                continue
            result[section] = {
                f.name: list(item) if isinstance(item := getattr(value, f.name), tuple) else item
                for f in fields(value)
            }
        return result

    @functools.cached_property
    def sha256(self) -> str:
        """SHA-256 (hex) of the canonical JSON of :meth:`to_dict`."""
        return hashlib.sha256(canonical_json(self.to_dict())).hexdigest()

    def ref(self) -> PolicyRef:
        """What an audit record stores about the policy a run was checked against."""
        return PolicyRef(self.name, self.sha256)


# --- shipped policies -------------------------------------------------------------------------------


def _shipped_dir() -> Path:
    return Path(fusionguard._policies.__file__).parent


def shipped_policies() -> tuple[str, ...]:
    """Names of the policies shipped with fusionguard, sorted."""
    return tuple(sorted(p.stem for p in _shipped_dir().glob("*.yaml")))


@functools.cache
def _load_shipped(name: str) -> Policy:
    # Policies are immutable and shipped files do not change under a running process: load once.
    return Policy.load(_shipped_dir() / f"{name}.yaml")


# --- YAML -------------------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate and non-string keys.

    PyYAML lets a repeated key silently replace the first (a second ``nsfw:`` section would quietly
    win), and YAML 1.1 reads unquoted ``yes:``/``on:`` keys as booleans.
    """


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[str, Any]:
    loader.flatten_mapping(node)
    mapping: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is not a string (quote it)", key_node.start_mark
            )
        if key in mapping:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: safe
    except RecursionError:
        raise PolicyError(
            f"{source}: invalid YAML: nested too deeply (a policy is at most a few levels deep)"
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise PolicyError(f"{source}: invalid YAML{where}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise PolicyError(f"{source}: invalid YAML: {error}") from None


# --- validation -------------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    """How a found value is shown in a message: the value and its YAML type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int | float):
        return f"{value!r} (a number)"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"{shown!r} (a string)"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return f"a {type(value).__name__}"


class _Reader:
    """Reads one mapping of the policy; every error names the file and the key's dotted path."""

    def __init__(self, data: Any, path: str, source: str, known: tuple[str, ...]) -> None:
        self.path, self.source = path, source
        if data is None:  # an empty section ("nsfw:" with everything commented out): all defaults
            data = {}
        if not isinstance(data, Mapping):
            self.fail_at(path or "policy", data, "a mapping")
        for key in data:
            if not isinstance(key, str):
                raise PolicyError(f"{source}: {self.at(str(key))}: key {key!r} is not a string")
            if key not in known:
                hint = difflib.get_close_matches(key, known, n=1)
                guess = f"did you mean {hint[0]!r}? " if hint else ""
                raise PolicyError(
                    f"{source}: {self.at(key)}: unknown key {key!r} "
                    f"({guess}expected one of: {', '.join(known)})"
                )
        self.data: Mapping[str, Any] = data

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail_at(self, where: str, value: Any, expected: str) -> NoReturn:
        raise PolicyError(f"{self.source}: {where}: found {_describe(value)}, expected {expected}")

    def fail(self, key: str, value: Any, expected: str) -> NoReturn:
        self.fail_at(self.at(key), value, expected)

    def get(self, key: str, default: Any) -> Any:
        return self.data.get(key, default)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, value, "true or false")
        return value

    def integer(self, key: str, default: int, low: int, high: int, unit: str) -> int:
        value = self.get(key, default)
        # bool is an int in Python; "true" is never a meaningful pixel count.
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, value, f"a whole number of {unit} from {low} to {high}")
        return value

    def number(
        self, key: str, value: Any, low: float, high: float | None, expected: str, *, open_low: bool = False
    ) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        ok = ok and (low < value if open_low else low <= value) and (high is None or value <= high)
        if not ok:
            self.fail(key, value, expected)
        return float(value)

    def probability(self, key: str, default: float) -> float:
        return self.number(key, self.get(key, default), 0.0, 1.0, "a probability from 0 to 1")

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.get(key, default)
        if not isinstance(value, str) or value not in choices:
            self.fail(key, value, " or ".join(repr(c) for c in choices))
        return value

    def strings(self, key: str, default: tuple[str, ...]) -> list[tuple[str, str]]:
        """A list of strings, each with its dotted path for later messages."""
        value = self.get(key, list(default))
        if value is None:
            value = []
        if not isinstance(value, list | tuple):
            self.fail(key, value, "a list of strings")
        items = []
        for index, item in enumerate(value):
            where = f"{self.at(key)}[{index}]"
            if not isinstance(item, str):
                self.fail_at(where, item, "a string")
            items.append((where, item))
        return items


def _known(section: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(section))


def _image_format(reader: _Reader, where: str, value: str) -> ImageFormat:
    name = _FORMAT_ALIASES.get(value.strip().lower(), value.strip().lower())
    if name not in _IMAGE_FORMATS:
        reader.fail_at(where, value, " or ".join(repr(f) for f in _IMAGE_FORMATS))
    return name


def _license_list(reader: _Reader, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    result = set()
    for where, item in reader.strings(key, default):
        entry = normalise_license(item)
        if entry in UNKNOWN_LICENSES:
            # One way to say it: unknown licenses are governed by license.unknown, not the lists.
            reader.fail_at(where, item, "a license ID (unknown licenses are set by license.unknown)")
        if not _LICENSE_PATTERN.match(entry):
            reader.fail_at(where, item, "a license ID such as 'apache-2.0', or a '*' pattern")
        result.add(entry)
    return tuple(sorted(result))


def _parse(data: Any, source: str) -> dict[str, Any]:
    """Validate a whole policy; returns the keyword arguments of :class:`Policy` (without source)."""
    if data is None:
        raise PolicyError(f"{source}: empty policy (expected a mapping with 'name' and 'version')")
    top = _Reader(data, "", source, ("name", "version", *_SECTIONS))
    for key in ("name", "version"):
        if key not in top.data:
            raise PolicyError(f"{source}: {key}: required key is missing")
    name = top.get("name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        top.fail("name", name, "a name of letters, digits, '.', '_' or '-' (up to 64 characters)")
    version = top.get("version", None)
    if isinstance(version, bool) or not isinstance(version, int):
        top.fail("version", version, f"the schema version, {SCHEMA_VERSION}")
    if version != SCHEMA_VERSION:
        raise PolicyError(
            f"{source}: version: unsupported policy schema version {version} "
            f"(this fusionguard reads version {SCHEMA_VERSION})"
        )

    def section(key: str) -> _Reader:
        return _Reader(top.get(key, None), key, source, _known(_SECTIONS[key]))

    d = NsfwPolicy()
    r = section("nsfw")
    nsfw = NsfwPolicy(
        enabled=r.boolean("enabled", d.enabled),
        threshold_inputs=r.probability("threshold_inputs", d.threshold_inputs),
        threshold_outputs=r.probability("threshold_outputs", d.threshold_outputs),
        check_sources=r.boolean("check_sources", d.check_sources),
        check_targets=r.boolean("check_targets", d.check_targets),
        check_outputs=r.boolean("check_outputs", d.check_outputs),
    )

    c = ConsentPolicy()
    r = section("consent")
    max_distance = r.get("max_distance", c.max_distance)
    if max_distance is not None:
        max_distance = r.number(
            "max_distance", max_distance, 0.0, None, "null or a positive distance", open_low=True
        )
    consent = ConsentPolicy(
        required=r.boolean("required", c.required),
        unknown_target_faces=cast(
            UnknownFaces,
            r.choice("unknown_target_faces", c.unknown_target_faces, ("block", "allow", "anonymise")),
        ),
        verify_output_identity=r.boolean("verify_output_identity", c.verify_output_identity),
        max_distance=max_distance,
        min_face_size=r.integer("min_face_size", c.min_face_size, 1, 4096, "pixels"),
        anonymise_method=cast(
            AnonymiseMethod,
            r.choice("anonymise_method", c.anonymise_method, ("blur", "pixelate", "synthetic")),
        ),
        anonymise_margin=r.number(
            "anonymise_margin",
            r.get("anonymise_margin", c.anonymise_margin),
            0.0,
            10.0,
            "a distance margin (0..10)",
        ),
    )

    lp = LicensePolicy()
    r = section("license")
    allow, deny = _license_list(r, "allow", lp.allow), _license_list(r, "deny", lp.deny)
    if both := sorted(set(allow) & set(deny)):
        raise PolicyError(
            f"{source}: license: {', '.join(repr(b) for b in both)} is on both the allow and the "
            f"deny list (expected each license on one list at most)"
        )
    license_ = LicensePolicy(
        allow=allow,
        deny=deny,
        unknown=cast(BlockOrAllow, r.choice("unknown", lp.unknown, ("block", "allow"))),
    )

    w = WatermarkPolicy()
    r = section("watermark")
    required = r.boolean("required", w.required)
    opt_out = r.boolean("allow_unwatermarked_outputs", w.allow_unwatermarked_outputs)
    # Skipping the watermark must be said twice, so that it never happens by a stray "false".
    if not required and not opt_out:
        raise PolicyError(
            f"{source}: watermark.required: found false without "
            f"watermark.allow_unwatermarked_outputs: true (expected both, to release unwatermarked "
            f"outputs on purpose, or required: true)"
        )
    if required and opt_out:
        raise PolicyError(
            f"{source}: watermark.allow_unwatermarked_outputs: found true while watermark.required "
            f"is true (expected it only together with required: false)"
        )
    watermark = WatermarkPolicy(
        required=required,
        allow_unwatermarked_outputs=opt_out,
        min_size=r.integer("min_size", w.min_size, _WATERMARK_MIN_SIZE, 65536, "pixels"),
    )

    m = MetadataPolicy()
    r = section("metadata")
    metadata = MetadataPolicy(
        strip=r.boolean("strip", m.strip),
        signed_manifest=r.boolean("signed_manifest", m.signed_manifest),
    )

    me = MediaPolicy()
    r = section("media")
    formats = {_image_format(r, where, f) for where, f in r.strings("allowed_formats", me.allowed_formats)}
    if not formats:
        r.fail("allowed_formats", [], "at least one of 'jpeg', 'png', 'webp'")
    output_format = r.get("output_format", me.output_format)
    if not isinstance(output_format, str):
        r.fail("output_format", output_format, "'jpeg', 'png' or 'webp'")
    media = MediaPolicy(
        max_pixels=r.integer("max_pixels", me.max_pixels, 1, _MAX_PIXELS_CEILING, "pixels"),
        allowed_formats=tuple(sorted(formats)),
        output_format=_image_format(r, r.at("output_format"), output_format),
    )
    # allowed_formats governs what is released too: the default output format must be one of them.
    if media.output_format not in media.allowed_formats:
        r.fail(
            "output_format",
            output_format,
            f"one of media.allowed_formats ({', '.join(media.allowed_formats)})",
        )

    r = section("privacy")
    privacy = PrivacyPolicy(
        store_prompts=cast(
            PromptStorage,
            r.choice("store_prompts", PrivacyPolicy().store_prompts, ("hash", "plain", "none")),
        )
    )

    r = section("audit")
    if not r.boolean("record_blocked", True):
        raise PolicyError(
            f"{source}: audit.record_blocked: found false, but blocked runs are always recorded "
            f"(expected true, or leave the key out)"
        )
    audit = AuditPolicy(record_blocked=True)
    video = _parse_video(section("video"))

    st = StreamPolicy()
    r = section("stream")
    stream = StreamPolicy(
        face_fps=r.number(
            "face_fps",
            r.get("face_fps", st.face_fps),
            0.0,
            60.0,
            "a rate from 0 to 60 per second",
            open_low=True,
        ),
        nsfw_fps=r.number(
            "nsfw_fps",
            r.get("nsfw_fps", st.nsfw_fps),
            0.0,
            60.0,
            "a rate from 0 to 60 per second",
            open_low=True,
        ),
        max_check_age=r.number(
            "max_check_age",
            r.get("max_check_age", st.max_check_age),
            0.0,
            60.0,
            "seconds, from 0 to 60",
            open_low=True,
        ),
        interim_seconds=r.integer("interim_seconds", st.interim_seconds, 1, 3600, "seconds"),
        on_block=cast(StreamOnBlock, r.choice("on_block", st.on_block, ("black", "raise"))),
    )
    if stream.max_check_age * stream.face_fps < 1.0:
        raise PolicyError(
            f"{source}: stream.max_check_age: found {stream.max_check_age} s with face_fps "
            f"{stream.face_fps}, so no frame could ever pass (expected at least 1 / face_fps seconds)"
        )

    return {
        "name": name,
        "version": version,
        "nsfw": nsfw,
        "consent": consent,
        "license": license_,
        "watermark": watermark,
        "metadata": metadata,
        "media": media,
        "privacy": privacy,
        "audit": audit,
        "video": video,
        "stream": stream,
        "provenance": ProvenancePolicy(
            c2pa=cast(C2paMode, section("provenance").choice("c2pa", "off", ("off", "embed", "sidecar")))
        ),
    }


def _choices(
    reader: _Reader, key: str, default: tuple[str, ...], allowed: tuple[str, ...]
) -> tuple[str, ...]:
    found = set()
    for where, item in reader.strings(key, default):
        if item.strip().lower() not in allowed:
            reader.fail_at(where, item, " or ".join(repr(a) for a in allowed))
        found.add(item.strip().lower())
    if not found:
        reader.fail(key, [], f"at least one of {', '.join(repr(a) for a in allowed)}")
    return tuple(sorted(found))


def _parse_video(r: _Reader) -> VideoPolicy:
    v = VideoPolicy()
    sample_fps = r.number(
        "sample_fps",
        r.get("sample_fps", v.sample_fps),
        0.0,
        60.0,
        "frames per second above 0, up to 60",
        open_low=True,
    )
    max_duration = r.number(
        "max_duration_s",
        r.get("max_duration_s", v.max_duration_s),
        0.0,
        86_400.0,
        "seconds above 0, up to 86400",
        open_low=True,
    )
    codec = r.choice("codec", v.codec, _OUTPUT_VIDEO_CODECS)
    preset = r.choice("preset", v.preset, _X26X_PRESETS)
    return VideoPolicy(
        sample_fps=sample_fps,
        scene_cut_threshold=r.probability("scene_cut_threshold", v.scene_cut_threshold),
        nsfw_block=cast(NsfwBlockRule, r.choice("nsfw_block", v.nsfw_block, ("any", "fraction"))),
        nsfw_max_fraction=r.probability("nsfw_max_fraction", v.nsfw_max_fraction),
        max_duration_s=max_duration,
        max_frames=r.integer("max_frames", v.max_frames, 1, 10_000_000, "frames"),
        max_frame_pixels=r.integer("max_frame_pixels", v.max_frame_pixels, 1, 200_000_000, "pixels"),
        max_total_pixels=r.integer("max_total_pixels", v.max_total_pixels, 1, 10_000_000_000_000, "pixels"),
        allowed_containers=cast(
            tuple[VideoContainer, ...],
            _choices(r, "allowed_containers", v.allowed_containers, _VIDEO_CONTAINERS),
        ),
        allowed_codecs=cast(
            tuple[VideoCodec, ...], _choices(r, "allowed_codecs", v.allowed_codecs, _VIDEO_CODECS)
        ),
        codec=cast(OutputVideoCodec, codec),
        crf=r.integer("crf", v.crf, 0, 51, "CRF steps (0 is lossless, 51 the worst)"),
        preset=preset,
    )
