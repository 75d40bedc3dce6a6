"""Supported platforms: importing fusionguard where there is no fcntl fails with one clear message."""

from __future__ import annotations

import subprocess
import sys


def test_import_without_fcntl_names_the_supported_platforms() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['fcntl'] = None; import fusionguard"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: fusionguard supports Linux and macOS"), result.stderr


def test_every_package_and_data_file_is_in_the_distribution() -> None:
    """pyproject lists packages by hand (migrations/ and policies/ are mapped into the package): a new
    subpackage or template folder missing there would be absent from an installed fusionguard."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(init.parent.relative_to(root).parts)
        for init in (root / "fusionguard").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert on_disk - set(config["packages"]) == set()
    data = config["package-data"]
    for package in on_disk:
        folder = root.joinpath(*package.split("."))
        for file in folder.iterdir():
            if file.is_file() and file.suffix not in (".py", ".pyc"):
                assert file.name in data.get(package, []) or any(
                    Path(file.name).match(pattern) for pattern in data.get(package, [])
                ), f"{file.relative_to(root)} is not in package-data"
        for sub in folder.iterdir():
            if sub.is_dir() and sub.name != "__pycache__" and not (sub / "__init__.py").exists():
                patterns = data.get(package, [])
                assert any(p.startswith(sub.name + "/") for p in patterns), (
                    f"{sub.relative_to(root)} holds no module and is not in package-data"
                )
