"""Audio engine: streamed peaks in audiowaveform's JSON, a waveform picture, durations from samples."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sequoia_core.errors import ErrorCode, PermanentError
from sequoia_thumbnails import sandbox
from sequoia_thumbnails.engine import Engine
from sequoia_thumbnails.renderers import thumbhash
from sequoia_thumbnails.renderers.base import RenderSpec
from tests.corpus import build, conformance, ffmpeg, hostile

SPEC = RenderSpec(time_limit_seconds=60)


@pytest.fixture(scope="module")
def sounds(tmp_path_factory) -> dict[str, Path]:
    return build(tmp_path_factory.mktemp("audio"), conformance.AUDIO)


def _render(path: Path, out: Path, **changes):
    return Engine(replace(SPEC, **changes)).render(path, out, filename_hint=path.name)


@pytest.mark.parametrize(("case", "container", "seconds", "channels", "rate"), [
    ("mono_mp3", "mp3", 5.0, 1, 44100),
    ("stereo_wav", "wav", 3.0, 2, 48000),
    ("odd_rate_ogg", "ogg", 4.0, 1, 11025),
    ("adts_aac", "aac", 6.0, 1, 22050),
])
def test_waveform_and_peaks(sounds, tmp_path, case, container, seconds, channels, rate):
    fmt, result = _render(sounds[case], tmp_path)

    assert (fmt.kind, fmt.name) == ("audio", container)
    derived = {d.name: d for d in result.derivatives}
    waveform, peaks = derived["waveform"], derived["peaks"]
    assert (waveform.width, waveform.height, waveform.format) == (1800, 280, "png")
    with Image.open(waveform.path) as image:
        assert (image.format, image.size) == ("PNG", (1800, 280))
        alpha = np.asarray(image.getchannel("A"))
    drawn_columns = (alpha > 0).any(axis=0)
    assert drawn_columns.all()  # the envelope spans the whole width
    assert (alpha > 0).sum(axis=0).max() > 100  # and is not a mere centre line
    data = json.loads(peaks.path.read_text())
    assert set(data) == {"version", "channels", "sample_rate", "samples_per_pixel", "bits", "length", "data"}
    assert (data["version"], data["channels"], data["bits"]) == (2, 1, 8)
    assert len(data["data"]) == 2 * data["length"]
    assert all(-128 <= v <= 127 for v in data["data"])
    assert data["length"] * data["samples_per_pixel"] / data["sample_rate"] == pytest.approx(seconds, abs=0.2)
    meta = result.metadata
    assert meta["duration"] == pytest.approx(seconds, abs=0.2)
    assert (meta["channels"], meta["sample_rate"]) == (channels, rate)
    # The waveform is audio's picture in the gallery: a wide, mostly transparent placeholder.
    assert thumbhash.aspect_ratio(result.thumbhash) > 4 and thumbhash.average_rgba(result.thumbhash)[3] < 1


def test_peaks_follow_the_loudness(sounds, tmp_path):
    _, result = _render(sounds["mono_mp3"], tmp_path)  # a tone swelling from silence

    data = json.loads(next(d for d in result.derivatives if d.name == "peaks").path.read_text())["data"]
    maxima = data[1::2]
    quarter = len(maxima) // 4
    assert max(maxima[:quarter]) < max(maxima[-quarter:]) / 2


def test_silence_is_a_flat_line_not_an_empty_picture(sounds, tmp_path):
    _, result = _render(sounds["silence"], tmp_path)

    with Image.open(result.derivatives[0].path) as image:
        rows = np.nonzero(np.asarray(image.getchannel("A")).any(axis=1))[0]
    assert 1 <= len(rows) <= 2
    assert result.metadata["duration"] == pytest.approx(2.0, abs=0.05)


def test_wav_header_claiming_2_31_frames_renders_what_is_there(tmp_path):
    _, result = _render(hostile.wav_claiming_2_31_frames(tmp_path), tmp_path / "out")

    assert result.metadata["duration"] == pytest.approx(1.0, abs=0.05)


def test_duration_cap_counts_decoded_samples(sounds, tmp_path):
    with pytest.raises(PermanentError) as caught:
        _render(sounds["adts_aac"], tmp_path, max_duration_seconds=2)

    assert caught.value.code == ErrorCode.TOO_LONG


def test_waveform_size_is_configurable(sounds, tmp_path):
    _, result = _render(sounds["stereo_wav"], tmp_path, waveform_size=(600, 120))

    assert (result.derivatives[0].width, result.derivatives[0].height) == (600, 120)


def test_memory_does_not_grow_with_duration(tmp_path):
    """Twenty minutes decode in the same few megabytes as one."""
    long = tmp_path / "long.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=200:sample_rate=8000", "-t", "1200", "-c:a", "pcm_s16le", str(long))
    payload = {"source": str(long), "out_dir": str(tmp_path)}

    # Measured in a fresh sandbox job, whose peak RSS starts at the render server's.
    assert sandbox.run("tests.unit.sandbox_targets:audio_growth_kib", payload, timeout=60) < 40 * 1024


def test_corrupt_audio_is_corrupt_file(tmp_path):
    path = tmp_path / "broken.mp3"
    path.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 40)

    with pytest.raises(PermanentError) as caught:
        _render(path, tmp_path / "out")

    assert caught.value.code == ErrorCode.CORRUPT_FILE
