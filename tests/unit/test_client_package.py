"""The `sequoia_client` distribution stands alone: importing it (client and CLI) loads no server
package, so installing the CLI never pulls in the server; and it finds its URL and token as the
services do."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from sequoia_client.config import DEFAULT_API_URL, ClientConfig

SERVER_PACKAGES = ("fastapi", "starlette", "uvicorn", "celery", "kombu", "psycopg", "boto3", "pydantic_settings",
                   "sequoia_core", "sequoia_api")


def test_importing_the_client_and_its_cli_loads_no_server_package():
    probe = "import json, sys, sequoia_client, sequoia_client.cli; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    loaded = {name.partition(".")[0] for name in json.loads(done.stdout)}
    assert "httpx" in loaded, "the probe really imported the client"
    assert loaded.isdisjoint(SERVER_PACKAGES), sorted(loaded & set(SERVER_PACKAGES))


def test_installing_the_client_pulls_in_no_server_package():
    lock = tomllib.loads((Path(__file__).parents[2] / "uv.lock").read_text())
    requires = {p["name"]: [d["name"] for d in p.get("dependencies", [])] for p in lock["package"]}
    installed, todo = set(), ["sequoia-client"]
    while todo:
        name = todo.pop()
        if name not in installed:
            installed.add(name)
            todo.extend(requires[name])

    assert "httpx" in installed
    server = {"sequoia-core", "sequoia-api", "fastapi", "starlette", "uvicorn", "celery", "kombu", "psycopg", "boto3"}
    assert installed.isdisjoint(server), sorted(installed & server)


def test_the_cli_presents_the_bare_first_write_token():
    assert ClientConfig.from_env({"SEQUOIA_API_TOKENS": "w@alpha, x", "SEQUOIA_API_TOKEN": "y"}, None).token == "w"
    assert ClientConfig.from_env({"SEQUOIA_API_TOKEN": "y@beta"}, None).token == "y"
    assert ClientConfig.from_env({}, None) == ClientConfig(api_url=DEFAULT_API_URL, token=None)


def test_the_environment_wins_over_dot_env(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("SEQUOIA_API_TOKEN=from-file\nSEQUOIA_API_URL=http://file:1\n")

    assert ClientConfig.from_env({}, env_file) == ClientConfig("http://file:1", "from-file")
    assert ClientConfig.from_env({"SEQUOIA_API_URL": "http://env:2"}, env_file).api_url == "http://env:2"
