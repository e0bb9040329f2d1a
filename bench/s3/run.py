"""`make bench-s3`: client CPU per S3 call of the hot path, boto3 against `Storage`'s own path.

Against a SeaweedFS of its own, in one process, alternating rounds: the thumbnails worker's GET of a
12 MP photo's original (`Storage.download`, a ranged GET into a file), its PUT of a derivative
(`put_file`, ~200 KB) and the API's PUT of an original with its SHA-256 (`put_stream(..., sha256=)`),
each done by `Storage` and by boto3 calls as `Storage` made them before (`get_object` with a Range and
the body read in 1 MiB chunks, `put_object`, `put_object` with `ChecksumSHA256` on a client without
payload signing). CPU is this process's (getrusage: user + system, every thread); system time
includes the kernel's share of moving the bytes over loopback, which no client removes, so user time
is printed apart.

    python -m bench.s3.run [--calls 200] [--rounds 4] [--original-kb 1000] [--derivative-kb 200]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import resource
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

import boto3

from scripts.devstack import seaweed
from sequoia_core.settings import Settings
from sequoia_core.storage import Storage, _client_config


def _cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls of each kind per path and round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--original-kb", type=int, default=1000, help="bench-system's 12 MP photos: 0.97 MB")
    parser.add_argument("--derivative-kb", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp_name:
        tmp = Path(tmp_name)
        gateway = seaweed.start(tmp / "seaweedfs", "bench-" + secrets.token_hex(4), secrets.token_urlsafe(24))
        try:
            gateway.wait_ready()
            run(gateway, tmp, args)
        finally:
            seaweed.stop(gateway.process)


def run(gateway: seaweed.SeaweedS3, tmp: Path, args: argparse.Namespace) -> None:
    settings = Settings(s3_endpoint_url=gateway.endpoint_url, s3_bucket="bench-s3", s3_create_bucket=True,
                        AWS_ACCESS_KEY_ID=gateway.access_key, AWS_SECRET_ACCESS_KEY=gateway.secret_key)
    storage = Storage(settings)
    storage.ensure_bucket()
    keys = dict(region_name=settings.s3_region, aws_access_key_id=gateway.access_key,
                aws_secret_access_key=gateway.secret_key)
    client = boto3.client("s3", endpoint_url=gateway.endpoint_url, config=_client_config(), **keys)
    checksummed = boto3.client("s3", endpoint_url=gateway.endpoint_url,
                               config=_client_config(payload_signing_enabled=False), **keys)
    original = os.urandom(args.original_kb * 1000)
    digest = hashlib.sha256(original).digest()
    derivative = tmp / "derivative.webp"
    derivative.write_bytes(os.urandom(args.derivative_kb * 1000))
    source, fetched = tmp / "original.jpg", tmp / "fetched.jpg"
    source.write_bytes(original)
    client.put_object(Bucket=storage.bucket, Key="original.jpg", Body=original)
    limit = 200 * 1024 * 1024

    def boto3_get() -> None:
        answer = client.get_object(Bucket=storage.bucket, Key="original.jpg", Range=f"bytes=0-{limit}")
        with fetched.open("wb") as out:
            while chunk := answer["Body"].read(1024 * 1024):
                out.write(chunk)

    def boto3_put_derivative() -> None:
        with derivative.open("rb") as body:
            client.put_object(Bucket=storage.bucket, Key="derivative.webp", Body=body, ContentType="image/webp")

    def boto3_put_original() -> None:
        with source.open("rb") as body:
            checksummed.put_object(Bucket=storage.bucket, Key="put.jpg", Body=body, ContentType="image/jpeg",
                                   ChecksumSHA256=base64.b64encode(digest).decode())

    def storage_put_original() -> None:
        with source.open("rb") as body:
            storage.put_stream("put.jpg", body, "image/jpeg", sha256=digest)

    calls: dict[str, dict[str, Callable[[], None]]] = {
        f"GET original ({args.original_kb} KB)": {
            "boto3": boto3_get, "storage": lambda: storage.download("original.jpg", fetched, limit)},
        f"PUT derivative ({args.derivative_kb} KB)": {
            "boto3": boto3_put_derivative,
            "storage": lambda: storage.put_file("derivative.webp", derivative, "image/webp")},
        f"PUT original + sha256 ({args.original_kb} KB)": {
            "boto3": boto3_put_original, "storage": storage_put_original},
    }
    spent = {(call, path): [0.0, 0.0] for call, paths in calls.items() for path in paths}
    for paths in calls.values():  # warm: connections, credentials, botocore's loaders
        for do in paths.values():
            do()
    for round_ in range(args.rounds):
        for call, paths in calls.items():
            order = list(paths) if round_ % 2 == 0 else list(reversed(paths))
            for path in order:
                user, system = _cpu()
                for _ in range(args.calls):
                    paths[path]()
                user_after, system_after = _cpu()
                spent[call, path][0] += user_after - user
                spent[call, path][1] += system_after - system
    total = args.calls * args.rounds
    print(f"client CPU per call, ms ({args.rounds} alternating rounds of {args.calls} calls, SeaweedFS on loopback)")
    print(f"{'call':36} {'boto3':>8} {'storage':>8} {'ratio':>6}   user only: {'boto3':>6} {'storage':>7}")
    sums = {path: [0.0, 0.0] for path in ("boto3", "storage")}
    for call in calls:
        for path in sums:
            sums[path][0] += spent[call, path][0]
            sums[path][1] += spent[call, path][1]
        _line(call, *(spent[call, path] for path in ("boto3", "storage")), total)
    _line("all three", sums["boto3"], sums["storage"], total)


def _line(call: str, old: list[float], new: list[float], calls: int) -> None:
    """One row: CPU (user + system) per call in ms of both paths, their ratio, then user CPU alone."""
    per_call = [sum(old) / calls * 1000, sum(new) / calls * 1000, old[0] / calls * 1000, new[0] / calls * 1000]
    print(f"{call:36} {per_call[0]:8.2f} {per_call[1]:8.2f} {per_call[1] / per_call[0]:6.2f}"
          f"              {per_call[2]:6.2f} {per_call[3]:7.2f}")


if __name__ == "__main__":
    main()
