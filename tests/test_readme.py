"""The README's examples work as written (issue 11, defect 15).

Convention (the README's blocks are marked with an HTML comment on the line just before the fence):

* every ```` ```python ```` block runs, in order, in one namespace, as a new user pasting them one after
  the other would — unless the line before it is ``<!-- illustrative -->``, which marks a sketch (a
  ``...`` body, a diffusers ``pipe`` the reader supplies);
* a ```` ```sh ```` block runs (with ``bash -eu``) only when the line before it is
  ``<!-- readme-test: run -->``: the first steps a user takes before the Python examples.

They run in an empty directory holding the two photos the README names (``alice.jpg``: Grace Hopper;
``scene.jpg``: the astronaut, "Bob"), with ``FUSIONGUARD_HOME`` pointing at a fresh home there.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from fusionguard.media import encode_image, load_image

README = Path(__file__).resolve().parent.parent / "README.md"
ILLUSTRATIVE = "<!-- illustrative -->"
RUN_SHELL = "<!-- readme-test: run -->"
_FENCE = re.compile(r"^```(\w*)\s*$")


def blocks(text: str) -> list[tuple[str, str, str]]:
    """``(language, marker, code)`` of every fenced block; ``marker`` is the line before the fence."""
    found: list[tuple[str, str, str]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        marker = lines[index - 1].strip() if index else ""
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        found.append((opening.group(1), marker, "\n".join(lines[index + 1 : end]) + "\n"))
        index = end + 1
    return found


def test_the_convention_is_parsed() -> None:
    sample = f"text\n{ILLUSTRATIVE}\n```python\nx = ...\n```\n\n```python\ny = 1\n```\n"
    assert blocks(sample) == [("python", ILLUSTRATIVE, "x = ...\n"), ("python", "", "y = 1\n")]


@pytest.mark.slow
def test_readme_examples_run_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.cbook

    found = blocks(README.read_text(encoding="utf-8"))
    shell = [code for language, marker, code in found if language == "sh" and marker == RUN_SHELL]
    python = [code for language, marker, code in found if language == "python" and marker != ILLUSTRATIVE]
    assert shell and len(python) >= 3, "the README lost its runnable first steps or examples"

    sample = Path(str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    (tmp_path / "alice.jpg").write_bytes(sample.read_bytes())
    (tmp_path / "scene.jpg").write_bytes(encode_image(np.asarray(skimage.data.astronaut()), "jpeg"))
    home = tmp_path / "home"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FUSIONGUARD_HOME", str(home))
    monkeypatch.delenv("FUSIONGUARD_DB", raising=False)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    for code in shell:
        done = subprocess.run(
            ["bash", "-eu", "-c", code],
            capture_output=True,
            text=True,
            env={**os.environ, "PATH": path},
            check=False,
        )
        assert done.returncode == 0, f"{code}\n{done.stdout}\n{done.stderr}"

    namespace: dict[str, object] = {"__name__": "readme"}
    try:
        for code in python:
            exec(compile(code, "README.md", "exec"), namespace)
    finally:
        guard = namespace.get("guard")
        close = getattr(guard, "close", None)
        if callable(close):
            close()
    released = load_image(tmp_path / "out.jpg")
    assert released.format == "JPEG"  # the released file's format follows its extension
    assert released.rgb.shape[:2] == skimage.data.astronaut().shape[:2]
    frame = namespace["frame"]
    assert isinstance(frame, np.ndarray) and frame.shape == released.rgb.shape
