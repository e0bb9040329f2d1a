"""Small factories of test media, made in memory."""

from __future__ import annotations

import io

from PIL import Image


def jpeg_bytes(width: int = 1600, height: int = 1200, color: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    """A JPEG with a gradient, so derivatives are not blank."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    overlay = Image.new("RGB", (width, height), color)
    buffer = io.BytesIO()
    Image.blend(image, overlay, 0.5).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def png_bytes(width: int = 400, height: int = 300, mode: str = "RGBA") -> bytes:
    """A PNG, with alpha by default."""
    buffer = io.BytesIO()
    Image.new(mode, (width, height), (200, 10, 10, 128) if mode == "RGBA" else 128).save(buffer, format="PNG")
    return buffer.getvalue()


def truncated_jpeg() -> bytes:
    """A JPEG cut off after its headers: sniffs as JPEG, cannot be decoded."""
    return jpeg_bytes()[:600]


def html_page() -> bytes:
    """Not media at all."""
    return b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
