"""The client of Sequoia's REST API: one method per call, JSON in and out, `ResponseError` for a
non-2xx answer. The `sequoia` CLI is a thin user of it; so can scripts be."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from sequoia_client.config import ClientConfig
from sequoia_client.errors import ResponseError


class Client:
    """Calls the API with a bearer token; use it as a context manager, or `close()` it."""

    def __init__(self, base_url: str, token: str | None, timeout: float = 120.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)

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

    def _json(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"message": response.text}
            raise ResponseError(response.status_code, body if isinstance(body, dict) else {"detail": body})
        return response.json()

    def ingest(self, voyage_slug: str, paths: Iterable[Path]) -> dict[str, Any]:
        """Upload files in one request; returns the batch and per-file results."""
        with ExitStack() as stack:
            files = [("files", (p.name, stack.enter_context(p.open("rb")))) for p in paths]
            response = self._http.post(f"/api/voyages/{voyage_slug}/media", files=files)
        if response.status_code == 415:
            return response.json().get("detail") or self._json(response)
        return self._json(response)

    def gallery_link(self, voyage_slug: str) -> dict[str, Any]:
        """A signed, read-only, expiring link to the voyage's gallery."""
        return self._json(self._http.get(f"/api/voyages/{voyage_slug}/gallery-link"))

    def batch(self, batch_id: str) -> dict[str, Any]:
        """A batch's status and items."""
        return self._json(self._http.get(f"/api/batches/{batch_id}"))

    def media(self, media_id: str) -> dict[str, Any]:
        """One media item in full."""
        return self._json(self._http.get(f"/api/media/{media_id}"))

    def voyage_status(self, voyage_slug: str) -> dict[str, Any]:
        """Counts, progress, failures and batches of a voyage."""
        return self._json(self._http.get(f"/api/async/media-processing-status/{voyage_slug}"))

    def stats(self, window: str) -> dict[str, Any]:
        """Generation statistics over a window."""
        return self._json(self._http.get("/api/async/thumbnail-generation-stats", params={"window": window}))

    def retry_failed(self, **filters: Any) -> dict[str, Any]:
        """Requeue failed items."""
        body = {k: v for k, v in filters.items() if v is not None}
        return self._json(self._http.post("/api/async/retry-failed-thumbnails", json=body))

    def cancel(self, task_id: str) -> dict[str, Any]:
        """Cancel a task."""
        return self._json(self._http.post(f"/api/async/async-tasks/{task_id}/cancel"))

    def worker_health(self) -> tuple[int, dict[str, Any]]:
        """Worker health and its HTTP status (503 means unhealthy, and still has a body)."""
        response = self._http.get("/api/async/worker-health")
        if response.status_code == 503:
            return 503, response.json()
        return response.status_code, self._json(response)
