"""Every environment variable the chart gives a Sequoia container is a setting the services read, the
values load into Settings, and no rendered Secret holds a fixed default."""

from __future__ import annotations

import pytest
import yaml
from pydantic import AliasChoices

from sequoia_core.settings import Settings
from tests.chart.conftest import CI_VALUES, by_kind, pod_specs

SEQUOIA_IMAGES = {"sequoia-api", "sequoia-worker-thumbnails", "sequoia-worker-media", "sequoia-flower"}
# Secret keys holding a name, not a credential: flower.user sits beside the random flower-password
# only because the ServiceMonitor's basicAuth takes the user name from a Secret too.
NOT_CREDENTIALS = {"flower-user", "tls"}  # "tls: enable" tells KEDA to use TLS
ids = [p.name for p in CI_VALUES]


def setting_names() -> set[str]:
    """Environment names Settings reads: field names in upper case and their aliases (read from the
    model, so settings added later count)."""
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(name.upper())
        aliases = field.validation_alias
        choices = aliases.choices if isinstance(aliases, AliasChoices) else [aliases, field.alias]
        names |= {a.upper() for a in choices if isinstance(a, str)}
    return names


def sequoia_containers(objects: list[dict]) -> list[tuple[str, dict]]:
    """(workload, container) of every container running a Sequoia image."""
    return [(name, c) for name, spec in pod_specs(objects) for c in spec["containers"]
            if c["image"].rsplit("/", 1)[-1].split(":")[0] in SEQUOIA_IMAGES]


def container_env(objects: list[dict], container: dict) -> dict[str, str | None]:
    """The container's environment: literal values, None for values from a Secret or the Downward API."""
    config_maps = {c["metadata"]["name"]: c.get("data", {}) for c in by_kind(objects, "ConfigMap")}
    env: dict[str, str | None] = {}
    for source in container.get("envFrom", []):
        env |= config_maps[source["configMapRef"]["name"]]
    for var in container.get("env", []):
        env[var["name"]] = var.get("value")
    return env


@pytest.mark.parametrize("values", CI_VALUES, ids=ids)
def test_every_env_var_of_a_sequoia_container_is_a_setting(rendered, values):
    objects = rendered[values.name]
    known = setting_names()
    containers = sequoia_containers(objects)

    assert containers
    unknown = {f"{workload}: {name}" for workload, c in containers
               for name in container_env(objects, c) if name not in known}
    assert unknown == set()


@pytest.mark.parametrize("values", CI_VALUES, ids=ids)
def test_the_settings_the_chart_gives_load(rendered, values, monkeypatch):
    objects = rendered[values.name]
    for workload, container in sequoia_containers(objects):
        for name, value in container_env(objects, container).items():
            # Values from the Secret are URLs and tokens; any well-formed stand-in will do here.
            monkeypatch.setenv(name, value if value is not None else _stand_in(name))
        Settings(_env_file=None)  # raises on a value of the wrong type or out of range


def _stand_in(name: str) -> str:
    return {"REDIS_URL": "redis://:x@redis:6379/0", "DATABASE_URL": "postgresql://u:x@pg:5432/db",
            "K8S_NAMESPACE": "sequoia"}.get(name, "stand-in")


def _given_strings(values_file) -> set[str]:
    """Every string a values file sets: credentials a user chose are not defaults."""
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str) and len(node) >= 8:
            found.add(node)

    walk(yaml.safe_load(values_file.read_text()))
    return found


@pytest.mark.parametrize("values", CI_VALUES, ids=ids)
def test_no_secret_holds_a_fixed_default(render, rendered, values):
    first = {s["metadata"]["name"]: s.get("stringData", {}) for s in by_kind(rendered[values.name], "Secret")}
    second = {s["metadata"]["name"]: s.get("stringData", {}) for s in by_kind(render(values), "Secret")}
    given = _given_strings(values)

    fixed = {f"{secret}/{key}" for secret, data in first.items() for key, value in data.items()
             if key not in NOT_CREDENTIALS and value == second[secret][key] and not any(g in value for g in given)}
    assert fixed == set(), "these Secret values are the same on every install"


def test_an_existing_secret_replaces_the_generated_one(rendered):
    objects = rendered["existing-secret-values.yaml"]

    assert by_kind(objects, "Secret") == []
    refs = {var["valueFrom"]["secretKeyRef"]["name"] for _, c in sequoia_containers(objects)
            for var in c.get("env", []) if "secretKeyRef" in var.get("valueFrom", {})}
    assert refs == {"sequoia-credentials"}


def test_defaults_generate_long_random_credentials(rendered):
    data = by_kind(rendered["seaweedfs-values.yaml"], "Secret")[0]["stringData"]

    for key in ("api-token", "flower-password", "redis-password", "database-password",
                "s3-access-key-id", "s3-secret-access-key"):
        assert len(data[key]) >= 20 and data[key].isalnum(), key
    assert f":{data['redis-password']}@sequoia-redis:6379/0" in data["redis-url"]
    assert data["database-url"] == (f"postgresql://sequoia:{data['database-password']}"
                                    "@sequoia-postgres:5432/sequoia?sslmode=disable")
