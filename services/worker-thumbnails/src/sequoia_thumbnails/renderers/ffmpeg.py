"""Safe ffmpeg and ffprobe invocations: the demuxer forced from the sniffed format, `file` and `pipe`
the only protocols, no stdin, a time limit on every run.

Forcing the demuxer means a playlist (HLS, concat, ...) disguised as a video is parsed as that video
container and fails; the protocol whitelist means no demuxer can open a URL or another file either.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from sequoia_core.errors import ErrorCode, PermanentError
from sequoia_core.mediatypes import MediaFormat

PROTOCOLS = "file,pipe"
_COMMON = ("-hide_banner", "-loglevel", "error")


def binary(name: str) -> str:
    """Path of `ffmpeg` or `ffprobe`; a clear error when ffmpeg is not installed."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not on PATH: install ffmpeg (apt-get install ffmpeg)")
    return path


def input_args(source: Path, fmt: MediaFormat, *before_input: str) -> list[str]:
    """Options that open `source` safely: forced demuxer, whitelisted protocols, `file:` URL."""
    if fmt.demuxer is None:
        raise ValueError(f"{fmt.name} has no ffmpeg demuxer")
    return ["-protocol_whitelist", PROTOCOLS, "-f", fmt.demuxer, *before_input, "-i", f"file:{source}"]


def run(args: list[str], timeout: float) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg/ffprobe with `args`; `timeout` when it runs too long (the process is killed)."""
    try:
        return subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as err:
        raise PermanentError(f"{Path(args[0]).name} took longer than {timeout:g} s", code=ErrorCode.TIMEOUT) from err


def failure(process: subprocess.CompletedProcess[bytes] | subprocess.Popen[bytes], stderr: bytes) -> PermanentError:
    """The error for an ffmpeg run that could not read the file."""
    lines = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    reason = lines[-1] if lines else f"exit status {process.returncode}"
    return PermanentError(f"cannot decode: {reason[:300]}", code=ErrorCode.CORRUPT_FILE)


@dataclass(frozen=True)
class Probe:
    """What ffprobe says about a file: its container and its streams."""

    format: dict[str, Any]
    streams: list[dict[str, Any]]

    def first(self, codec_type: str) -> dict[str, Any] | None:
        """The first stream of `codec_type` (`video` skips cover pictures)."""
        for stream in self.streams:
            if stream.get("codec_type") != codec_type:
                continue
            if codec_type == "video" and stream.get("disposition", {}).get("attached_pic"):
                continue
            return stream
        return None

    @property
    def duration(self) -> float | None:
        """The container's duration in seconds, as the header claims it (None when unknown)."""
        for value in (self.format.get("duration"), *(s.get("duration") for s in self.streams)):
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                continue
            if seconds > 0:
                return seconds
        return None


def probe(source: Path, fmt: MediaFormat, timeout: float) -> Probe:
    """ffprobe's view of `source`; `corrupt_file` when the container cannot be read."""
    process = run(
        [binary("ffprobe"), *_COMMON, "-print_format", "json", "-show_format", "-show_streams",
         *input_args(source, fmt)],
        timeout,
    )
    if process.returncode != 0:
        raise failure(process, process.stderr)
    try:
        data = json.loads(process.stdout or b"{}")
    except json.JSONDecodeError as err:
        raise PermanentError(f"ffprobe gave no usable answer: {err}", code=ErrorCode.CORRUPT_FILE) from err
    return Probe(format=data.get("format") or {}, streams=data.get("streams") or [])


def check_duration(duration: float | None, limit: float) -> None:
    """`too_long` when a duration is over the limit."""
    if duration is not None and duration > limit:
        raise PermanentError(f"{duration:.0f} s is over the limit of {limit:.0f} s", code=ErrorCode.TOO_LONG)


def rotation(stream: dict[str, Any]) -> int:
    """Display rotation of a video stream as ffprobe reports it, in degrees (0, 90, 180 or 270).

    Only whether it is a quarter turn matters here (width and height swap): ffmpeg's autorotate
    turns the frame itself.
    """
    degrees = 0.0
    for side_data in stream.get("side_data_list") or []:
        if "rotation" in side_data:
            degrees = float(side_data["rotation"])
            break
    else:
        try:
            degrees = float((stream.get("tags") or {}).get("rotate", 0))
        except ValueError:
            degrees = 0.0
    return int(round(degrees / 90.0)) % 4 * 90


def sample_aspect_ratio(stream: dict[str, Any]) -> Fraction:
    """Pixel aspect ratio of a video stream (1 when absent or nonsensical)."""
    try:
        num, den = (int(part) for part in str(stream.get("sample_aspect_ratio", "1:1")).split(":"))
        ratio = Fraction(num, den)
    except (ValueError, ZeroDivisionError):
        return Fraction(1)
    return ratio if Fraction(1, 16) <= ratio <= 16 else Fraction(1)


def ffmpeg_command(source: Path, fmt: MediaFormat, *args: str, before_input: tuple[str, ...] = ()) -> list[str]:
    """A full ffmpeg command reading `source` safely, with `args` as output options."""
    return [binary("ffmpeg"), "-nostdin", *_COMMON, *input_args(source, fmt, *before_input), *args]
