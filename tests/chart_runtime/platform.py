"""What a values file puts outside the release, stood in for on the same Podman network: AWS S3 behind a
workload identity (default values), and the TLS Redis, verify-full Postgres and HTTPS S3 that
external-services names (certificates from a test CA made with openssl)."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from tests.chart_runtime import kubelet
from tests.chart_runtime.manifest import Container, Mount, Pod, Probe, Service

SEAWEEDFS_IMAGE = "docker.io/chrislusf/seaweedfs:3.80"
REDIS_IMAGE = "docker.io/library/redis:7.4-alpine"
POSTGRES_IMAGE = "docker.io/library/postgres:16-alpine"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
PLATFORM_CA_DIR = "/etc/platform-ca"


@dataclass
class Supplied:
    """What the platform adds: env and mounts of Sequoia's containers (what a workload-identity webhook
    or a node's trust store gives), and objects the user creates before `helm install` (a CA Secret)."""

    env: dict[str, str] = field(default_factory=dict)
    mounts: list[Mount] = field(default_factory=list)
    objects: list[dict] = field(default_factory=list)
    # `podman exec` arguments of a redis-cli on the Redis server itself: the true queue lengths.
    redis_cli: list[str] = field(default_factory=list)


def _pod(name: str, container: Container) -> Pod:
    return Pod(name=f"{name}-0", kind="Pod", workload=name, labels={}, phase="platform", weight=0,
               grace_seconds=10, restart_policy="Always", containers=[container])


def _container(image: str, args: list[str], user: int, mounts: list[Mount], port: int,
               env: dict[str, str] | None = None) -> Container:
    return Container(name="main", image=image, command=None, args=args, env=env or {}, mounts=mounts, user=user,
                     group=user, fs_group=user, read_only_root=True, drop_caps=["ALL"], no_new_privileges=True,
                     memory_limit=None, ports={"main": port}, probes=[Probe("readinessProbe", "tcpSocket", port=port)])


def _start(cluster: kubelet.Cluster, pod: Pod) -> str:
    kubelet.start_pod(cluster, pod, namespace="outside")
    kubelet.wait_ready(cluster, pod)
    return cluster.address(pod.name)


def _seaweedfs(cluster: kubelet.Cluster, key: str, secret: str, tls: dict[str, bytes] | None = None) -> str:
    config = {"identities": [{"name": "platform", "credentials": [{"accessKey": key, "secretKey": secret}],
                              "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
    files = {"s3.json": json.dumps(config).encode(), **(tls or {})}
    args = ["-logtostderr=true", "server", "-dir=/data", "-ip.bind=0.0.0.0", "-volume.max=0",
            "-master.volumeSizeLimitMB=256", "-s3", "-s3.port=8333", "-s3.config=/etc/s3/s3.json"]
    if tls:
        args += ["-s3.cert.file=/etc/s3/tls.crt", "-s3.key.file=/etc/s3/tls.key"]
    mounts = [Mount("/data", "persistent", volume="data"), Mount("/tmp", "emptyDir", volume="tmp"),
              Mount("/etc/s3", "files", True, files=files, volume="config")]
    return _start(cluster, _pod("s3", _container(SEAWEEDFS_IMAGE, args, 1000, mounts, 8333)))


def _create_bucket(endpoint: str, key: str, secret: str, bucket: str, region: str, verify: str | bool = True) -> None:
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                          region_name=region, verify=verify)
    deadline = time.monotonic() + 60
    while True:  # the S3 port opens before the filer behind it answers
        try:
            client.create_bucket(Bucket=bucket)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def aws_s3(cluster: kubelet.Cluster, values: dict) -> Supplied:
    """Default values: S3 on AWS through a workload identity. A SeaweedFS plays AWS; the env that the
    identity webhook would inject (endpoint, credentials) is what the platform adds to Sequoia's pods."""
    key, secret = "platform-" + secrets.token_hex(4), secrets.token_urlsafe(24)
    endpoint = f"http://{_seaweedfs(cluster, key, secret)}:8333"
    _create_bucket(endpoint, key, secret, values["s3"]["bucket"], values["s3"]["region"], True)
    return Supplied(env={"AWS_ENDPOINT_URL_S3": endpoint, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret})


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def certificates(directory: Path, names: list[str], ips: list[str]) -> dict[str, bytes]:
    """A test CA and one server certificate for `names` and `ips`; PEM bytes by file name."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, crt = (directory / n for n in ("ca.key", "ca.crt", "tls.key", "tls.csr", "tls.crt"))
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=sequoia test CA",
             "-keyout", str(ca_key), "-out", str(ca))
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={names[0]}", "-keyout", str(key), "-out", str(csr))
    extensions = directory / "san.ext"
    extensions.write_text("subjectAltName=" + ",".join([*(f"DNS:{n}" for n in names), *(f"IP:{i}" for i in ips)])
                          + "\n")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-days", "2",
             "-extfile", str(extensions), "-out", str(crt))
    return {"ca.crt": ca.read_bytes(), "tls.crt": crt.read_bytes(), "tls.key": key.read_bytes()}


def external_services(cluster: kubelet.Cluster, values: dict) -> Supplied:
    """external-services values: Redis with TLS and a password, Postgres with TLS (verify-full) and
    HTTPS S3, each under the host name the values give. Redis' CA is the Secret the values name (made
    here, as the user makes it); S3's test CA stands in for the public CA that signs AWS' certificate,
    given to boto3 with AWS_CA_BUNDLE."""
    redis, postgres, s3 = values["externalRedis"], values["externalPostgres"], values["s3"]
    s3_host = s3["endpointUrl"].split("//")[1].split("/")[0]
    public_host = s3["publicEndpointUrl"].split("//")[1].split("/")[0]
    # The gateway's own IP too: the bucket is made from here, where the names do not resolve.
    tls = certificates(cluster.workdir / "pki", [redis["host"], postgres["host"], s3_host, public_host],
                       [cluster.address("s3-0")])
    tls_files = {"tls.crt": tls["tls.crt"], "tls.key": tls["tls.key"], "ca.crt": tls["ca.crt"]}

    redis_args = ["redis-server", "--port", "0", "--tls-port", str(redis["port"]), "--tls-cert-file", "/tls/tls.crt",
                  "--tls-key-file", "/tls/tls.key", "--tls-ca-cert-file", "/tls/ca.crt", "--tls-auth-clients", "no",
                  "--requirepass", redis["password"], "--maxmemory-policy", "noeviction"]
    redis_ip = _start(cluster, _pod("redis", _container(
        REDIS_IMAGE, redis_args, 999, [Mount("/tls", "files", True, files=tls_files, volume="tls")], redis["port"])))

    # Postgres refuses a key readable by others: a volume owned by its user, as a Secret with fsGroup.
    pg_tls = cluster.workdir / "outside-postgres-0" / "tls"  # where kubelet.py keeps that pod's volumes
    pg_tls.mkdir(parents=True)
    for name, data in tls_files.items():
        (pg_tls / name).write_bytes(data)
        (pg_tls / name).chmod(0o600)
    subprocess.run(["chown", "-R", "70:70", str(pg_tls.parent)], check=True)
    pg_env = {"POSTGRES_USER": postgres["user"], "POSTGRES_PASSWORD": postgres["password"],
              "POSTGRES_DB": postgres["database"], "PGDATA": "/var/lib/postgresql/data/pgdata"}
    pg_args = ["postgres", "-c", "ssl=on", "-c", "ssl_cert_file=/tls/tls.crt", "-c", "ssl_key_file=/tls/tls.key"]
    pg_mounts = [Mount("/var/lib/postgresql/data", "persistent", volume="data"),
                 Mount("/tls", "persistent", volume="tls"), Mount("/var/run/postgresql", "emptyDir", volume="run"),
                 Mount("/tmp", "emptyDir", volume="tmp")]
    pg_pod = _pod("outside-postgres", _container(POSTGRES_IMAGE, pg_args, 70, pg_mounts, 5432, pg_env))
    pg_ip = _start(cluster, pg_pod)

    s3_ip = _seaweedfs(cluster, s3["accessKeyId"], s3["secretAccessKey"], tls_files)
    ca_file = cluster.workdir / "pki" / "ca.crt"
    _create_bucket(f"https://{s3_ip}:8333", s3["accessKeyId"], s3["secretAccessKey"], s3["bucket"], s3["region"],
                   str(ca_file))
    # HTTPS on 443 as the endpoint URL says: a proxy in front of the gateway's 8333.
    kubelet.start_proxy(cluster, Service("s3-https", [], {443: 8333}), s3_ip)
    proxy_ip = cluster.address("svc/s3-https")
    cluster.external.update({redis["host"]: redis_ip, postgres["host"]: pg_ip, s3_host: proxy_ip,
                             public_host: proxy_ip})
    bundle = Path(CA_BUNDLE).read_bytes() + ca_file.read_bytes()
    trust = Mount(PLATFORM_CA_DIR, "files", True, files={"bundle.crt": bundle}, volume="platform-ca")
    # The CA Secrets the values name, made as the user makes them before `helm install`.
    secrets_ = [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": ref["name"]},
                 "stringData": {ref["key"]: tls["ca.crt"].decode()}}
                for ref in (redis["tls"]["caSecret"], postgres["caSecret"]) if ref["name"]]
    redis_cli = ["exec", cluster.name("redis-0", "main"), "redis-cli", "--tls", "--cacert", "/tls/ca.crt", "-p",
                 str(redis["port"]), "--pass", redis["password"], "-n", str(redis["database"])]
    return Supplied(env={"AWS_CA_BUNDLE": f"{PLATFORM_CA_DIR}/bundle.crt"}, mounts=[trust], objects=secrets_,
                    redis_cli=redis_cli)
