"""The policy model: shipped files, validation messages, hashing and normal form."""

from __future__ import annotations

import dataclasses
import importlib.resources
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from fusionguard.audit.record import PolicyRef
from fusionguard.errors import ConfigError, PolicyError
from fusionguard.policy import (
    LicensePolicy,
    NsfwPolicy,
    Policy,
    WatermarkPolicy,
    shipped_policies,
)

# The shipped YAML files, found the way an installed fusionguard finds them (package data).
SHIPPED_DIR = Path(str(importlib.resources.files("fusionguard._policies")))


def minimal(**sections: Any) -> dict[str, Any]:
    return {"name": "test", "version": 1, **sections}


def write(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- shipped policies -------------------------------------------------------------------------------


def test_the_three_shipped_policies_are_found() -> None:
    assert shipped_policies() == ("default", "research", "strict")


@pytest.mark.parametrize("name", ["default", "strict", "research"])
def test_shipped_policy_loads_and_is_named_after_its_file(name: str) -> None:
    policy = Policy.named(name)
    assert policy.name == name
    assert policy.version == 1
    assert policy.audit.record_blocked is True
    assert policy.watermark.required is True
    assert policy.consent.required is True
    assert policy.license.unknown == "block"
    # Loading the file directly gives the same policy as loading it by name.
    assert Policy.load(SHIPPED_DIR / f"{name}.yaml") == policy
    assert re.fullmatch(r"[0-9a-f]{64}", policy.sha256)


@pytest.mark.parametrize("name", ["default", "strict", "research"])
def test_every_key_of_a_shipped_policy_is_documented_with_a_comment(name: str) -> None:
    text = (SHIPPED_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    assert text.startswith("#"), "each shipped policy opens with a comment saying what it is for"
    if name == "default":
        # default.yaml is the reference: every key carries a comment on its line.
        for line in text.splitlines():
            stripped = line.strip()
            if stripped and not stripped.startswith(("#", "-")) and not stripped.endswith(":"):
                assert "#" in line, f"undocumented line in default.yaml: {line!r}"


def test_default_yaml_spells_out_the_built_in_defaults() -> None:
    # A policy that only names itself resolves to exactly what default.yaml says.
    assert Policy.from_mapping({"name": "default", "version": 1}) == Policy.default()
    assert Policy.from_mapping({"name": "default", "version": 1}).sha256 == Policy.default().sha256


def test_shipped_policies_differ_where_documented() -> None:
    default, strict, research = Policy.default(), Policy.named("strict"), Policy.named("research")
    assert strict.nsfw.threshold_inputs == strict.nsfw.threshold_outputs == 0.4
    assert default.nsfw.threshold_inputs == default.nsfw.threshold_outputs == 0.8
    assert strict.consent.unknown_target_faces == "block"
    assert "apache-2.0" in strict.license.allow and "mit" in strict.license.allow
    assert not any(entry.startswith("cc-by-nc") for entry in strict.license.allow)
    assert default.license.allow == () and default.license.deny == ("cc-by-nc-*",)
    assert research.license.deny == ()
    assert len({default.sha256, strict.sha256, research.sha256}) == 3


def test_named_refuses_unknown_and_path_like_names() -> None:
    with pytest.raises(PolicyError, match=r"no shipped policy named 'lenient'.*default, research"):
        Policy.named("lenient")
    with pytest.raises(PolicyError, match="no shipped policy named"):
        Policy.named("../policies/default")


def test_policy_watermark_minimum_matches_the_codec() -> None:
    from fusionguard.watermark import MIN_SIZE

    assert WatermarkPolicy().min_size == MIN_SIZE
    with pytest.raises(PolicyError, match=r"watermark\.min_size: found 128"):
        Policy.from_mapping(minimal(watermark={"min_size": 128}))


# --- unknown keys -----------------------------------------------------------------------------------


def test_unknown_key_names_key_path_and_file(tmp_path: Path) -> None:
    path = write(tmp_path, "name: mine\nversion: 1\nnsfw:\n  treshold: 0.5\n")
    with pytest.raises(PolicyError) as info:
        Policy.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: nsfw.treshold: unknown key 'treshold'")
    assert "did you mean 'threshold_inputs'" in message
    assert "\n" not in message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, "name: mine\nversion: 1\nwatermarks:\n  required: true\n")
    with pytest.raises(PolicyError, match=r"mine\.yaml: watermarks: unknown key 'watermarks'"):
        Policy.load(path)


def test_policy_error_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        Policy.from_mapping(minimal(bogus=1))


def test_from_mapping_names_its_source() -> None:
    with pytest.raises(PolicyError, match=r"^overrides: privacy\.store: unknown key"):
        Policy.from_mapping(minimal(privacy={"store": "hash"}), source="overrides")


# --- types and ranges -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        ({"nsfw": {"enabled": "yes"}}, r"nsfw\.enabled: found 'yes' \(a string\), expected true or"),
        ({"nsfw": {"threshold_inputs": 1.5}}, r"threshold_inputs: found 1\.5 .*probability from 0"),
        ({"nsfw": {"threshold_outputs": -0.1}}, r"threshold_outputs: found -0\.1"),
        ({"nsfw": {"threshold_outputs": True}}, r"threshold_outputs: found true \(a boolean\)"),
        ({"nsfw": {"threshold_outputs": float("nan")}}, r"threshold_outputs: found nan"),
        ({"nsfw": ["enabled"]}, r"nsfw: found a list, expected a mapping"),
        ({"consent": {"unknown_target_faces": "warn"}}, r"found 'warn'.*'block' or 'allow'"),
        ({"consent": {"max_distance": 0}}, r"max_distance: found 0 .*positive distance"),
        ({"consent": {"max_distance": "0.6"}}, r"max_distance: found '0\.6' \(a string\)"),
        ({"consent": {"min_face_size": 0}}, r"min_face_size: found 0 .*from 1 to"),
        ({"consent": {"min_face_size": 64.5}}, r"min_face_size: found 64\.5"),
        ({"license": {"allow": "mit"}}, r"license\.allow: found 'mit' \(a string\), expected a list"),
        ({"license": {"deny": ["mit", 3]}}, r"license\.deny\[1\]: found 3 \(a number\)"),
        ({"license": {"allow": ["unknown"]}}, r"license\.allow\[0\].*set by license\.unknown"),
        ({"license": {"deny": ["other"]}}, r"license\.deny\[0\]: found 'other'"),
        ({"license": {"allow": ["mit?"]}}, r"license\.allow\[0\].*'\*' pattern"),
        ({"license": {"unknown": "warn"}}, r"license\.unknown: found 'warn'"),
        ({"license": {"allow": ["mit"], "deny": ["MIT"]}}, r"'mit' is on both the allow and"),
        ({"media": {"max_pixels": True}}, r"media\.max_pixels: found true"),
        ({"media": {"max_pixels": -1}}, r"media\.max_pixels: found -1"),
        ({"media": {"allowed_formats": ["png", "gif"]}}, r"allowed_formats\[1\]: found 'gif'"),
        ({"media": {"allowed_formats": []}}, r"allowed_formats: found a list, expected at least"),
        ({"media": {"output_format": "tiff"}}, r"output_format: found 'tiff'"),
        ({"privacy": {"store_prompts": True}}, r"store_prompts: found true \(a boolean\)"),
        ({"metadata": {"strip": 1}}, r"metadata\.strip: found 1 \(a number\), expected true"),
    ],
)
def test_wrong_types_and_ranges_are_refused(sections: dict[str, Any], expected: str) -> None:
    with pytest.raises(PolicyError, match=expected) as info:
        Policy.from_mapping(minimal(**sections), source="p.yaml")
    assert str(info.value).startswith("p.yaml: ")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (None, r"empty policy"),
        (["name"], r"policy: found a list, expected a mapping"),
        ({"version": 1}, r"name: required key is missing"),
        ({"name": "x"}, r"version: required key is missing"),
        ({"name": "x", "version": 2}, r"unsupported policy schema version 2"),
        ({"name": "x", "version": "1"}, r"version: found '1' \(a string\)"),
        ({"name": "", "version": 1}, r"name: found '' \(a string\)"),
        ({"name": "a b", "version": 1}, r"name: found 'a b'"),
    ],
)
def test_top_level_is_validated(data: Any, expected: str) -> None:
    with pytest.raises(PolicyError, match=expected):
        Policy.from_mapping(data)


def test_empty_section_takes_the_defaults(tmp_path: Path) -> None:
    # "nsfw:" with every key commented out is YAML null; it means "all defaults", not an error.
    policy = Policy.load(write(tmp_path, "name: mine\nversion: 1\nnsfw:\n  # enabled: false\n"))
    assert policy.nsfw == NsfwPolicy()


# --- YAML-level problems ----------------------------------------------------------------------------


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    text = "name: mine\nversion: 1\nnsfw:\n  enabled: true\nnsfw:\n  enabled: false\n"
    with pytest.raises(PolicyError, match=r"mine\.yaml: invalid YAML at line 5.*duplicate key 'nsfw'"):
        Policy.load(write(tmp_path, text))


def test_yaml_boolean_key_is_refused(tmp_path: Path) -> None:
    # YAML 1.1 reads an unquoted "yes:" key as the boolean true.
    with pytest.raises(PolicyError, match=r"key True is not a string"):
        Policy.load(write(tmp_path, "name: mine\nversion: 1\nyes: 1\n"))


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"mine\.yaml: invalid YAML at line 3, column 7: mapping"):
        Policy.load(write(tmp_path, "name: mine\nversion: 1\n  nsfw: {}\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"nope\.yaml: policy file not found"):
        Policy.load(tmp_path / "nope.yaml")


# --- explicit opt-outs ------------------------------------------------------------------------------


def test_watermark_cannot_be_switched_off_by_a_lone_false() -> None:
    with pytest.raises(PolicyError, match=r"watermark\.required: found false without"):
        Policy.from_mapping(minimal(watermark={"required": False}))


def test_watermark_opt_out_must_be_said_twice() -> None:
    policy = Policy.from_mapping(minimal(watermark={"required": False, "allow_unwatermarked_outputs": True}))
    assert policy.watermark.required is False
    assert policy.watermark.allow_unwatermarked_outputs is True


def test_watermark_opt_out_without_turning_it_off_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"allow_unwatermarked_outputs: found true while"):
        Policy.from_mapping(minimal(watermark={"allow_unwatermarked_outputs": True}))


def test_record_blocked_false_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"audit\.record_blocked: .*blocked runs are always recorded"):
        Policy.from_mapping(minimal(audit={"record_blocked": False}))


# --- hashing and normal form ------------------------------------------------------------------------


def test_hash_ignores_key_order_whitespace_comments_and_spelled_out_defaults(tmp_path: Path) -> None:
    a = write(tmp_path, "name: h\nversion: 1\nnsfw:\n  threshold_inputs: 0.5\n", "a.yaml")
    b = write(
        tmp_path,
        "# the same policy, written differently\n"
        "nsfw: {threshold_inputs: 0.50, enabled: true}\n\n\n"
        "version: 1\n"
        "name:   h\n"
        "license:\n  deny: [CC BY-NC *]\n",
        "b.yaml",
    )
    assert Policy.load(a).sha256 == Policy.load(b).sha256
    assert Policy.load(a) == Policy.load(b)


def test_hash_ignores_list_order_and_spelling() -> None:
    one = Policy.from_mapping(minimal(license={"allow": ["mit", "Apache 2.0", "mit"]}))
    two = Policy.from_mapping(minimal(license={"allow": ["apache-2.0", "MIT"]}))
    assert one.license.allow == ("apache-2.0", "mit")
    assert one.sha256 == two.sha256


@pytest.mark.parametrize(
    "change",
    [
        {"nsfw": {"threshold_inputs": 0.79}},
        {"consent": {"unknown_target_faces": "allow"}},
        {"license": {"deny": []}},
        {"media": {"output_format": "webp"}},
        {"privacy": {"store_prompts": "none"}},
        {"name": "other-name"},
    ],
)
def test_hash_changes_when_a_value_changes(change: dict[str, Any]) -> None:
    assert Policy.from_mapping({**minimal(), **change}).sha256 != Policy.from_mapping(minimal()).sha256


def test_hash_is_pinned() -> None:
    # Audit records store this hash, so it must not drift between releases: a pinned value catches
    # accidental changes to canonicalisation or to the resolved shape. If the policy schema changes
    # on purpose, bump the schema version and update the value.
    assert Policy.from_mapping(minimal()).sha256 == (
        "c15b2e1aad335cfc6f43854fbc7bc8b6a3e45d6908ed2cfbeb4902bdc42d40d2"
    )


def test_ref_is_an_audit_policy_ref() -> None:
    policy = Policy.named("strict")
    assert policy.ref() == PolicyRef("strict", policy.sha256)


def test_to_dict_round_trips_and_is_plain_yaml() -> None:
    for name in shipped_policies():
        policy = Policy.named(name)
        data = policy.to_dict()
        assert Policy.from_mapping(data) == policy
        # Plain data (lists, not tuples): it dumps as safe YAML and loads back to the same policy.
        assert Policy.from_mapping(yaml.safe_load(yaml.safe_dump(data))).sha256 == policy.sha256


def test_policy_is_frozen() -> None:
    policy = Policy.default()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.name = "changed"  # type: ignore[misc]


def test_replace_is_validated() -> None:
    policy = Policy.default()
    tuned = dataclasses.replace(policy, nsfw=dataclasses.replace(policy.nsfw, threshold_inputs=0.5))
    assert tuned.nsfw.threshold_inputs == 0.5 and tuned.sha256 != policy.sha256
    with pytest.raises(PolicyError, match=r"nsfw\.threshold_inputs: found 5"):
        dataclasses.replace(policy, nsfw=NsfwPolicy(threshold_inputs=5))
    with pytest.raises(PolicyError, match=r"watermark\.required: found false"):
        dataclasses.replace(policy, watermark=WatermarkPolicy(required=False))


def test_hand_built_policy_must_be_in_normal_form() -> None:
    # Unsorted lists would hash differently from the same policy loaded from a file.
    with pytest.raises(PolicyError, match=r"license: not in normal form"):
        Policy(name="x", license=LicensePolicy(allow=("mit", "apache-2.0")))
    assert Policy(name="x", license=LicensePolicy(allow=("apache-2.0", "mit"))).license.allow == (
        "apache-2.0",
        "mit",
    )


# --- video ------------------------------------------------------------------------------------------


def test_video_section_defaults_and_validation() -> None:
    video = Policy.default().video
    assert video.sample_fps == 1.0 and video.codec == "h264" and video.nsfw_block == "any"
    assert Policy.named("strict").video.sample_fps == 2.0
    tuned = Policy.from_mapping(minimal(video={"codec": "vp9", "allowed_containers": ["WebM", "mp4"]}))
    assert tuned.video.codec == "vp9" and tuned.video.allowed_containers == ("mp4", "webm")
    with pytest.raises(PolicyError, match=r"video\.sample_fps: found 0 \(a number\)"):
        Policy.from_mapping(minimal(video={"sample_fps": 0}))
    with pytest.raises(PolicyError, match=r"video\.codec: found 'mpeg2'"):
        Policy.from_mapping(minimal(video={"codec": "mpeg2"}))
    with pytest.raises(PolicyError, match=r"video\.allowed_containers\[0\]: found 'avi'"):
        Policy.from_mapping(minimal(video={"allowed_containers": ["avi"]}))
    with pytest.raises(PolicyError, match=r"video\.crf: found 60"):
        Policy.from_mapping(minimal(video={"crf": 60}))
    with pytest.raises(PolicyError, match=r"video\.preset"):
        Policy.from_mapping(minimal(video={"preset": "warp"}))
