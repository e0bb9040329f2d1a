"""The engine: sniff a file, pick its renderer, render it in the sandbox. Shared by the worker
and `sequoia-render`."""

from __future__ import annotations

import logging
from pathlib import Path

from sequoia_core.errors import ErrorCode, PermanentError
from sequoia_core.mediatypes import SNIFF_BYTES, MediaFormat, MediaKind, identify
from sequoia_thumbnails import render_job, sandbox
from sequoia_thumbnails.renderers.base import Renderer, RenderResult, RenderSpec

log = logging.getLogger(__name__)


def _load_renderers(spec: RenderSpec) -> dict[MediaKind, Renderer]:
    # Imported here, not at the top: a worker process renders through the sandbox and must not load
    # the decoders (about 70 MB a process); only the render server and in-process callers do.
    from sequoia_thumbnails.renderers.registry import registry

    return registry(spec)


class Engine:
    """Renders local files into derivatives, refusing what is not allowed.

    Each render runs in the sandbox (`isolate=True`, the default): a job forked by the render server,
    which holds the loaded renderers and none of the worker's secrets, under the spec's limits.
    """

    def __init__(self, spec: RenderSpec, *, isolate: bool = True) -> None:
        self.spec = spec
        self.isolate = isolate
        self._renderers = {} if isolate else _load_renderers(spec)

    def identify(self, source: Path, filename_hint: str | None = None) -> MediaFormat:
        """The allowed format of `source` by its content; the file name is only a hint."""
        size = source.stat().st_size
        if size > self.spec.max_file_bytes:
            raise PermanentError(
                f"{size} bytes is over the limit of {self.spec.max_file_bytes}", code=ErrorCode.FILE_TOO_LARGE
            )
        with source.open("rb") as stream:
            header = stream.read(SNIFF_BYTES)
        return identify(header, filename_hint)

    def render(self, source: Path, out_dir: Path, filename_hint: str | None = None) -> tuple[MediaFormat, RenderResult]:
        """Identify `source` and render its derivatives into `out_dir`."""
        fmt = self.identify(source, filename_hint)
        out_dir.mkdir(parents=True, exist_ok=True)
        if not self.isolate:
            return fmt, self._renderers[fmt.kind].render(source, fmt, out_dir)
        try:
            answer = sandbox.run(render_job.TARGET, render_job.request(source, fmt, out_dir, self.spec),
                                 timeout=self.spec.time_limit_seconds, memory_bytes=self.spec.memory_limit_bytes)
        except PermanentError as err:
            if err.code != ErrorCode.INTERNAL:
                raise
            # An unforeseen error inside a renderer: the traceback goes to the log, one line to the item.
            log.error("the %s renderer failed on %s: %s", fmt.kind, source, err.message)
            raise PermanentError(err.message.splitlines()[0], code=ErrorCode.INTERNAL) from None
        return fmt, render_job.result_from_json(answer, out_dir, self.spec)
