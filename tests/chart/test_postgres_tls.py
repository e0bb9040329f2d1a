"""An external Postgres checked with verify-ca/verify-full gets a root certificate: libpq refuses such
a connection without one (found by `make test-chart-runtime` on the external-services values)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.chart.conftest import CHART, by_kind, pod_specs

EXTERNAL = CHART / "ci" / "external-services-values.yaml"
CA_DIR = "/etc/sequoia/postgres-tls"


def _database_url_query(objects: list[dict]) -> dict[str, list[str]]:
    secret = next(s for s in by_kind(objects, "Secret") if "database-url" in s.get("stringData", {}))
    return parse_qs(urlsplit(secret["stringData"]["database-url"]).query)


def _reads_database_url(container: dict) -> bool:
    return any(e.get("name") == "DATABASE_URL" for e in container.get("env", []))


def test_a_ca_secret_is_mounted_where_database_url_is_read_and_named_as_sslrootcert(render):
    objects = render(EXTERNAL)

    assert _database_url_query(objects)["sslrootcert"] == [f"{CA_DIR}/ca.crt"]
    readers = [(name, spec, c) for name, spec in pod_specs(objects) for c in spec["containers"]
               if _reads_database_url(c)]
    assert readers
    for name, spec, container in readers:
        mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        assert mounts.get("postgres-tls") == CA_DIR, name
        assert volumes["postgres-tls"]["secret"]["secretName"] == "postgres-ca", name


def test_verify_full_without_a_ca_secret_uses_the_images_system_cas(render):
    objects = render(EXTERNAL, "externalPostgres.caSecret.name=")

    assert _database_url_query(objects)["sslrootcert"] == ["system"]


def test_sslmode_require_needs_no_root_certificate(render):
    objects = render(EXTERNAL, "externalPostgres.caSecret.name=", "externalPostgres.sslmode=require")

    assert "sslrootcert" not in _database_url_query(objects)


def test_the_in_chart_postgres_gets_no_root_certificate(render):
    objects = render(None)

    assert "sslrootcert" not in _database_url_query(objects)
