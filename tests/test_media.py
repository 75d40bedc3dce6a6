"""fusionguard.media: safe loading of hostile inputs, metadata-free encoding, atomic writes."""

from __future__ import annotations

import io
import os
import stat
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fusionguard.errors import BadInput, FusionGuardError, UnsupportedMedia
from fusionguard.media import (
    LoadedImage,
    encode_image,
    from_array,
    load_image,
    sha256_hex,
    write_atomic,
)
from tests import testdata

# --- good inputs ------------------------------------------------------------------------------------


def test_loads_a_real_jpeg_from_a_path_with_its_digest() -> None:
    path = testdata.grace_hopper_path()
    image = load_image(path)
    assert isinstance(image, LoadedImage)
    assert image.format == "JPEG"
    assert image.rgb.shape == (600, 512, 3) and image.rgb.dtype == np.uint8
    assert image.sha256 == sha256_hex(path.read_bytes())
    assert image.source == str(path)
    assert not image.rgb.flags.writeable  # shared safely between checks


def test_bytes_and_path_give_the_same_pixels(tmp_path: Path) -> None:
    data = testdata.jpeg_bytes()
    path = tmp_path / "a.jpg"
    path.write_bytes(data)
    from_path = load_image(path)
    from_bytes = load_image(data, source="upload")
    assert from_bytes.source == "upload"
    assert from_bytes.sha256 == from_path.sha256
    np.testing.assert_array_equal(from_path.rgb, from_bytes.rgb)


def test_format_is_sniffed_from_content_not_the_name(tmp_path: Path) -> None:
    path = tmp_path / "really_a_png.jpg"
    path.write_bytes(testdata.gray_png())
    assert load_image(path).format == "PNG"


def test_webp_is_allowed() -> None:
    image = load_image(testdata.webp_bytes())
    assert image.format == "WEBP" and image.rgb.shape == (64, 96, 3)


def test_exif_orientation_is_applied() -> None:
    image = load_image(testdata.exif_rotated_jpeg())
    # Stored 96 wide x 64 high; orientation 6 means display rotated 90 degrees: 64 wide x 96 high.
    assert image.rgb.shape == (96, 64, 3)


@pytest.mark.parametrize(
    ("builder", "expected_shape"),
    [
        (testdata.gray_png, (64, 96, 3)),
        (testdata.palette_png, (64, 96, 3)),
        (testdata.bilevel_png, (64, 96, 3)),
        (testdata.cmyk_jpeg, (64, 96, 3)),
        (testdata.gray_alpha_png, (64, 96, 3)),
    ],
)
def test_other_modes_become_rgb(builder: object, expected_shape: tuple[int, int, int]) -> None:
    assert callable(builder)
    image = load_image(builder())
    assert image.rgb.shape == expected_shape and image.rgb.dtype == np.uint8


def test_gray_becomes_three_equal_channels() -> None:
    rgb = load_image(testdata.gray_png()).rgb
    assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])


def test_cmyk_colours_survive_conversion() -> None:
    original = np.asarray(Image.open(io.BytesIO(testdata.jpeg_bytes())).convert("RGB"), np.int16)
    converted = load_image(testdata.cmyk_jpeg()).rgb.astype(np.int16)
    # Same gradient, through CMYK and JPEG: close on average, not inverted.
    assert float(np.abs(original - converted).mean()) < 12


def test_16_bit_png_is_scaled_not_clipped() -> None:
    rgb = load_image(testdata.png16_gray()).rgb
    # The ramp spans 0..65535, so the 8-bit result must span ~0..255 (clipping would give all 255).
    assert rgb.min() == 0 and rgb.max() == 255
    assert 100 < float(rgb.mean()) < 155


def test_transparent_pixels_are_composited_onto_white() -> None:
    assert np.all(load_image(testdata.rgba_png(alpha=0)).rgb == 255)  # invisible red -> white
    opaque = load_image(testdata.rgba_png(alpha=255)).rgb
    assert np.all(opaque[..., 0] == 255) and np.all(opaque[..., 1:] == 0)
    half = load_image(testdata.rgba_png(alpha=128)).rgb
    assert np.all(half[..., 0] == 255) and np.all(np.abs(half[..., 1].astype(int) - 127) <= 1)


def test_palette_transparency_is_composited() -> None:
    rgb = load_image(testdata.palette_png(transparent=True)).rgb
    assert rgb.shape == (64, 96, 3) and np.any(np.all(rgb == 255, axis=2))


def test_alpha_can_be_refused() -> None:
    with pytest.raises(BadInput, match="transparent"):
        load_image(testdata.rgba_png(alpha=0), alpha="refuse")
    # Fully opaque RGBA is fine even when refusing alpha.
    assert load_image(testdata.rgba_png(alpha=255), alpha="refuse").rgb.shape == (32, 48, 3)


def test_real_rgba_png_loads() -> None:
    image = load_image(testdata.rgba_32bit_png())
    assert image.format == "PNG" and image.rgb.shape == (1200, 626, 3)


# --- refused inputs ---------------------------------------------------------------------------------


def test_non_image_bytes() -> None:
    with pytest.raises(BadInput, match=r"^<bytes>: not an image \(expected JPEG, PNG or WebP\)$"):
        load_image(testdata.non_image())


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(BadInput, match="empty file"):
        load_image(path)


def test_truncated_jpeg_names_the_file_and_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    path.write_bytes(testdata.truncated_jpeg())
    with pytest.raises(BadInput) as caught:
        load_image(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: truncated JPEG")
    assert "\n" not in message


def test_corrupt_png_data() -> None:
    data = bytearray(testdata.gray_png())
    data[60:80] = b"\xff" * 20  # inside the compressed IDAT
    with pytest.raises(BadInput, match="PNG"):
        load_image(bytes(data))


@pytest.mark.parametrize(
    ("builder", "name"),
    [(testdata.bmp_bytes, "BMP"), (testdata.tiff_bytes, "TIFF"), (testdata.static_gif, "GIF")],
)
def test_formats_off_the_allow_list_are_refused(builder: object, name: str) -> None:
    assert callable(builder)
    with pytest.raises(BadInput, match=f"a {name} file") as caught:
        load_image(builder())
    assert not isinstance(caught.value, UnsupportedMedia)


def test_animated_gif_is_unsupported_media() -> None:
    with pytest.raises(UnsupportedMedia, match="animated GIF"):
        load_image(testdata.animated_gif())


def test_animated_png_is_unsupported_media() -> None:
    frames = [Image.new("RGB", (8, 8), color) for color in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(UnsupportedMedia, match="animated PNG"):
        load_image(buffer.getvalue())


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".avi", ".mkv", ".webm", ".MP4"])
def test_video_extensions_are_unsupported(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"clip{suffix}"
    path.write_bytes(testdata.jpeg_bytes())  # even a JPEG inside: refused by name before reading
    with pytest.raises(UnsupportedMedia, match="video is not supported yet"):
        load_image(path)


@pytest.mark.parametrize(
    "head",
    [
        testdata.mp4_header(),
        b"\x1a\x45\xdf\xa3" + b"\x00" * 60,  # Matroska / WebM
        b"RIFF\x00\x00\x00\x00AVI LIST" + b"\x00" * 48,
    ],
)
def test_video_content_is_unsupported_whatever_the_name(tmp_path: Path, head: bytes) -> None:
    path = tmp_path / "innocent.jpg"
    path.write_bytes(head)
    with pytest.raises(UnsupportedMedia, match="video"):
        load_image(path)


def test_60_megapixel_bomb_is_refused_from_the_header() -> None:
    path = testdata.bomb_png_60mp()
    assert path.stat().st_size < 200_000  # tiny on disk, 60 MP decoded
    with pytest.raises(BadInput, match=r"8000x7500 is 60000000 pixels.*decompression-bomb"):
        load_image(path)


def test_header_claiming_billions_of_pixels_is_refused_before_decoding() -> None:
    with pytest.raises(BadInput, match="decompression-bomb"):
        load_image(testdata.png_header_claiming(100_000, 100_000))


def test_pillow_bomb_error_is_translated_when_our_limit_is_raised() -> None:
    # With our limit lifted, Pillow's own guard (2 x MAX_IMAGE_PIXELS) must still end in BadInput.
    limit = Image.MAX_IMAGE_PIXELS or 89_478_485
    side = int((2 * limit) ** 0.5) + 10
    with pytest.raises(BadInput, match=r"decompression-bomb|pixels"):
        load_image(testdata.png_header_claiming(side, side), max_pixels=10**12)


def test_max_pixels_is_respected() -> None:
    with pytest.raises(BadInput, match="more than the limit of 1000"):
        load_image(testdata.jpeg_bytes(), max_pixels=1000)


def test_max_bytes_is_respected() -> None:
    with pytest.raises(BadInput, match="limit of 100"):
        load_image(testdata.jpeg_bytes(), max_bytes=100)


@pytest.mark.parametrize("value", [42, None, ["a.jpg"], 3.5, {"path": "x"}])
def test_not_a_path_type(value: object) -> None:
    with pytest.raises(BadInput, match="expected a path"):
        load_image(value)  # type: ignore[arg-type]


# --- hostile paths ----------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such file"):
        load_image(tmp_path / "nope.jpg")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="is a directory"):
        load_image(tmp_path)


def test_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(BadInput, match="is a FIFO"):
        load_image(fifo)


def test_symlink_to_a_device(tmp_path: Path) -> None:
    link = tmp_path / "zero.jpg"
    link.symlink_to("/dev/zero")
    with pytest.raises(BadInput, match="is a device"):
        load_image(link)


def test_symlink_to_a_regular_image_is_fine(tmp_path: Path) -> None:
    link = tmp_path / "link.jpg"
    link.symlink_to(testdata.grace_hopper_path())
    assert load_image(link).format == "JPEG"


def test_dangling_symlink(tmp_path: Path) -> None:
    link = tmp_path / "dangling.jpg"
    link.symlink_to(tmp_path / "gone.jpg")
    with pytest.raises(BadInput, match="no such file"):
        load_image(link)


def test_nul_in_path() -> None:
    with pytest.raises(BadInput, match="invalid path"):
        load_image("a\x00b.jpg")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.jpg"
    path.write_bytes(testdata.jpeg_bytes())
    path.chmod(0)
    with pytest.raises(BadInput, match="permission denied"):
        load_image(path)


# --- from_array -------------------------------------------------------------------------------------


def test_from_array_gray_bgr_and_alpha() -> None:
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = from_array(gray)
    assert out.shape == (3, 4, 3) and np.array_equal(out[..., 2], gray)
    bgr = np.zeros((2, 2, 3), np.uint8)
    bgr[..., 0] = 200  # blue in OpenCV order
    assert np.all(from_array(bgr, color_order="BGR")[..., 2] == 200)
    rgba = np.full((2, 2, 4), 7, np.uint8)
    assert from_array(rgba).shape == (2, 2, 3)


def test_from_array_copies_and_makes_contiguous() -> None:
    base = np.zeros((8, 8, 3), np.uint8)
    view = base[::2, ::2]
    out = from_array(view)
    assert out.flags.c_contiguous and not np.shares_memory(out, base)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (np.zeros((4, 4, 3), np.float32), "dtype uint8"),
        (np.zeros((0, 4, 3), np.uint8), "empty"),
        (np.zeros((4, 4, 2), np.uint8), "shape"),
        (np.zeros((2, 4, 4, 3), np.uint8), "shape"),
        ([[1, 2], [3, 4]], "numpy array"),
    ],
)
def test_from_array_refuses(value: object, match: str) -> None:
    with pytest.raises(BadInput, match=match):
        from_array(value)


# --- encoding ---------------------------------------------------------------------------------------


def _png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        chunks.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    return chunks


def _jpeg_markers(data: bytes) -> list[int]:
    markers, offset = [], 2
    while offset < len(data):
        assert data[offset] == 0xFF
        marker = data[offset + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        offset += 2 + length
    return markers


def _riff_chunks(data: bytes) -> list[bytes]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    chunks, offset = [], 12
    while offset < len(data):
        kind = data[offset : offset + 4]
        (size,) = struct.unpack("<I", data[offset + 4 : offset + 8])
        chunks.append(kind)
        offset += 8 + size + (size & 1)
    return chunks


def test_png_has_no_ancillary_chunks() -> None:
    data = encode_image(load_image(testdata.rgba_32bit_png()).rgb, "png")
    chunks = _png_chunks(data)
    assert set(chunks) == {b"IHDR", b"IDAT", b"IEND"}


def test_jpeg_has_no_exif_xmp_icc_or_comment() -> None:
    # The source has EXIF; none of it may reach the output.
    rgb = load_image(testdata.exif_rotated_jpeg()).rgb
    data = encode_image(rgb, "jpeg", quality=90)
    markers = _jpeg_markers(data)
    assert 0xE0 in markers  # JFIF APP0 is only the format header
    forbidden = {0xE1, 0xE2, 0xED, 0xFE}  # EXIF/XMP, ICC, IPTC (APP13), comment
    assert not forbidden & set(markers)
    assert not [m for m in markers if 0xE3 <= m <= 0xEF]


def test_webp_has_only_image_data() -> None:
    data = encode_image(testdata.astronaut(), "webp", quality=80)
    assert set(_riff_chunks(data)) <= {b"VP8 ", b"VP8L"}


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_encoded_images_round_trip(fmt: str) -> None:
    rgb = testdata.astronaut()
    decoded = load_image(encode_image(rgb, fmt)).rgb  # type: ignore[arg-type]
    assert decoded.shape == rgb.shape
    error = float(np.abs(decoded.astype(np.int16) - rgb.astype(np.int16)).mean())
    assert error == 0.0 if fmt == "png" else error < 4.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"format": "gif"}, "cannot encode"), ({"quality": 0}, "quality"), ({"quality": 101}, "quality")],
)
def test_encode_refuses_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(BadInput, match=match):
        encode_image(np.zeros((4, 4, 3), np.uint8), **kwargs)  # type: ignore[arg-type]


# --- atomic writes ----------------------------------------------------------------------------------


def test_write_atomic_writes_replaces_and_sets_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    write_atomic(target, b"first")
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # no temp file left
    write_atomic(target, b"private", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_write_atomic_replaces_a_symlink_not_its_target(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    link = tmp_path / "out.png"
    link.symlink_to(victim)
    write_atomic(link, b"new")
    assert victim.read_bytes() == b"keep me"
    assert not link.is_symlink() and link.read_bytes() == b"new"


def test_write_atomic_refuses_hostile_targets(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="is a directory"):
        write_atomic(tmp_path, b"x")
    with pytest.raises(BadInput, match="does not exist"):
        write_atomic(tmp_path / "missing" / "out.png", b"x")
    afile = tmp_path / "file"
    afile.write_bytes(b"")
    with pytest.raises(BadInput, match="not a directory"):
        write_atomic(afile / "out.png", b"x")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(BadInput, match="not a regular file"):
        write_atomic(fifo, b"x")
    device_link = tmp_path / "null.png"
    device_link.symlink_to("/dev/null")
    with pytest.raises(BadInput, match="not a regular file"):
        write_atomic(device_link, b"x")
    with pytest.raises(BadInput, match="expected bytes"):
        write_atomic(tmp_path / "ok.png", "text")  # type: ignore[arg-type]
    with pytest.raises(BadInput, match="output path"):
        write_atomic(None, b"x")  # type: ignore[arg-type]


def test_write_atomic_cleans_up_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(FusionGuardError, match="No space left"):
        write_atomic(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_bomb_builder_is_idempotent_concurrent_and_honours_the_cache_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setenv("FUSIONGUARD_TESTDATA", str(tmp_path / "cache"))
    with ThreadPoolExecutor(max_workers=3) as pool:
        paths = list(pool.map(lambda _: testdata.bomb_png_60mp(), range(3)))
    assert len(set(paths)) == 1 and paths[0].parent == tmp_path / "cache"
    first = paths[0].stat().st_mtime_ns
    assert testdata.bomb_png_60mp().stat().st_mtime_ns == first  # not rewritten
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.suffix == ".part"] == []
    with Image.open(paths[0]) as image:  # a real PNG of the claimed size
        assert image.size == (8000, 7500)
