"""Video engine: input seeking, rotation, pixel aspect, flat frames, containers, and no playlists."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sequoia_core.errors import ErrorCode, PermanentError
from sequoia_core.mediatypes import format_named
from sequoia_thumbnails.engine import Engine
from sequoia_thumbnails.renderers import thumbhash
from sequoia_thumbnails.renderers.base import RenderSpec
from sequoia_thumbnails.renderers.pictures import is_flat
from sequoia_thumbnails.renderers.video import VideoRenderer
from tests.corpus import build, conformance, ffmpeg, hostile

SPEC = RenderSpec(time_limit_seconds=30)


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    return build(tmp_path_factory.mktemp("videos"), conformance.VIDEOS)


def _render(path: Path, out: Path, **changes):
    return Engine(replace(SPEC, **changes)).render(path, out, filename_hint=path.name)


@pytest.mark.parametrize(("case", "container", "preview", "thumbnail"), [
    ("plain", "mp4", (640, 360), (320, 180)),
    ("rotated", "mov", (360, 640), (180, 320)),
    ("black_intro", "mkv", (480, 270), (320, 180)),
    ("anamorphic", "avi", (768, 576), (320, 240)),
    ("one_frame", "mp4", (320, 240), (320, 240)),
    ("webm", "mkv", (320, 240), (320, 240)),
])
def test_frame_preview_and_thumbnail(videos, tmp_path, case, container, preview, thumbnail):
    fmt, result = _render(videos[case], tmp_path)

    assert (fmt.kind, fmt.name) == ("video", container)
    derived = {d.name: d for d in result.derivatives}
    assert (derived["preview"].width, derived["preview"].height) == preview
    assert (derived["thumbnail"].width, derived["thumbnail"].height) == thumbnail
    for derivative in derived.values():
        with Image.open(derivative.path) as image:
            assert image.size == (derivative.width, derivative.height)
            assert not is_flat(image), f"{case}: {derivative.name} is blank"
    assert result.metadata["codec"] and result.metadata["duration"] > 0
    assert thumbhash.aspect_ratio(result.thumbhash) == pytest.approx(thumbnail[0] / thumbnail[1], rel=0.25)


def test_frame_comes_from_the_keyframe_before_ten_percent(videos, tmp_path):
    _, result = _render(videos["two_scenes"], tmp_path)

    with Image.open(result.derivatives[0].path) as image:
        r, g, b = (int(v) for v in image.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0)))
    assert r > b + 60, (r, g, b)


def _cut_past_a_keyframe(folder: Path, encoder: tuple[str, ...]) -> tuple[Path, list[np.ndarray]]:
    """6 s of a moving pattern, a keyframe every 2 s, copied from 0.6 s on into a Matroska file
    written to a pipe, without the source's tags (a recording cut short): it opens on frames whose
    references are gone and says no duration, so it is read from its start. With the pictures of
    the keyframes it holds (2 s and 4 s in), decoded from the source."""
    source, cut = folder / "source.mkv", folder / "cut.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "6", "-pix_fmt", "yuv420p",
           *encoder, "-g", "50", str(source))
    with cut.open("wb") as out:
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(source), "-ss", "0.6", "-c", "copy",
                        "-copyinkf", "-map_metadata", "-1", "-f", "matroska", "pipe:1"], stdout=out, check=True)
    keyframes = []
    for at in ("2", "4"):
        frame = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-ss", at, "-i", str(source),
                                "-frames:v", "1", "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"],
                               capture_output=True, check=True).stdout
        keyframes.append(np.frombuffer(frame, np.uint8).reshape(360, 640, 3).astype(np.float32))
    return cut, keyframes


@pytest.mark.parametrize("encoder", [
    ("-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"),
    ("-c:v", "mpeg4"),
    ("-c:v", "libx264", "-preset", "ultrafast"),
], ids=["hevc", "mpeg4", "h264"])
def test_a_stream_opening_past_its_keyframe_gives_that_keyframe(tmp_path, encoder):
    """Not a frame decoded against references that are gone: HEVC's and MPEG-4 Part 2's decoders
    output those (grey blocks), H.264's outputs nothing before a keyframe."""
    cut, keyframes = _cut_past_a_keyframe(tmp_path, encoder)

    _, result = _render(cut, tmp_path / "out")

    assert result.metadata["duration"] is None
    preview = next(d for d in result.derivatives if d.name == "preview")
    with Image.open(preview.path) as image:
        frame = np.asarray(image.convert("RGB"), dtype=np.float32)
    assert min(float(np.abs(frame - keyframe).mean()) for keyframe in keyframes) < 8


def test_metadata_records_duration_codec_and_dimensions(videos, tmp_path):
    _, result = _render(videos["plain"], tmp_path)

    meta = result.metadata
    assert (meta["codec"], meta["width"], meta["height"], meta["audio_codec"]) == ("h264", 640, 360, "aac")
    assert meta["duration"] == pytest.approx(4.0, abs=0.1)


def test_rotation_metadata_is_respected(videos, tmp_path):
    _, result = _render(videos["rotated"], tmp_path)

    assert result.metadata["rotation"] in (90, 270)
    assert (result.metadata["width"], result.metadata["height"]) == (360, 640)


def test_duration_cap(videos, tmp_path):
    with pytest.raises(PermanentError) as caught:
        _render(videos["plain"], tmp_path, max_duration_seconds=2)

    assert caught.value.code == ErrorCode.TOO_LONG


def test_dimension_cap(videos, tmp_path):
    with pytest.raises(PermanentError) as caught:
        _render(videos["plain"], tmp_path, max_video_edge=320)

    assert caught.value.code == ErrorCode.IMAGE_TOO_LARGE


@pytest.mark.parametrize(("maker", "code"), [
    (hostile.truncated_mp4, ErrorCode.CORRUPT_FILE),
    (hostile.hls_as_mp4, ErrorCode.UNSUPPORTED_TYPE),
    (hostile.concat_as_avi, ErrorCode.UNSUPPORTED_TYPE),
    (hostile.audio_only_mp4, ErrorCode.NO_STREAM),
])
def test_hostile_videos_fail_with_their_code(tmp_path, maker, code):
    path = maker(tmp_path)

    with pytest.raises(PermanentError) as caught:
        _render(path, tmp_path / "out")

    assert caught.value.code == code, caught.value.message


class _Listener:
    """A loopback TCP server that counts connections (what an HLS fetch would make)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.server.close()


def _opened_for_reading(fifo: Path, stop: threading.Event, seen: list[bool]) -> None:
    """Watch a FIFO: opening its write end without blocking succeeds only while someone reads it."""
    while not stop.is_set():
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            time.sleep(0.01)
            continue
        seen.append(True)
        os.close(fd)
        return


@pytest.mark.parametrize("container", ["mp4", "mov", "avi", "mkv"])
def test_a_playlist_that_got_past_sniffing_reads_nothing_else(tmp_path, container):
    """Defence in depth: even handed to ffmpeg as a video, an HLS playlist opens no file and no URL."""
    fifo = tmp_path / "segment.ts"
    os.mkfifo(fifo)
    listener = _Listener()
    stop, seen = threading.Event(), []
    watcher = threading.Thread(target=_opened_for_reading, args=(fifo, stop, seen), daemon=True)
    watcher.start()
    playlist = tmp_path / f"playlist.{container}"
    playlist.write_bytes(hostile.hls_playlist(fifo, f"http://127.0.0.1:{listener.port}/segment.ts"))
    try:
        with pytest.raises(PermanentError) as caught:
            VideoRenderer(SPEC).render(playlist, format_named(container), tmp_path)
    finally:
        stop.set()
        watcher.join()
        listener.close()

    assert caught.value.code == ErrorCode.CORRUPT_FILE
    assert listener.connections == 0
    assert seen == []
