"""Audio waveforms and peaks, streamed: ffmpeg decodes to mono PCM on a pipe, numpy folds each chunk
into min/max pairs as it arrives, so memory does not grow with the duration.

The PCM keeps the file's own sample rate: a min/max envelope needs no resampling (a low-pass
resampler would only shave the true peaks), and skipping it is a third of ffmpeg's work.

The peaks file is the BBC audiowaveform JSON format (version 2), which peaks.js reads directly.
The duration is counted from the decoded samples, never taken from a header (raw ADTS AAC and
lying WAV headers claim wrong lengths).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from sequoia_core.errors import ErrorCode, PermanentError
from sequoia_core.mediatypes import MediaFormat, MediaKind
from sequoia_thumbnails.renderers import ffmpeg, thumbhash
from sequoia_thumbnails.renderers.base import Derivative, RenderResult, RenderSpec

WAVEFORM_COLOUR = (37, 99, 235, 255)
_CHUNK_PIXELS = 256  # pairs per read: 256 × samples_per_pixel × 2 bytes (256 KiB at 512)
_MAX_PCM_RATE = 192_000
_HEADROOM = 0.95


class AudioRenderer:
    """Waveform picture (1800×280 PNG) and peaks JSON of an audio file."""

    kinds = frozenset({MediaKind.AUDIO})

    def __init__(self, spec: RenderSpec) -> None:
        self.spec = spec

    def render(self, source: Path, fmt: MediaFormat, out_dir: Path) -> RenderResult:
        """Probe, stream the decoded samples into peaks, then draw and write both files."""
        info = ffmpeg.probe(source, fmt, self.spec.time_limit_seconds)
        stream = info.first("audio")
        if stream is None:
            raise PermanentError("the file has no audio stream", code=ErrorCode.NO_STREAM)
        ffmpeg.check_duration(info.duration, self.spec.max_duration_seconds)
        rate = _pcm_rate(stream)
        mins, maxs, samples = self._peaks(source, fmt, int(stream["index"]), rate)
        if samples == 0:
            raise PermanentError("no audio could be decoded", code=ErrorCode.CORRUPT_FILE)
        peaks = write_peaks(out_dir / "peaks.json", mins, maxs, rate, self.spec.peaks_samples_per_pixel)
        waveform = draw_waveform(mins, maxs, self.spec.waveform_size, out_dir / "waveform.png")
        metadata: dict[str, Any] = {
            "duration": round(samples / rate, 3),
            "codec": stream.get("codec_name"),
            "channels": stream.get("channels"),
            "sample_rate": _int_or_none(stream.get("sample_rate")),
            "bit_rate": _int_or_none(stream.get("bit_rate") or info.format.get("bit_rate")),
            "container": info.format.get("format_name"),
        }
        # The gallery shows the waveform as audio's picture: its placeholder too.
        with Image.open(waveform.path) as picture:
            placeholder = thumbhash.encode(picture)
        return RenderResult([waveform, peaks], metadata, thumbhash=placeholder)

    def _peaks(self, source: Path, fmt: MediaFormat, index: int, rate: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Min and max of each `samples_per_pixel` block of mono PCM, and how many samples there were."""
        spp = self.spec.peaks_samples_per_pixel
        max_samples = int(self.spec.max_duration_seconds * rate)
        command = ffmpeg.ffmpeg_command(
            source, fmt, "-map", f"0:{index}", "-vn", "-sn", "-dn",
            "-ac", "1", "-ar", str(rate), "-f", "s16le", "-acodec", "pcm_s16le", "pipe:1",
        )
        # stderr to a file: a corrupt stream can print more errors than a pipe holds, and a full
        # stderr pipe would stall ffmpeg while we wait on stdout.
        errors = tempfile.TemporaryFile()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
        mins: list[np.ndarray] = []
        maxs: list[np.ndarray] = []
        samples = 0
        carry = np.empty(0, dtype=np.int16)
        try:
            assert process.stdout is not None
            while block := process.stdout.read(_CHUNK_PIXELS * spp * 2):
                pcm = np.frombuffer(block[: len(block) // 2 * 2], dtype="<i2")
                samples += pcm.size
                if samples > max_samples:
                    raise PermanentError(
                        f"the audio decodes to more than {self.spec.max_duration_seconds:.0f} s",
                        code=ErrorCode.TOO_LONG,
                    )
                pcm = np.concatenate((carry, pcm)) if carry.size else pcm
                whole = pcm.size // spp * spp
                if whole:
                    rows = pcm[:whole].reshape(-1, spp)
                    mins.append(rows.min(axis=1))
                    maxs.append(rows.max(axis=1))
                carry = pcm[whole:].copy()
            if carry.size:
                mins.append(carry.min(keepdims=True))
                maxs.append(carry.max(keepdims=True))
            process.wait(timeout=self.spec.time_limit_seconds)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
            errors.seek(0)
            stderr = errors.read(64 * 1024)
            errors.close()
        if samples == 0 and process.returncode != 0:
            raise ffmpeg.failure(process, stderr)
        empty = np.empty(0, dtype=np.int16)
        return (np.concatenate(mins) if mins else empty), (np.concatenate(maxs) if maxs else empty), samples


def write_peaks(path: Path, mins: np.ndarray, maxs: np.ndarray, sample_rate: int,
                samples_per_pixel: int) -> Derivative:
    """The peaks in audiowaveform's JSON format, version 2, 8 bits, one channel."""
    pairs = np.empty(mins.size * 2, dtype=np.int8)
    # 16 → 8 bits as audiowaveform does: keep the high byte.
    pairs[0::2] = (mins.astype(np.int32) >> 8).astype(np.int8)
    pairs[1::2] = (maxs.astype(np.int32) >> 8).astype(np.int8)
    document = {
        "version": 2,
        "channels": 1,
        "sample_rate": sample_rate,
        "samples_per_pixel": samples_per_pixel,
        "bits": 8,
        "length": int(mins.size),
        "data": pairs.tolist(),
    }
    path.write_text(json.dumps(document, separators=(",", ":")))
    return Derivative(name="peaks", path=path, width=None, height=None, format="json")


def draw_waveform(mins: np.ndarray, maxs: np.ndarray, size: tuple[int, int], path: Path) -> Derivative:
    """A width × height PNG of the envelope, scaled so the loudest peak nearly fills the height."""
    width, height = size
    low, high = _columns(mins.astype(np.float32), maxs.astype(np.float32), width)
    loudest = max(float(np.abs(low).max(initial=0)), float(np.abs(high).max(initial=0)), 1.0)
    middle = (height - 1) / 2
    scale = middle * _HEADROOM / loudest
    top = np.floor(middle - high * scale)
    bottom = np.ceil(middle - low * scale)
    rows = np.arange(height, dtype=np.float32)[:, None]
    # Every column shows at least the centre line, so silence is visible as silence.
    mask = (rows >= np.minimum(top, np.floor(middle))) & (rows <= np.maximum(bottom, np.ceil(middle)))
    pixels = np.zeros((height, width, 4), dtype=np.uint8)
    pixels[mask] = WAVEFORM_COLOUR
    Image.fromarray(pixels, mode="RGBA").save(path, format="PNG", compress_level=6)
    return Derivative(name="waveform", path=path, width=width, height=height, format="png")


def _columns(mins: np.ndarray, maxs: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Fold (or stretch) the peaks to exactly `width` columns."""
    if mins.size >= width:
        edges = np.linspace(0, mins.size, width + 1).astype(np.int64)[:-1]
        return np.minimum.reduceat(mins, edges), np.maximum.reduceat(maxs, edges)
    index = np.minimum((np.arange(width) * mins.size) // width, mins.size - 1)
    return mins[index], maxs[index]


def _pcm_rate(stream: dict[str, Any]) -> int:
    """The rate to decode at: the stream's own, unless missing or absurd (then 44.1 kHz)."""
    rate = _int_or_none(stream.get("sample_rate")) or 0
    return rate if 4000 <= rate <= _MAX_PCM_RATE else 44100


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
