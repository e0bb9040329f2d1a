"""PDF thumbnails: page 1 rendered by MuPDF straight at the thumbnail's scale.

Opening a PDF reads its cross-reference table, not its pages, and the page is rasterised at the
zoom that gives a 320 px long edge, so neither the page count nor the page's nominal size changes
the cost. Before drawing, page 1's compressed streams are inflated into a counter (not into
memory) up to a limit, so a stream that inflates to gigabytes fails fast.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path
from typing import Any

import fitz
from PIL import Image

from sequoia_core.errors import ErrorCode, PermanentError
from sequoia_core.mediatypes import MediaFormat, MediaKind
from sequoia_thumbnails.renderers import pictures
from sequoia_thumbnails.renderers.base import RenderResult, RenderSpec

_INFLATE_STEP = 1 << 20
_FLATE = "/FlateDecode"


class PdfRenderer:
    """Thumbnail (long edge 320) of a PDF's first page."""

    kinds = frozenset({MediaKind.PDF})

    def __init__(self, spec: RenderSpec) -> None:
        self.spec = spec
        # MuPDF prints repairs and warnings to stderr; the outcome is what we report.
        fitz.TOOLS.mupdf_display_errors(False)
        fitz.TOOLS.mupdf_display_warnings(False)

    def render(self, source: Path, fmt: MediaFormat, out_dir: Path) -> RenderResult:
        """Open the document, check page 1 and rasterise it at the thumbnail's scale."""
        try:
            document = fitz.open(source, filetype="pdf")
        except (fitz.FileDataError, fitz.EmptyFileError, RuntimeError, ValueError) as err:
            raise PermanentError(f"cannot open PDF: {err}", code=ErrorCode.CORRUPT_FILE) from err
        with document:
            # A PDF with only an owner password opens without one (needs_pass is False).
            if document.needs_pass:
                raise PermanentError("the PDF needs a password to open", code=ErrorCode.ENCRYPTED_PDF)
            try:
                return self._render_first_page(document, out_dir)
            except (RuntimeError, ValueError, IndexError) as err:  # MuPDF's errors are RuntimeErrors
                raise PermanentError(f"cannot render PDF: {err}", code=ErrorCode.CORRUPT_FILE) from err

    def _render_first_page(self, document: fitz.Document, out_dir: Path) -> RenderResult:
        if document.page_count < 1:
            raise PermanentError("the PDF has no page", code=ErrorCode.CORRUPT_FILE)
        _walk_to_pages_only(document)
        page = document.load_page(0)
        _check_streams(document, page, self.spec)
        rect = page.rect  # already turned by the page's /Rotate
        width, height = rect.width, rect.height
        if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
            raise PermanentError(f"page 1 has no area ({width}×{height} pt)", code=ErrorCode.CORRUPT_FILE)
        pixmap = page.get_pixmap(matrix=_page_matrix(width, height, self.spec.largest_edge(MediaKind.PDF)),
                                 colorspace=fitz.csRGB, alpha=False, annots=True)
        image = Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)
        result = pictures.derive(image, self.spec.recipes_for(MediaKind.PDF), out_dir)
        result.metadata = {
            "pages": document.page_count,
            "page_width_pt": round(width, 2),
            "page_height_pt": round(height, 2),
            "rotation": page.rotation,
            "encrypted": bool(document.is_encrypted),
        }
        return result


def colour_sample() -> bytes:
    """A one-page PDF with text and grey, RGB and CMYK fills. The render server renders it once
    before forking jobs: MuPDF then holds the colour transforms to sRGB (lcms2 links, which cost a
    fresh job about 5 ms each PDF) and every job inherits them."""
    document = fitz.open()
    page = document.new_page(width=200, height=200)
    for index, colour in enumerate(((0.5,), (0.9, 0.1, 0.1), (0.1, 0.2, 0.3, 0.1))):
        page.draw_rect(fitz.Rect(10 + 60 * index, 10, 60 + 60 * index, 60), color=None, fill=colour)
    page.insert_text((10, 120), "Sequoia", fontsize=24)
    return document.tobytes()


def _walk_to_pages_only(document: fitz.Document) -> None:
    """Make MuPDF find page 1 by walking the page tree to it, not by first mapping every page.

    On its first page lookup MuPDF builds a map of all pages (about 6 µs a page: 17 ms for 3,000,
    half a second for 100,000). With the map marked unavailable it takes its own fallback path,
    the walk it uses for a broken page tree, which touches only the nodes above page 1. Where the
    binding does not expose the flag, the lookup is just slower.
    """
    try:
        fitz.mupdf.pdf_document_from_fz_document(document.this).m_internal.page_tree_broken = 1
    except (AttributeError, TypeError, RuntimeError):
        pass


def _page_matrix(width: float, height: float, long_edge: int) -> fitz.Matrix:
    """Zoom to `long_edge` px on the long side; the page-size clamp: a sliver of a page (1 × 10⁶ pt)
    still gets at least one pixel across, and a vast page never more than `long_edge`."""
    zoom = long_edge / max(width, height)
    return fitz.Matrix(max(zoom, 1.0 / width), max(zoom, 1.0 / height))


def _check_streams(document: fitz.Document, page: fitz.Page, spec: RenderSpec) -> None:
    """Refuse page 1 if a content stream inflates past the limit or an image is over the pixel limit."""
    xrefs = list(page.get_contents())
    xrefs += [xref for xref, *_ in page.get_xobjects()]
    budget = spec.max_pdf_stream_bytes
    for xref in xrefs:
        budget -= _inflated_size(document, xref, budget)
        if budget < 0:
            raise PermanentError(
                f"page 1's streams inflate to more than {spec.max_pdf_stream_bytes} bytes",
                code=ErrorCode.CONTENT_TOO_LARGE,
            )
    for image in page.get_images(full=True):
        width, height = image[2], image[3]
        if width * height > spec.max_image_pixels:
            raise PermanentError(
                f"page 1 holds a {width}×{height} image, over the limit of {spec.max_image_pixels} pixels",
                code=ErrorCode.IMAGE_TOO_LARGE,
            )


def _inflated_size(document: fitz.Document, xref: int, limit: int) -> int:
    """Bytes the Flate stream `xref` inflates to, counted up to just past `limit` (0 if not Flate)."""
    kind, value = document.xref_get_key(xref, "Filter")
    if kind not in ("name", "array") or value.strip("[]").split() != [_FLATE]:
        return 0  # MuPDF streams other filters; the render's time limit bounds them
    pending = document.xref_stream_raw(xref) or b""
    inflater = zlib.decompressobj()
    total = 0
    try:
        while pending and total <= limit and not inflater.eof:
            total += len(inflater.decompress(pending, _INFLATE_STEP))
            pending = inflater.unconsumed_tail
    except zlib.error:
        pass  # MuPDF repairs or skips a broken stream
    return total
