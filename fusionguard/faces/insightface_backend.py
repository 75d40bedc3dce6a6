"""Face detection and recognition with insightface model packs (SCRFD detector, ArcFace embedding).

insightface is an optional extra (``pip install 'fusionguard[insightface]'``) and its model packs
are never downloaded by fusionguard: insightface's ``FaceAnalysis`` downloads a pack whenever its
directory is missing, so this backend checks ``root/models/<pack>/`` for the detection and
recognition ``.onnx`` files *before* importing insightface, and raises
:class:`~fusionguard.errors.ModelUnavailable` naming the directory and the files it expects.

>>> from pathlib import Path
>>> from fusionguard.faces import InsightFaceBackend
>>> backend = InsightFaceBackend(Path("~/.insightface").expanduser())  # doctest: +SKIP
>>> faces = backend.detect(rgb)  # doctest: +SKIP

Embeddings are L2-normalised 512-D ArcFace vectors compared by cosine distance (``1 - cos``).
``match_threshold=0.6`` (cosine similarity >= 0.4) is a conservative choice: insightface's own
examples call similarities above about 0.28 the same person. It was NOT measured here (the weights
are not available in this environment); measure FAR/FRR with ``bench/checks/run.py`` before relying
on it.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np

from fusionguard.errors import ModelUnavailable

from .base import INSIGHTFACE_LANDMARKS, Face, MatchingMixin, Metric, check_rgb

#: The detection and recognition files of the known model packs (insightface v0.7 release assets).
PACK_FILES: dict[str, tuple[str, str]] = {
    "buffalo_l": ("det_10g.onnx", "w600k_r50.onnx"),
    "buffalo_m": ("det_2.5g.onnx", "w600k_r50.onnx"),
    "buffalo_s": ("det_500m.onnx", "w600k_mbf.onnx"),
    "buffalo_sc": ("det_500m.onnx", "w600k_mbf.onnx"),
    "antelopev2": ("scrfd_10g_bnkps.onnx", "glintr100.onnx"),
}


class InsightFaceBackend(MatchingMixin):
    """insightface ``FaceAnalysis`` restricted to detection + recognition, on onnxruntime CPU.

    ``root`` is insightface's root (it holds ``models/<pack>/``); ``pack`` a model pack name from
    :data:`PACK_FILES`. ``det_size`` is the detector's input size, ``det_thresh`` its score
    threshold. The constructor validates the files and the installation; the models load on first
    ``detect``.
    """

    metric: Metric = "cosine"

    def __init__(
        self,
        root: Path | str,
        pack: str = "buffalo_l",
        *,
        det_size: tuple[int, int] = (640, 640),
        det_thresh: float = 0.5,
        match_threshold: float = 0.6,
        min_face_size: int = 64,
    ) -> None:
        self.root = Path(root).expanduser()
        self.pack = pack
        self.model_dir = self.root / "models" / pack
        self.det_size = det_size
        self.det_thresh = float(det_thresh)
        self.match_threshold = float(match_threshold)
        self.min_face_size = int(min_face_size)
        self.model_id = f"insightface-{pack}"
        expected = PACK_FILES.get(pack)
        if expected is None:
            raise ModelUnavailable(
                f"unknown insightface model pack {pack!r}; known packs: {', '.join(PACK_FILES)}"
            )
        missing = [name for name in expected if not (self.model_dir / name).is_file()]
        if missing:
            raise ModelUnavailable(
                f"insightface pack {pack} is incomplete: {', '.join(missing)} missing in "
                f"{self.model_dir} (expected {', '.join(expected)}); unpack {pack}.zip there — "
                "fusionguard never downloads models"
            )
        if importlib.util.find_spec("insightface") is None:
            raise ModelUnavailable("insightface is not installed: pip install 'fusionguard[insightface]'")
        self._lock = threading.Lock()
        self._app: Any = None

    def __repr__(self) -> str:
        return f"InsightFaceBackend(root={str(self.root)!r}, pack={self.pack!r})"

    def _load(self) -> Any:  # pragma: no cover - needs insightface and its weights
        if self._app is None:
            # Re-check: FaceAnalysis would download the pack if its directory vanished meanwhile.
            if not self.model_dir.is_dir():
                raise ModelUnavailable(f"insightface pack directory {self.model_dir} is gone")
            from insightface.app import FaceAnalysis

            app = FaceAnalysis(
                name=self.pack,
                root=str(self.root),
                allowed_modules=["detection", "recognition"],
                providers=["CPUExecutionProvider"],
            )
            app.prepare(ctx_id=-1, det_thresh=self.det_thresh, det_size=self.det_size)
            self._app = app
        return self._app

    def detect(self, rgb: np.ndarray) -> list[Face]:  # pragma: no cover - see _load
        image = check_rgb(rgb)
        height, width = image.shape[:2]
        with self._lock:
            app = self._load()
            # insightface expects OpenCV's BGR order.
            found = app.get(np.ascontiguousarray(image[:, :, ::-1]))
        faces: list[Face] = []
        for item in found:
            x0, y0, x1, y1 = (float(v) for v in item.bbox)
            box = (
                max(0, int(np.floor(x0))),
                max(0, int(np.floor(y0))),
                min(width, int(np.ceil(x1))),
                min(height, int(np.ceil(y1))),
            )
            if box[2] <= box[0] or box[3] <= box[1]:
                continue
            faces.append(
                Face(
                    box=box,
                    score=float(item.det_score),
                    landmarks=np.asarray(item.kps, dtype=np.float32),
                    embedding=np.asarray(item.normed_embedding, dtype=np.float32),
                    model_id=self.model_id,
                    landmark_names=INSIGHTFACE_LANDMARKS,
                )
            )
        faces.sort(key=lambda face: face.score, reverse=True)
        return faces
