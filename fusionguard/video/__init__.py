"""Video targets and outputs: probe and validate, decode to RGB frames, encode without metadata.

See :mod:`fusionguard.video.probe`, :mod:`fusionguard.video.decode`, :mod:`fusionguard.video.encode`;
the guarded run is :func:`fusionguard.video.run.run_video` (``Guard.run_video``).
"""

from fusionguard.video.probe import VideoInfo, looks_like_video, probe_video

__all__ = ["VideoInfo", "looks_like_video", "probe_video"]
