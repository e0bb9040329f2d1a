"""Video frame previews and thumbnails: one ffprobe, one ffmpeg with input seeking.

`-ss` before `-i` makes the demuxer jump to the keyframe before the target through the index, so
the cost does not grow with the video's length, and `-noaccurate_seek` keeps the first frame decoded
there: that keyframe. The keyframe at 10% of the duration comes back as raw RGB at preview size,
decoded once for both sizes; when it is flat (black, white, a fade), the keyframes at 35% and 60% are
tried. ffmpeg's autorotate turns the frame as the rotation metadata says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from sequoia_core.errors import ErrorCode, PermanentError
from sequoia_core.mediatypes import MediaFormat, MediaKind
from sequoia_thumbnails.renderers import ffmpeg, pictures
from sequoia_thumbnails.renderers.base import RenderResult, RenderSpec, fit

# Where to look for a frame, as fractions of the duration: 10% first, later ones past a dark intro.
SEEK_FRACTIONS = (0.10, 0.35, 0.60)
_READ_WINDOW_SECONDS = 30
# One keyframe is decoded per seek: one decoder thread costs less than starting a pool for it, and
# a small probe is enough since the demuxer is forced and the header gives the streams (`make bench`).
_DECODE_OPTIONS = ("-threads", "1", "-probesize", "1M", "-analyzeduration", "0")
# Decoders that decode a frame against references that are missing (painted grey) when a stream
# opens past its keyframe: these skip every frame but keyframes (`-skip_frame nokey`). H.264, VP8,
# VP9 and AV1 output nothing before a keyframe by themselves (checked on streams cut past one), and
# intra-only codecs have nothing else: skipping there only costs, since a decoder that holds frames
# back to reorder them then holds the keyframe until the next one arrives: 250 packets read for one
# frame of the bench's slideshow, a third of the grab.
_GREY_BEFORE_KEYFRAME = frozenset({"hevc", "mpeg1video", "mpeg2video", "mpeg4", "h263", "msmpeg4v3", "theora"})


class VideoRenderer:
    """Preview (long edge 1280) and thumbnail (long edge 320) of the keyframe at 10% of the video."""

    kinds = frozenset({MediaKind.VIDEO})

    def __init__(self, spec: RenderSpec) -> None:
        self.spec = spec

    def render(self, source: Path, fmt: MediaFormat, out_dir: Path) -> RenderResult:
        """Probe, check the limits, grab a frame and write both sizes."""
        info = ffmpeg.probe(source, fmt, self.spec.time_limit_seconds)
        stream = info.first("video")
        if stream is None:
            raise PermanentError("the file has no video stream", code=ErrorCode.NO_STREAM)
        duration = info.duration
        ffmpeg.check_duration(duration, self.spec.max_duration_seconds)
        width, height = int(stream.get("width") or 0), int(stream.get("height") or 0)
        if width <= 0 or height <= 0:
            raise PermanentError("the video stream has no frame size", code=ErrorCode.CORRUPT_FILE)
        if max(width, height) > self.spec.max_video_edge:
            raise PermanentError(
                f"{width}×{height} frames are over the limit of {self.spec.max_video_edge} px a side",
                code=ErrorCode.IMAGE_TOO_LARGE,
            )
        rotation = ffmpeg.rotation(stream)
        display = (max(1, round(width * ffmpeg.sample_aspect_ratio(stream))), height)
        if rotation in (90, 270):
            display = display[::-1]
        size = fit(display, self.spec.largest_edge(MediaKind.VIDEO))
        keyframes_only = stream.get("codec_name") in _GREY_BEFORE_KEYFRAME
        frame = self._best_frame(source, fmt, int(stream["index"]), size, duration, keyframes_only)
        result = pictures.derive(frame, self.spec.recipes_for(MediaKind.VIDEO), out_dir)
        result.metadata = {
            "duration": round(duration, 3) if duration else None,
            "codec": stream.get("codec_name"),
            "width": display[0],
            "height": display[1],
            "coded_width": width,
            "coded_height": height,
            "rotation": rotation,
            "frame_rate": stream.get("avg_frame_rate"),
            "container": info.format.get("format_name"),
            "audio_codec": (info.first("audio") or {}).get("codec_name"),
        }
        return result

    def _best_frame(self, source: Path, fmt: MediaFormat, index: int, size: tuple[int, int],
                    duration: float | None, keyframes_only: bool) -> Image.Image:
        """The first non-flat keyframe at 10%, 35% or 60%; the flattest video still gets its
        liveliest frame. The start of the file when seeking finds nothing."""
        seen: list[Image.Image] = []
        for fraction in SEEK_FRACTIONS if duration else (0.0,):
            frames = self._frames(source, fmt, index, size, duration * fraction if duration else 0.0,
                                  keyframes_only)
            for frame in frames:
                if not pictures.is_flat(frame):
                    return frame
            seen += frames
        if not seen:
            seen = self._frames(source, fmt, index, size, 0.0, keyframes_only)
        if not seen:
            raise PermanentError("no frame could be decoded", code=ErrorCode.CORRUPT_FILE)
        return max(seen, key=lambda f: float(np.asarray(f.convert("L"), dtype=np.float32).std()))

    def _frames(self, source: Path, fmt: MediaFormat, index: int, size: tuple[int, int],
                at: float, keyframes_only: bool) -> list[Image.Image]:
        width, height = size
        seek = ("-ss", f"{at:.3f}") if at > 0 else ()
        skip = ("-skip_frame", "nokey") if keyframes_only else ()
        command = ffmpeg.ffmpeg_command(
            source, fmt,
            "-map", f"0:{index}", "-an", "-sn", "-dn",
            # The keyframe before the target has a negative timestamp once seeked: keep it.
            "-vsync", "passthrough",
            "-frames:v", "1",
            "-vf", f"scale={width}:{height}:flags=bicubic,setsar=1",
            "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1",
            # `-t` bounds how far past the target the demuxer reads looking for more keyframes.
            before_input=(*_DECODE_OPTIONS, "-noaccurate_seek", *skip, *seek,
                          "-t", str(_READ_WINDOW_SECONDS)),
        )
        process = ffmpeg.run(command, self.spec.time_limit_seconds)
        frame_bytes = width * height * 3
        count = len(process.stdout) // frame_bytes
        if count == 0 and process.returncode != 0:
            raise ffmpeg.failure(process, process.stderr)
        return [
            Image.frombuffer("RGB", size, process.stdout[i * frame_bytes:(i + 1) * frame_bytes], "raw", "RGB", 0, 1)
            for i in range(count)
        ]
