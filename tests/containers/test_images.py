"""The four images, built here with Podman from a local Debian base, run against this machine's Redis,
Postgres and a SeaweedFS: one file of each media kind goes in through the containerised API and every
derivative comes out. Heavy (minutes): `make test-containers`."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from scripts.devstack.seaweed import free_port
from sequoia_core.db.migrate import ensure_database
from tests.containers import podman
from tests.containers.media import codec_samples, sample_files
from tests.support import services
from tests.support.tools import require_binary

pytestmark = pytest.mark.timeout(3600)
API_IMAGE_LIMIT = 250 * 1000**2
# KEDA starts thumbnails workers from zero: the pull is latency a user waits for (docs/kubernetes.md).
THUMBNAILS_IMAGE_LIMIT = 450 * 1000**2
TOKEN = "container-test-" + secrets.token_hex(8)


def _redis_url() -> str:
    # db 13: neither the local stack (0), the integration tests' workers (15) nor the chart test (14)
    # consume it, so no other worker takes these containers' tasks.
    return services.redis_db_url(13)


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    require_binary("podman", "podman runc")
    if podman.podman("image", "exists", podman.BASE_IMAGE, check=False).returncode:
        require_binary("debootstrap", "debootstrap")
    built = podman.build_images("test")
    for name, image in built.items():
        print(f"\nimage {image}: {podman.image_size(image) / 1000**2:.0f} MB")
    return built


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Iterator[dict[str, str]]:
    """Settings of every container: a fresh database (migrated by the API image), Redis db 13, a bucket."""
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    database_url = psycopg.conninfo.make_conninfo(base, dbname=f"sequoia_ct_{secrets.token_hex(4)}")
    ensure_database(database_url)
    services.purge_queues(_redis_url())
    try:
        with services.s3_target(tmp_path_factory.mktemp("containers")) as s3:
            yield {**services.service_env(database_url, _redis_url(), s3), "SEQUOIA_API_TOKEN": TOKEN,
                   "MIGRATIONS_DIR": "/app/migrations", "WORKER_CONCURRENCY": "1", "LOG_LEVEL": "info"}
    finally:
        with psycopg.connect(psycopg.conninfo.make_conninfo(base, dbname="postgres"), autocommit=True) as conn:
            name = psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def stack(images, env) -> Iterator[dict[str, str]]:
    """Migrations, then API, both workers, beat and Flower, each in its own container."""
    migrate = podman.run(images["api"], f"sequoia-ct-migrate-{secrets.token_hex(3)}", env, ["sequoia-migrate"],
                         detach=False)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    ports = {name: free_port() for name in ("api", "flower", "thumbs_metrics", "media_metrics", "queue_metrics")}
    suffix = secrets.token_hex(3)
    specs = {
        "api": (images["api"], {}, ["uvicorn", "--factory", "sequoia_api.main:create_app", "--host", "127.0.0.1",
                                    "--port", str(ports["api"]), "--http",
                                    "sequoia_api.http_protocol:HttpToolsProtocol"]),
        "thumbnails": (images["worker-thumbnails"], {"METRICS_PORT": str(ports["thumbs_metrics"])}, None),
        "media": (images["worker-media"], {"METRICS_PORT": str(ports["media_metrics"])}, None),
        "beat": (images["worker-media"], {"QUEUE_METRICS_PORT": str(ports["queue_metrics"])},
                 ["celery", "-A", "sequoia_media.worker", "beat", "--schedule", "/tmp/celerybeat-schedule"]),
        "flower": (images["flower"], {"FLOWER_PASSWORD": "flower-" + suffix}, [f"--port={ports['flower']}"]),
    }
    containers = {}
    try:
        for name, (image, extra, command) in specs.items():
            containers[name] = podman.run(image, f"sequoia-ct-{name}-{suffix}", {**env, **extra}, command)
        yield {"api": f"http://127.0.0.1:{ports['api']}", "flower": f"http://127.0.0.1:{ports['flower']}",
               "flower_password": "flower-" + suffix, "thumbs_metrics": f"http://127.0.0.1:{ports['thumbs_metrics']}"}
    finally:
        for name, container in containers.items():
            print(f"\n--- {name} logs (tail) ---\n{container.logs()[-2500:]}")
            container.remove()


def test_api_image_stays_small(images):
    size = podman.image_size(images["api"])

    assert size < API_IMAGE_LIMIT, f"API image is {size / 1000**2:.0f} MB"


def test_api_image_has_no_ffmpeg_or_renderer_libraries(images, env):
    probe = podman.run(images["api"], f"sequoia-ct-probe-{secrets.token_hex(3)}", env, [
        "python", "-c", "import importlib.util as u, shutil; "
        "print([m for m in ('librosa', 'matplotlib', 'fitz', 'PIL', 'sequoia_thumbnails') if u.find_spec(m)], "
        "shutil.which('ffmpeg'))"], detach=False)

    assert probe.stdout.strip() == "[] None", probe.stdout + probe.stderr


def test_thumbnails_image_stays_within_its_size_budget(images):
    size = podman.image_size(images["worker-thumbnails"])

    assert size <= THUMBNAILS_IMAGE_LIMIT, f"thumbnails worker image is {size / 1000**2:.0f} MB"


def test_thumbnails_image_renders_every_media_kind_and_codec(images, env, tmp_path):
    """The image's own ffmpeg, libvips, Pillow (pi-heif for HEIC) and PyMuPDF, through the sandbox
    as the worker renders: a JPEG, a HEIC, a PDF, and video and audio in each codec family we take."""
    require_binary("heif-enc", "libheif-examples")
    samples = tmp_path / "samples"
    samples.mkdir()
    files = {**sample_files(samples), **codec_samples(samples)}
    samples.chmod(0o755)
    for path in samples.iterdir():
        path.chmod(0o644)

    command = ["sequoia-render", "--json", "--out", "/tmp/out", *(f"/samples/{p.name}" for p in files.values())]
    done = podman.run(images["worker-thumbnails"], f"sequoia-ct-kinds-{secrets.token_hex(3)}", env, command,
                      detach=False, read_only={samples: "/samples"})

    lines = {Path(line["source"]).name: line for line in map(json.loads, done.stdout.splitlines())}
    rendered = {name: (lines[path.name]["kind"], lines[path.name]["error"], bool(lines[path.name]["derivatives"]))
                for name, path in files.items()}
    expected_kind = {"heic": "image"}
    assert rendered == {name: (expected_kind.get(name, name.split("_")[0]), None, True) for name in files}, \
        done.stdout + done.stderr


def test_thumbnails_image_renders_webp_png_and_tiff_with_libvips(images, env):
    # The default engine (auto) must pick libvips for these formats; a picture made in the container's
    # tmpfs, as the root filesystem is read-only.
    script = ("python -c \"from PIL import Image; from sequoia_thumbnails.renderers import image; "
              "assert image.pyvips is not None, 'no libvips'; picture = Image.new('RGB', (1600, 1200), 'teal'); "
              "picture.save('/tmp/sea.webp'); picture.save('/tmp/sea.png'); picture.save('/tmp/sea.tiff')\" "
              "&& sequoia-render --json --out /tmp/out /tmp/sea.webp /tmp/sea.png /tmp/sea.tiff")

    done = podman.run(images["worker-thumbnails"], f"sequoia-ct-vips-{secrets.token_hex(3)}", env,
                      ["sh", "-c", script], detach=False)

    assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(line["metadata"]["image_engine"], [d["width"] for d in line["derivatives"]]) for line in lines] == [
        ("vips", [1280, 320])] * 3, done.stdout


def test_each_media_kind_gets_every_derivative_through_the_containers(stack, tmp_path):
    services.wait_url(stack["api"] + "/readyz", 120)
    files = sample_files(tmp_path)
    with httpx.Client(base_url=stack["api"], headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as api:
        upload = [("files", (path.name, path.read_bytes())) for path in files.values()]
        answer = api.post(f"/api/voyages/containers-{secrets.token_hex(3)}/media", files=upload)
        assert answer.status_code == 202, answer.text
        accepted = {f["filename"]: f for f in answer.json()["files"]}
        assert {f["status"] for f in accepted.values()} == {"accepted"}, accepted
        finals = {name: _wait_final(api, item["media_id"]) for name, item in accepted.items()}

    for kind, path in files.items():
        final = finals[path.name]
        assert final["status"] == "completed", (kind, final)
        assert final["derivatives"], (kind, final)
        for derivative in final["derivatives"]:
            if derivative.get("url"):
                assert httpx.get(derivative["url"], timeout=10).status_code == 200, (kind, derivative)


def _wait_final(api: httpx.Client, media_id: str, timeout: float = 300) -> dict:
    return services.wait_until_final(lambda path: api.get(path).json(), media_id, timeout, 1.0)


def test_flower_refuses_without_its_password(stack):
    services.wait_url(stack["flower"] + "/healthcheck", 120)

    assert httpx.get(stack["flower"] + "/workers", timeout=10).status_code == 401
    assert httpx.get(stack["flower"] + "/workers", auth=("admin", stack["flower_password"]),
                     timeout=10).status_code == 200


def test_flower_image_does_not_start_without_a_password(images, env):
    env = {k: v for k, v in env.items() if k != "FLOWER_PASSWORD"}

    done = podman.run(images["flower"], f"sequoia-ct-nopass-{secrets.token_hex(3)}", env, detach=False)

    assert done.returncode != 0 and "FLOWER_PASSWORD is required" in done.stderr


def test_worker_serves_metrics(stack):
    services.wait_url(stack["thumbs_metrics"] + "/metrics", 120)

    assert "sequoia_" in httpx.get(stack["thumbs_metrics"] + "/metrics", timeout=10).text


def test_images_run_as_non_root(images):
    users = {name: podman.podman("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip()
             for name, image in images.items()}

    assert users == dict.fromkeys(images, "10001:10001")


_SANDBOX_PROBE = """
import json
from sequoia_core.errors import PermanentError
from sequoia_thumbnails import sandbox
def attempt(target, payload):
    try:
        return sandbox.run(target, payload, timeout=60)
    except PermanentError as err:
        return err.message.splitlines()[0]
print(json.dumps({"secret": attempt("os:getenv", "DATABASE_URL"),
                  "postgres": attempt("socket:create_connection", ["127.0.0.1", 5432]),
                  "unix": attempt("socket:socket", 1)}))
"""


def test_thumbnails_image_renderer_has_no_secret_and_no_network(images, env):
    """In the image as the cluster runs it (non-root, no capabilities, no-new-privileges, read-only
    root), the render server still starts, loads its seccomp filter, and its jobs see no secret."""
    done = podman.run(images["worker-thumbnails"], f"sequoia-ct-sandbox-{secrets.token_hex(3)}", env,
                      ["python", "-c", _SANDBOX_PROBE], detach=False)

    assert done.returncode == 0, done.stdout + done.stderr
    probe = json.loads(done.stdout.splitlines()[-1])
    assert probe["secret"] is None
    assert "PermissionError: [Errno 13]" in probe["postgres"], probe
    assert "PermissionError: [Errno 13]" in probe["unix"], probe
