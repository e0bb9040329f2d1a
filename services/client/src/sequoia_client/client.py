"""The client of Sequoia's REST API: one method per call, typed answers (`sequoia_client.types`),
`ResponseError` for a non-2xx answer. Writes carry an Idempotency-Key, drawn once per call and sent
with each of its retries (`sequoia_client.retries`), so a retried ingest never makes a second item.
The `sequoia` CLI is a thin user of it; so is any ingest pipeline (docs/client.md)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO, cast

import httpx

from sequoia_client.config import ClientConfig
from sequoia_client.errors import ResponseError
from sequoia_client.retries import RetryPolicy, retry_after, should_retry
from sequoia_client.types import (
    Batch,
    CancelResult,
    GalleryLink,
    GenerationStats,
    IngestResult,
    Media,
    RetryResult,
    VoyageStatus,
    WorkerHealth,
)

PUT_CHUNK_BYTES = 1 << 20

# Called with (bytes sent, bytes in all) as an upload's files are read onto the wire; a retry starts over.
Progress = Callable[[int, int], None]


class _CountedFile:
    """A file httpx reads for a multipart body, counting what it read for the progress callback."""

    def __init__(self, file: BinaryIO, report: Callable[[], None]) -> None:
        self._file, self._report, self.position = file, report, 0

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self.position += len(data)
        self._report()
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = self._file.seek(offset, whence)
        return self.position

    def tell(self) -> int:
        return self._file.tell()

    def fileno(self) -> int:  # lets httpx size the body (Content-Length) instead of chunking it
        return self._file.fileno()


class Client:
    """Calls the API with a bearer token; use it as a context manager, or `close()` it."""

    def __init__(self, base_url: str, token: str | None, timeout: float = 120.0,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout, transport=transport)
        self.retry = retry or RetryPolicy()
        self._sleep = sleep

    @classmethod
    def from_config(cls, config: ClientConfig, timeout: float = 120.0) -> Client:
        """A client of `config.api_url` presenting `config.token`."""
        return cls(config.api_url, config.token, timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- one call, with its retries
    def _send(self, method: str, url: str, *, write: bool, idempotency_key: str | None = None,
              files: Callable[[ExitStack], list] | None = None, **kwargs: Any) -> httpx.Response:
        """Send a call, retrying what `retries.should_retry` says (and connection errors); a write sends
        one Idempotency-Key with every try. `files` builds the multipart files afresh for each try."""
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())} if write else {}
        attempt = 0
        while True:
            attempt += 1
            try:
                with ExitStack() as stack:
                    parts = {"files": files(stack)} if files else {}
                    response = self._http.request(method, url, headers=headers, **parts, **kwargs)
            except httpx.TransportError:
                if attempt >= self.retry.max_attempts:
                    raise
                self._sleep(self.retry.delay(attempt, None))
                continue
            if not should_retry(response) or attempt >= self.retry.max_attempts:
                return response
            self._sleep(self.retry.delay(attempt, retry_after(response)))

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"message": response.text}
            raise ResponseError(response.status_code, body if isinstance(body, dict) else {"detail": body})
        return response.json()

    def _get(self, url: str, **params: Any) -> Any:
        return self._json(self._send("GET", url, write=False, params=params or None))

    # -- writes
    def ingest(self, voyage_slug: str, paths: Iterable[Path], *, dedupe: bool = False, priority: str = "live",
               on_progress: Progress | None = None, idempotency_key: str | None = None) -> IngestResult:
        """Upload files in one request; the batch and per-file results (a 415, where no file was
        acceptable, is answered as its per-file results too). `dedupe`: a file whose content the voyage
        already has comes back `duplicate`, with `duplicate_of`. `priority`: `live` or `backfill`, which
        waits behind live work (docs/priorities.md)."""
        paths = list(paths)
        total = sum(p.stat().st_size for p in paths)

        def files(stack: ExitStack) -> list:
            counted: list[_CountedFile] = []

            def report() -> None:
                if on_progress is not None:
                    on_progress(sum(c.position for c in counted), total)

            counted.extend(_CountedFile(stack.enter_context(p.open("rb")), report) for p in paths)
            return [("files", (p.name, c)) for p, c in zip(paths, counted)]

        params = {"priority": priority} | ({"dedupe": "sha256"} if dedupe else {})
        response = self._send("POST", f"/api/voyages/{voyage_slug}/media", write=True, files=files,
                              idempotency_key=idempotency_key, params=params)
        if response.status_code == 415 and isinstance(response.json().get("detail"), dict):
            return cast(IngestResult, response.json()["detail"])
        return cast(IngestResult, self._json(response))

    def register(self, voyage_slug: str, keys: Iterable[str | tuple[str, str | None]], *, priority: str = "live",
                 idempotency_key: str | None = None) -> IngestResult:
        """Register originals already in the bucket (keys under `REGISTER_PREFIXES`, each optionally with a
        file name)."""
        items = [{"key": k} if isinstance(k, str) else {"key": k[0], "filename": k[1]} for k in keys]
        return cast(IngestResult, self._json(self._send(
            "POST", f"/api/voyages/{voyage_slug}/media/register", write=True, json={"items": items},
            params={"priority": priority}, idempotency_key=idempotency_key)))

    def upload_direct(self, voyage_slug: str, path: Path, *, priority: str = "live",
                      on_progress: Progress | None = None) -> IngestResult:
        """Send one (large) original straight to S3 through presigned URLs, then register it: its bytes
        never pass through the API. Single PUT or parts, as the API's ticket says; each PUT is retried
        like a call."""
        size = path.stat().st_size
        ticket = self._json(self._send("POST", f"/api/voyages/{voyage_slug}/uploads", write=True,
                                       json={"filename": path.name, "size_bytes": size}))
        pieces = ([(1, size, ticket["url"])] if ticket["method"] == "single"
                  else [(p["part_number"], p["size_bytes"], p["url"]) for p in ticket["parts"]])
        parts, sent = [], 0
        with path.open("rb") as file, httpx.Client(timeout=self._http.timeout) as s3:
            for number, length, url in pieces:
                etag = self._put(s3, url, file, sent, length)
                parts.append({"part_number": number, "etag": etag})
                sent += length
                if on_progress is not None:
                    on_progress(sent, size)
        return cast(IngestResult, self._json(self._send(
            "POST", f"/api/voyages/{voyage_slug}/uploads/{ticket['upload_id']}/complete", write=True,
            json={"parts": parts if ticket["method"] == "multipart" else []}, params={"priority": priority})))

    def _put(self, s3: httpx.Client, url: str, file: BinaryIO, offset: int, length: int) -> str:
        """PUT `length` bytes of `file` from `offset` to a presigned URL, streamed (no bearer token: S3 is
        not Sequoia), retrying passing faults; the ETag S3 answered."""
        def chunks() -> Iterator[bytes]:
            file.seek(offset)
            left = length
            while left:
                chunk = file.read(min(left, PUT_CHUNK_BYTES))
                if not chunk:
                    raise OSError(f"{file.name} shrank while it was uploaded")
                left -= len(chunk)
                yield chunk

        attempt = 0
        while True:
            attempt += 1
            try:
                response = s3.put(url, content=chunks(), headers={"content-length": str(length)})
            except httpx.TransportError:
                if attempt >= self.retry.max_attempts:
                    raise
                self._sleep(self.retry.delay(attempt, None))
                continue
            if response.status_code < 500 or attempt >= self.retry.max_attempts:
                break
            self._sleep(self.retry.delay(attempt, retry_after(response)))
        if response.status_code != 200:
            raise ResponseError(response.status_code, {"code": "s3_refused", "message": response.text[:500]})
        return response.headers["etag"]

    def delete_media(self, media_id: str, *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Delete an item: work in flight is cancelled, reads forget it at once, its S3 objects follow."""
        return cast(dict[str, Any], self._json(self._send(
            "DELETE", f"/api/media/{media_id}", write=True, idempotency_key=idempotency_key)))

    def delete_voyage(self, voyage_slug: str, *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Delete every item and batch of a voyage, likewise."""
        return cast(dict[str, Any], self._json(self._send(
            "DELETE", f"/api/voyages/{voyage_slug}", write=True, idempotency_key=idempotency_key)))

    def retry_failed(self, *, idempotency_key: str | None = None, **filters: Any) -> RetryResult:
        """Requeue failed items (filters: voyage_slug, media_kind, error_code, limit, dry_run, include_permanent)."""
        body = {k: v for k, v in filters.items() if v is not None}
        return cast(RetryResult, self._json(self._send(
            "POST", "/api/async/retry-failed-thumbnails", write=True, json=body, idempotency_key=idempotency_key)))

    def rerender_stale(self, *, idempotency_key: str | None = None, **filters: Any) -> dict[str, Any]:
        """Render again the items made under other recipe versions than the current ones (filters: voyage_slug,
        media_kind, limit, dry_run)."""
        body = {k: v for k, v in filters.items() if v is not None}
        return cast(dict[str, Any], self._json(self._send(
            "POST", "/api/async/rerender-stale", write=True, json=body, idempotency_key=idempotency_key)))

    def cancel(self, task_id: str, *, idempotency_key: str | None = None) -> CancelResult:
        """Cancel a task."""
        return cast(CancelResult, self._json(self._send(
            "POST", f"/api/async/async-tasks/{task_id}/cancel", write=True, idempotency_key=idempotency_key)))

    # -- reads
    def gallery_link(self, voyage_slug: str) -> GalleryLink:
        """A signed, read-only, expiring link to the voyage's gallery."""
        return cast(GalleryLink, self._get(f"/api/voyages/{voyage_slug}/gallery-link"))

    def batch(self, batch_id: str) -> Batch:
        """A batch's status and items."""
        return cast(Batch, self._get(f"/api/batches/{batch_id}"))

    def media(self, media_id: str) -> Media:
        """One media item in full."""
        return cast(Media, self._get(f"/api/media/{media_id}"))

    def derivative_url(self, media_id: str, name: str) -> str:
        """A fresh presigned URL of one derivative (where its stable link redirects)."""
        response = self._send("GET", f"/api/media/{media_id}/derivatives/{name}", write=False)
        if response.status_code != 302:
            self._json(response)
            raise ResponseError(response.status_code, {"code": "unexpected_answer", "message": "no redirect"})
        return response.headers["location"]

    def voyage_status(self, voyage_slug: str) -> VoyageStatus:
        """Counts, progress, failures and batches of a voyage."""
        return cast(VoyageStatus, self._get(f"/api/async/media-processing-status/{voyage_slug}"))

    def stats(self, window: str) -> GenerationStats:
        """Generation statistics over a window."""
        return cast(GenerationStats, self._get("/api/async/thumbnail-generation-stats", window=window))

    def worker_health(self) -> tuple[int, WorkerHealth]:
        """Worker health and its HTTP status (503 means unhealthy, and still has a body, so it is not retried)."""
        response = self._http.get("/api/async/worker-health")
        if response.status_code == 503:
            return 503, cast(WorkerHealth, response.json())
        return response.status_code, cast(WorkerHealth, self._json(response))
