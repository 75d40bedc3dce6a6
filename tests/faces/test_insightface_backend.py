"""InsightFaceBackend: refuses clearly (and never downloads) when the pack or the package is missing."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

import pytest

from fusionguard.errors import ModelUnavailable
from fusionguard.faces import InsightFaceBackend
from fusionguard.faces.insightface_backend import PACK_FILES


def _pack(root: Path, pack: str = "buffalo_l", files: tuple[str, ...] | None = None) -> Path:
    directory = root / "models" / pack
    directory.mkdir(parents=True)
    for name in PACK_FILES[pack] if files is None else files:
        (directory / name).write_bytes(b"onnx")
    return directory


def test_missing_pack_directory_names_directory_and_files(tmp_path: Path) -> None:
    expected_dir = tmp_path / "models" / "buffalo_l"
    with pytest.raises(ModelUnavailable) as caught:
        InsightFaceBackend(tmp_path)
    message = str(caught.value)
    assert str(expected_dir) in message
    assert "det_10g.onnx" in message and "w600k_r50.onnx" in message
    assert "never downloads" in message
    assert not (tmp_path / "models").exists()  # nothing was created, let alone downloaded


def test_incomplete_pack_names_the_missing_file(tmp_path: Path) -> None:
    _pack(tmp_path, files=("det_10g.onnx",))
    with pytest.raises(ModelUnavailable, match=r"w600k_r50.onnx missing in"):
        InsightFaceBackend(tmp_path)


def test_unknown_pack(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="unknown insightface model pack 'buffalo_xl'"):
        InsightFaceBackend(tmp_path, pack="buffalo_xl")


def test_complete_pack_but_insightface_not_installed(tmp_path: Path) -> None:
    assert importlib.util.find_spec("insightface") is None  # the premise of this test
    _pack(tmp_path, pack="buffalo_s")
    with pytest.raises(ModelUnavailable, match=r"pip install 'fusionguard\[insightface\]'"):
        InsightFaceBackend(tmp_path, pack="buffalo_s")


def test_constructs_lazily_when_everything_is_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pack(tmp_path)
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        if name == "insightface":
            return importlib.machinery.ModuleSpec("insightface", None)
        return real_find_spec(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    backend = InsightFaceBackend(tmp_path)
    assert backend._app is None  # insightface is neither imported nor run by the constructor
    assert (backend.model_id, backend.metric) == ("insightface-buffalo_l", "cosine")
