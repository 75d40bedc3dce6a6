"""Hostile uploads: too large, decompression bombs, polyglots, truncated files, wrong fields -> 4xx with
one line, and nothing written to disk."""

from __future__ import annotations

import dataclasses
import io
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from starlette.testclient import TestClient

from fusionguard.policy import MediaPolicy, Policy
from tests.server.conftest import Seed, make_client


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height; the data is a few bytes (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _jpeg(size: int = 64) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size, 3), 128, np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


HOSTILE = {
    "bomb": (_png_header_only(100_000, 100_000), 400, "decompression-bomb guard"),
    "polyglot": (b"GIF89a/*" + b"\0" * 32 + b"*/=alert(1);<script>alert(1)</script>", 400, "GIF"),
    "html": (b"<html><script>alert(1)</script></html>", 400, "not an image"),
    "zip": (b"PK\x03\x04" + b"\0" * 100, 400, "not an image"),
    "truncated": (_jpeg()[:300], 400, "truncated JPEG"),
    "empty": (b"", 400, "choose"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_uploads_get_a_4xx_with_one_line(client: TestClient, seed: Seed, case: str) -> None:
    data, status, words = HOSTILE[case]
    response = client.post(
        "/api/v1/trace", files={"image": ("x.png", data)}, headers={"authorization": f"Bearer {seed.token}"}
    )
    assert response.status_code == status
    message = response.json()["error"]
    assert "\n" not in message
    assert words in message if case != "empty" else "'image'" in message


def test_oversized_uploads_are_refused_before_reading(seed: Seed) -> None:
    with make_client(seed, max_upload_bytes=100_000) as client:
        response = client.post(
            "/api/v1/trace",
            files={"image": ("big.jpg", b"\xff\xd8\xff" + b"\0" * 300_000)},
            headers={"authorization": f"Bearer {seed.token}"},
        )
    assert response.status_code == 413
    assert "more than the limit" in response.json()["error"]


def test_pixel_limit_comes_from_the_policy(seed: Seed) -> None:
    policy = Policy.named("default")
    with make_client(seed, policy=dataclasses.replace(policy, media=MediaPolicy(max_pixels=1000))) as client:
        response = client.post(
            "/api/v1/trace",
            files={"image": ("a.jpg", seed.leaked)},
            headers={"authorization": f"Bearer {seed.token}"},
        )
    assert response.status_code == 400
    assert "more than the limit of 1000" in response.json()["error"]


def test_nothing_is_written_to_disk(
    client: TestClient, seed: Seed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    for name in ("leak.jpg", "bomb.png"):
        data = seed.leaked if name == "leak.jpg" else HOSTILE["bomb"][0]
        client.post(
            "/api/v1/trace",
            files={"image": (name, data + b"\0" * 2_000_000)},
            headers={"authorization": f"Bearer {seed.token}"},
        )
    assert list(spool.iterdir()) == []
    assert not list(seed.settings.home.glob("**/*leak*"))


def test_a_multipart_body_without_its_closing_boundary_is_refused(client: TestClient, seed: Seed) -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\n' + seed.leaked
    response = client.post(
        "/api/v1/trace",
        content=body,
        headers={"authorization": f"Bearer {seed.token}", "content-type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 400
    assert response.json() == {"error": "multipart body is truncated (no closing boundary)"}
