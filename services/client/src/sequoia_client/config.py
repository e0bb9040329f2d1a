"""Where the API is and which token to present, from the environment or `.env`, read the way the
services read them (the environment wins over `.env`), without importing any server package."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

DEFAULT_API_URL = "http://127.0.0.1:8000"


def _token(env: Mapping[str, str | None]) -> str | None:
    """The first write token (`SEQUOIA_API_TOKENS`, then `SEQUOIA_API_TOKEN`), without its `@voyages`."""
    entries = [t.strip() for t in (env.get("SEQUOIA_API_TOKENS") or "").split(",")]
    entries.append(env.get("SEQUOIA_API_TOKEN") or "")
    return next((e.partition("@")[0] for e in entries if e), None)


@dataclass(frozen=True)
class ClientConfig:
    """The API's base URL and the bearer token to send (None: none configured)."""

    api_url: str = DEFAULT_API_URL
    token: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> ClientConfig:
        """`SEQUOIA_API_URL` and the first write token, from `environ` (the process's) over `env_file`."""
        file_values = dotenv_values(env_file) if env_file is not None and env_file.is_file() else {}
        env = {**{k.upper(): v for k, v in file_values.items()},
               **{k.upper(): v for k, v in (os.environ if environ is None else environ).items()}}
        return cls(api_url=env.get("SEQUOIA_API_URL") or DEFAULT_API_URL, token=_token(env))
