"""Media kinds and the allow-list of formats, decided by content sniffing (the extension is a hint)."""

from __future__ import annotations

import types
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath

import puremagic
from puremagic import main as _puremagic

from sequoia_core.errors import ErrorCode, PermanentError

SNIFF_BYTES = 8192


class MediaKind(StrEnum):
    """What a media item is, and so which derivatives it gets."""

    IMAGE = "image"
    PDF = "pdf"
    VIDEO = "video"
    AUDIO = "audio"


@dataclass(frozen=True)
class MediaFormat:
    """One allowed container format: its kind, MIME type, extensions and ffmpeg demuxer."""

    name: str
    kind: MediaKind
    mime: str
    extensions: tuple[str, ...]
    demuxer: str | None = None

    @property
    def extension(self) -> str:
        """The canonical extension, used for the original's S3 key."""
        return self.extensions[0]


ALLOWED_FORMATS: tuple[MediaFormat, ...] = (
    MediaFormat("jpeg", MediaKind.IMAGE, "image/jpeg", ("jpg", "jpeg", "jpe", "jfif")),
    MediaFormat("png", MediaKind.IMAGE, "image/png", ("png",)),
    MediaFormat("webp", MediaKind.IMAGE, "image/webp", ("webp",)),
    MediaFormat("gif", MediaKind.IMAGE, "image/gif", ("gif",)),
    MediaFormat("tiff", MediaKind.IMAGE, "image/tiff", ("tiff", "tif")),
    # HEIF (phones' HEIC) and AVIF: ISO base media files told from video by their `ftyp` brands.
    MediaFormat("heif", MediaKind.IMAGE, "image/heif", ("heic", "heif", "hif")),
    MediaFormat("avif", MediaKind.IMAGE, "image/avif", ("avif",)),
    MediaFormat("pdf", MediaKind.PDF, "application/pdf", ("pdf",)),
    MediaFormat("mp4", MediaKind.VIDEO, "video/mp4", ("mp4", "m4v"), demuxer="mov"),
    MediaFormat("mov", MediaKind.VIDEO, "video/quicktime", ("mov", "qt"), demuxer="mov"),
    MediaFormat("avi", MediaKind.VIDEO, "video/x-msvideo", ("avi",), demuxer="avi"),
    MediaFormat("mkv", MediaKind.VIDEO, "video/x-matroska", ("mkv", "webm"), demuxer="matroska"),
    MediaFormat("mp3", MediaKind.AUDIO, "audio/mpeg", ("mp3",), demuxer="mp3"),
    MediaFormat("wav", MediaKind.AUDIO, "audio/wav", ("wav", "wave"), demuxer="wav"),
    MediaFormat("aac", MediaKind.AUDIO, "audio/aac", ("aac",), demuxer="aac"),
    MediaFormat("ogg", MediaKind.AUDIO, "audio/ogg", ("ogg", "oga", "opus"), demuxer="ogg"),
    # AAC in an MPEG-4 container (iTunes, phones): told from a video by its `ftyp` brand.
    MediaFormat("m4a", MediaKind.AUDIO, "audio/mp4", ("m4a",), demuxer="mov"),
)

_BY_EXTENSION = {ext: fmt for fmt in ALLOWED_FORMATS for ext in fmt.extensions}
# puremagic names some containers by a sibling extension.
# An MP3 without an ID3 tag is `mpga` (a bare MPEG audio frame header).
_EXTENSION_ALIASES = {"3gp": "mov", "jpe": "jpg", "jfif": "jpg", "mpga": "mp3", "ogv": "ogg"}
# `ftyp` major brands of audio-only MPEG-4 files.
_AUDIO_BRANDS = (b"M4A ", b"M4B ", b"M4P ", b"F4A ")
# `ftyp` brands of still (or sequence) HEIF images; `mif1`/`msf1` are generic and say AVIF by
# listing `avif`/`avis` among their compatible brands.
_AVIF_BRANDS = (b"avif", b"avis")
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
# BigTIFF (64-bit offsets), which puremagic does not know.
_BIGTIFF_SIGNATURES = (b"II+\x00", b"MM\x00+")


def _mp4_brand(header: bytes) -> bytes | None:
    """The major brand of an ISO base media file (`....ftypBRND`), if `header` starts like one."""
    if len(header) >= 12 and header[4:8] == b"ftyp":
        return header[8:12]
    return None


def _compatible_brands(header: bytes) -> list[bytes]:
    """The compatible brands listed in the `ftyp` box at the start of `header`."""
    size = int.from_bytes(header[:4], "big")
    box = header[16:min(size, len(header))]
    return [box[i:i + 4] for i in range(0, len(box) - 3, 4)]


def _image_format(header: bytes) -> MediaFormat | None:
    """`tiff` for a BigTIFF, `avif` or `heif` when the `ftyp` box names a HEIF image brand; None
    for anything else."""
    if header[:4] in _BIGTIFF_SIGNATURES:
        return _BY_EXTENSION["tiff"]
    brand = _mp4_brand(header)
    if brand in _AVIF_BRANDS:
        return _BY_EXTENSION["avif"]
    if brand not in _HEIF_BRANDS:
        return None
    if any(compatible in _AVIF_BRANDS for compatible in _compatible_brands(header)):
        return _BY_EXTENSION["avif"]
    return _BY_EXTENSION["heif"]


def _allowed_or_multi_part(row: _puremagic.PureMagic) -> bool:
    ext = row.extension.lstrip(".").lower()
    return _EXTENSION_ALIASES.get(ext, ext) in _BY_EXTENSION or row.byte_match in _puremagic.multi_part_dict


# puremagic's matcher walks all of its signatures (1,437: 0.6 ms a file, in the API and again in the
# worker), and `sniff` takes the first match, by confidence, of an allowed format: a match of another
# format is never taken and never reorders those that are (the sort is stable). So the same matcher,
# puremagic's own code, runs over the signatures of allowed formats (and those that open a multi-part
# signature, whatever theirs): 140 of them, the same answer (tests/unit/test_mediatypes.py).
_identify_allowed = types.FunctionType(_puremagic._identify_all.__code__, {
    **vars(_puremagic),
    "magic_header_array": [row for row in _puremagic.magic_header_array if _allowed_or_multi_part(row)],
    "magic_footer_array": [row for row in _puremagic.magic_footer_array if _allowed_or_multi_part(row)],
}, "_identify_allowed", _puremagic._identify_all.__defaults__)


def _matches(header: bytes) -> list[_puremagic.PureMagicWithConfidence]:
    """What `puremagic.magic_string(header)` finds among the allowed formats, highest confidence first."""
    try:
        matches = _identify_allowed(*_puremagic._string_details(header))
    except puremagic.PureError:
        return []
    return sorted(matches, key=lambda m: m.confidence, reverse=True)


def sniff(header: bytes) -> MediaFormat:
    """The allowed format of content starting with `header`; `PermanentError` for anything else."""
    if not header:
        raise PermanentError("the file is empty", code=ErrorCode.EMPTY_FILE)
    matches = _matches(header)
    if _mp4_brand(header) in _AUDIO_BRANDS:
        return _BY_EXTENSION["m4a"]
    image = _image_format(header)
    if image is not None:
        return image
    for match in sorted(matches, key=lambda m: -m.confidence):
        ext = match.extension.lstrip(".").lower()
        fmt = _BY_EXTENSION.get(_EXTENSION_ALIASES.get(ext, ext))
        if fmt is not None:
            return fmt
    raise PermanentError(
        "the content is not an allowed image, PDF, video or audio format",
        code=ErrorCode.UNSUPPORTED_TYPE,
    )


def check_name_hint(fmt: MediaFormat, filename: str | None) -> None:
    """Refuse a file whose extension names another media kind than its content (`type_mismatch`).

    A PNG named `.jpg` passes (same kind, a common mislabel); MP3 bytes named `.jpg` do not.
    """
    if not filename:
        return
    ext = PurePath(filename).suffix.lstrip(".").lower()
    hinted = _BY_EXTENSION.get(ext)
    if hinted is not None and hinted.kind != fmt.kind:
        raise PermanentError(
            f"the name says {hinted.kind} (.{ext}) but the content is {fmt.kind} ({fmt.name})",
            code=ErrorCode.TYPE_MISMATCH,
        )


def identify(header: bytes, filename: str | None = None) -> MediaFormat:
    """Sniff `header` and check it against the file name's hint."""
    fmt = sniff(header)
    check_name_hint(fmt, filename)
    return fmt


def format_named(name: str) -> MediaFormat:
    """The allowed format called `name` (as stored on a media row)."""
    for fmt in ALLOWED_FORMATS:
        if fmt.name == name:
            return fmt
    raise KeyError(name)
