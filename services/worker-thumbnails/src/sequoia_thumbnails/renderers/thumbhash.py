"""ThumbHash (Evan Wallace's placeholder format, MIT): a picture's colours and shape in about 25 bytes,
which the gallery paints while the thumbnail loads.

Written here after the reference algorithm rather than taken from PyPI: the pure-Python packages
(`thumbhash`, `thumbhash-python`) have had no release since 2023 and loop over every pixel in
Python, and the Rust bindings are young single-maintainer wheels; the encoder is one DCT over a
100 px picture, a few lines of numpy. `average_rgba` and `aspect_ratio` read a hash back as the
reference's decoder does (the gallery's JavaScript decodes the whole picture).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

# The reference encodes at most 100×100: more pixels cost time and change nothing.
MAX_SIZE = 100


def _round(value: float) -> int:
    """JavaScript's Math.round (half up), which the format's reference uses."""
    return math.floor(value + 0.5)


def encode(picture: Image.Image) -> bytes:
    """The ThumbHash of `picture` (any mode; shrunk to 100 px on its long side first)."""
    small = picture.convert("RGBA")
    if max(small.size) > MAX_SIZE:
        small.thumbnail((MAX_SIZE, MAX_SIZE), Image.Resampling.BOX)
    rgba = np.asarray(small, dtype=np.float64) / 255.0
    h, w = rgba.shape[:2]
    alpha = rgba[..., 3]
    total_alpha = float(alpha.sum())
    average = (rgba[..., :3] * alpha[..., None]).sum(axis=(0, 1)) / total_alpha if total_alpha else np.zeros(3)
    has_alpha = total_alpha < w * h
    # Composite on the average colour, then split into luminance, yellow-blue and red-green.
    rgb = average * (1.0 - alpha[..., None]) + rgba[..., :3] * alpha[..., None]
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    l_limit = 5 if has_alpha else 7  # fewer luminance terms leave room for alpha's
    lx = max(1, _round(l_limit * w / max(w, h)))
    ly = max(1, _round(l_limit * h / max(w, h)))
    l_dc, l_ac, l_scale = _encode_channel((r + g + b) / 3.0, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _encode_channel((r + g) / 2.0 - b, 3, 3)
    q_dc, q_ac, q_scale = _encode_channel(r - g, 3, 3)
    landscape = w > h
    header24 = (_round(63 * l_dc) | _round(31.5 + 31.5 * p_dc) << 6 | _round(31.5 + 31.5 * q_dc) << 12
                | _round(31 * l_scale) << 18 | int(has_alpha) << 23)
    header16 = (ly if landscape else lx) | _round(63 * p_scale) << 3 | _round(63 * q_scale) << 9 | int(landscape) << 15
    head = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    factors = [*l_ac, *p_ac, *q_ac]
    if has_alpha:
        a_dc, a_ac, a_scale = _encode_channel(alpha, 5, 5)
        head.append(_round(15 * a_dc) | _round(15 * a_scale) << 4)
        factors += a_ac
    nibbles = [_round(15 * factor) for factor in factors] + [0] * (len(factors) % 2)
    return bytes(head + [low | high << 4 for low, high in zip(nibbles[::2], nibbles[1::2], strict=True)])


def _encode_channel(channel: np.ndarray, nx: int, ny: int) -> tuple[float, list[float], float]:
    """DCT terms of one channel: the constant, the varying ones (normalised to 0..1) and their scale."""
    h, w = channel.shape
    xs, ys = np.arange(w) + 0.5, np.arange(h) + 0.5
    dc, ac = 0.0, []
    for cy in range(ny):
        fy = np.cos(math.pi / h * cy * ys)
        cx = 0
        while cx * ny < nx * (ny - cy):  # a triangle of terms: low frequencies only
            f = float(fy @ channel @ np.cos(math.pi / w * cx * xs)) / (w * h)
            if cx or cy:
                ac.append(f)
            else:
                dc = f
            cx += 1
    scale = max((abs(f) for f in ac), default=0.0)
    return dc, [0.5 + 0.5 / scale * f for f in ac] if scale else ac, scale


def average_rgba(thumbhash: bytes) -> tuple[float, float, float, float]:
    """The average colour a hash holds, each part 0..1."""
    header = thumbhash[0] | thumbhash[1] << 8 | thumbhash[2] << 16
    lum = (header & 63) / 63
    p = ((header >> 6) & 63) / 31.5 - 1
    q = ((header >> 12) & 63) / 31.5 - 1
    alpha = (thumbhash[5] & 15) / 15 if header >> 23 else 1.0
    b = lum - 2 / 3 * p
    r = (3 * lum - b + q) / 2
    return (min(1.0, max(0.0, r)), min(1.0, max(0.0, r - q)), min(1.0, max(0.0, b)), alpha)


def aspect_ratio(thumbhash: bytes) -> float:
    """The approximate width / height a hash holds."""
    has_alpha, landscape = thumbhash[2] & 0x80, thumbhash[4] & 0x80
    long_side = 5 if has_alpha else 7
    short_side = thumbhash[3] & 7
    return long_side / short_side if landscape else short_side / long_side
