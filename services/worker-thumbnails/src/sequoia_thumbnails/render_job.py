"""One render as the worker asks for it: the request it sends to the sandbox, and its checks on the
JSON that comes back (the job itself runs `render_entry.render` inside the render server).

The worker trusts nothing in the answer: each derivative must be a regular file directly made
inside the job's own output folder (no symbolic link out of it, no hard link to a file elsewhere),
with a known name and format, before it is uploaded; the ThumbHash must be a short base64 string.
"""

from __future__ import annotations

import base64
import binascii
import functools
import stat
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sequoia_core.errors import ErrorCode, PermanentError
from sequoia_core.mediatypes import MediaFormat
from sequoia_core.recipes import RESERVED_NAMES
from sequoia_thumbnails.renderers.base import CONTENT_TYPES, Derivative, RenderResult, RenderSpec

# Named, not imported: the worker process never loads the decoders, the render server does.
TARGET = "sequoia_thumbnails.render_entry:render"
# A ThumbHash is 5 to about 25 bytes (header and at most 40 four-bit factors).
THUMBHASH_BYTES = range(5, 33)


def request(source: Path, fmt: MediaFormat, out_dir: Path, spec: RenderSpec) -> dict[str, Any]:
    """The JSON payload asking for `source` (sniffed as `fmt`) to be rendered into `out_dir`. Paths are
    absolute: the render server does not run in the caller's working directory."""
    return {"source": str(source.absolute()), "format": fmt.name, "out_dir": str(out_dir.absolute()),
            "spec": _spec_fields(spec)}


@functools.lru_cache(maxsize=4)
def _spec_fields(spec: RenderSpec) -> dict[str, Any]:
    """The spec as JSON-ready fields, made once per spec (0.09 ms a job), only ever read."""
    return asdict(spec)


def result_from_json(answer: Any, out_dir: Path, spec: RenderSpec) -> RenderResult:
    """The `RenderResult` a job described, each file checked to be the job's own output, named after
    one of the spec's recipes or the audio engine's files."""
    names = RESERVED_NAMES | {recipe.name for recipe in spec.recipes}
    try:
        derivatives = [_derivative(item, out_dir.resolve(), names) for item in answer["derivatives"]]
        metadata = answer["metadata"]
        if not isinstance(metadata, dict):
            raise TypeError("metadata is not an object")
        placeholder = _thumbhash(answer.get("thumbhash"))
    except (KeyError, TypeError, ValueError, OSError, binascii.Error) as err:
        raise _refused(f"malformed answer ({err})") from None
    return RenderResult(derivatives, metadata, placeholder)


def _thumbhash(value: Any) -> bytes | None:
    if value is None:
        return None
    decoded = base64.b64decode(value, validate=True)
    if len(decoded) not in THUMBHASH_BYTES:
        raise ValueError(f"a {len(decoded)}-byte ThumbHash")
    return decoded


def _derivative(item: dict[str, Any], root: Path, names: frozenset[str]) -> Derivative:
    if item["name"] not in names or item["format"] not in CONTENT_TYPES:
        raise _refused(f"unknown derivative {item['name']!r} ({item['format']!r})")
    path = Path(item["path"])
    if path.parent.resolve() != root:
        raise _refused(f"{path} is outside the job's folder")
    own = root / path.name
    info = own.lstat()
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        raise _refused(f"{path} is not a plain file of the job's own")
    size = (item["width"], item["height"])
    if any(value is not None and (not isinstance(value, int) or value < 1) for value in size):
        raise _refused(f"{path} has a nonsensical size {size}")
    return Derivative(name=item["name"], path=own, width=size[0], height=size[1], format=item["format"])


def _refused(reason: str) -> PermanentError:
    return PermanentError(f"the renderer's answer was refused: {reason}", code=ErrorCode.RENDER_CRASHED)
