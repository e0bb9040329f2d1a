"""The S3 hot path signed and sent by `Storage` itself (sequoia_core/s3_requests.py), against the real
store: the worker's ranged GET of an original and the single PUTs of derivatives and originals keep
the errors, limits, checksums and retries they had on boto3."""

from __future__ import annotations

import base64
import hashlib
import io
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from sequoia_core.errors import ErrorCode, ObjectNotFound, PermanentError, TransientError
from sequoia_core.s3_requests import ATTEMPTS
from sequoia_core.storage import Storage
from tests.chart_runtime.platform import certificates
from tests.support.proxy import TcpProxy


def _key(voyage: str, name: str) -> str:
    return f"originals/{voyage}/{name}"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def proxy(settings):
    """A TCP forwarder to the store, and a `Storage` of its own that goes through it."""
    target = urlsplit(settings.s3_endpoint_url)
    forwarder = TcpProxy(target.hostname, target.port)
    through = Storage(settings.model_copy(update={"s3_endpoint_url": f"http://127.0.0.1:{forwarder.port}"}))
    yield forwarder, through
    forwarder.close()


def test_a_download_writes_the_object_and_one_of_exactly_the_limit_passes(storage, voyage, tmp_path):
    data = bytes(range(256)) * 40
    storage.put_stream(_key(voyage, "a.bin"), io.BytesIO(data), "application/octet-stream")

    storage.download(_key(voyage, "a.bin"), tmp_path / "a", max_bytes=len(data))

    assert (tmp_path / "a").read_bytes() == data


def test_a_missing_object_is_not_found(storage, voyage, tmp_path):
    with pytest.raises(ObjectNotFound):
        storage.download(_key(voyage, "absent.jpg"), tmp_path / "absent", max_bytes=1000)


def test_an_object_over_the_limit_is_refused_and_the_next_download_still_works(storage, voyage, tmp_path):
    big, small = b"x" * 5000, b"small object"
    storage.put_stream(_key(voyage, "big.bin"), io.BytesIO(big), "application/octet-stream")
    storage.put_stream(_key(voyage, "small.bin"), io.BytesIO(small), "application/octet-stream")

    with pytest.raises(PermanentError) as refused:
        storage.download(_key(voyage, "big.bin"), tmp_path / "big", max_bytes=4999)

    assert refused.value.code == ErrorCode.FILE_TOO_LARGE
    storage.download(_key(voyage, "small.bin"), tmp_path / "small", max_bytes=4999)
    assert (tmp_path / "small").read_bytes() == small


def test_an_empty_object_downloads_as_an_empty_file(storage, voyage, tmp_path):
    storage.put_stream(_key(voyage, "empty.bin"), io.BytesIO(b""), "application/octet-stream")
    (tmp_path / "empty").write_bytes(b"stale")

    storage.download(_key(voyage, "empty.bin"), tmp_path / "empty", max_bytes=1000)

    assert (tmp_path / "empty").read_bytes() == b""


def test_a_put_file_stores_its_sha256_as_the_objects_checksum(storage, voyage, tmp_path):
    source = tmp_path / "thumb.webp"
    source.write_bytes(b"derivative bytes" * 1000)

    storage.put_file(_key(voyage, "thumb.webp"), source, "image/webp")

    head = storage._client.head_object(Bucket=storage.bucket, Key=_key(voyage, "thumb.webp"), ChecksumMode="ENABLED")
    assert head["ContentType"] == "image/webp" and head["ContentLength"] == 16000
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(source.read_bytes()).digest()).decode()


def test_a_put_from_the_middle_of_a_stream_sends_the_rest(storage, voyage, tmp_path):
    stream = io.BytesIO(b"headerBODY")
    stream.seek(6)

    storage.put_stream(_key(voyage, "rest.bin"), stream, "application/octet-stream")

    storage.download(_key(voyage, "rest.bin"), tmp_path / "rest", max_bytes=100)
    assert (tmp_path / "rest").read_bytes() == b"BODY"


def test_a_tampered_body_is_refused_by_the_store(storage, voyage):
    key = _key(voyage, "tampered.jpg")

    with pytest.raises(TransientError) as refused:
        storage.put_stream(key, io.BytesIO(b"the bytes sent"), "image/jpeg", sha256=hashlib.sha256(b"other").digest())

    assert refused.value.code == ErrorCode.STORAGE_UNAVAILABLE and "BadDigest" in str(refused.value)
    assert storage._client.list_objects_v2(Bucket=storage.bucket, Prefix=key).get("KeyCount") == 0


def test_a_store_that_is_down_is_storage_unavailable(settings, voyage, tmp_path):
    down = Storage(settings.model_copy(update={"s3_endpoint_url": f"http://127.0.0.1:{_closed_port()}"}))

    with pytest.raises(TransientError) as get:
        down.download(_key(voyage, "a.jpg"), tmp_path / "a", max_bytes=1000)
    with pytest.raises(TransientError) as put:
        down.put_stream(_key(voyage, "a.jpg"), io.BytesIO(b"bytes"), "image/jpeg")

    assert get.value.code == put.value.code == ErrorCode.STORAGE_UNAVAILABLE


def test_a_put_on_dropped_connections_is_retried_up_to_three_attempts(proxy, storage, voyage, tmp_path):
    forwarder, through = proxy
    data = b"retried " * 1000
    forwarder.refuse_next(ATTEMPTS - 1)

    through.put_stream(_key(voyage, "put.bin"), io.BytesIO(data), "application/octet-stream")

    assert forwarder.refused == ATTEMPTS - 1
    storage.download(_key(voyage, "put.bin"), tmp_path / "put", max_bytes=len(data))
    assert (tmp_path / "put").read_bytes() == data  # the body was sent whole again


def test_a_download_on_dropped_connections_is_retried_up_to_three_attempts(proxy, storage, voyage, tmp_path):
    forwarder, through = proxy
    data = b"retried " * 1000
    storage.put_stream(_key(voyage, "get.bin"), io.BytesIO(data), "application/octet-stream")
    forwarder.refuse_next(ATTEMPTS - 1)

    through.download(_key(voyage, "get.bin"), tmp_path / "get", max_bytes=len(data))

    assert forwarder.refused == ATTEMPTS - 1
    assert (tmp_path / "get").read_bytes() == data


def test_a_connection_dropped_on_every_attempt_is_storage_unavailable(proxy, voyage, tmp_path):
    forwarder, through = proxy
    forwarder.refuse()

    with pytest.raises(TransientError) as failed:
        through.download(_key(voyage, "never.bin"), tmp_path / "never", max_bytes=100)

    assert failed.value.code == ErrorCode.STORAGE_UNAVAILABLE
    assert forwarder.refused == ATTEMPTS


def test_credentials_come_from_botocores_chain_when_none_are_configured(settings, voyage, tmp_path, monkeypatch):
    profile = tmp_path / "credentials"
    profile.write_text(f"[default]\naws_access_key_id = {settings.s3_access_key_id.get_secret_value()}\n"
                       f"aws_secret_access_key = {settings.s3_secret_access_key.get_secret_value()}\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(profile))
    keyless = Storage(settings.model_copy(update={"s3_access_key_id": None, "s3_secret_access_key": None}))

    keyless.put_stream(_key(voyage, "chain.bin"), io.BytesIO(b"chained"), "application/octet-stream")
    keyless.download(_key(voyage, "chain.bin"), tmp_path / "chain", max_bytes=100)

    assert (tmp_path / "chain").read_bytes() == b"chained"


def test_its_connections_disable_nagles_algorithm(settings, voyage, tmp_path, monkeypatch):
    """A small PUT goes out as two writes (headers, body): with Nagle's algorithm on, the body waits
    for the store's delayed ACK, 40 ms a thumbnail. botocore's clients turn it off; so must ours."""
    options = []
    set_option = socket.socket.setsockopt

    def recording(sock, level, name, value, *rest):
        options.append((level, name, value))
        return set_option(sock, level, name, value, *rest)

    monkeypatch.setattr(socket.socket, "setsockopt", recording)
    fresh = Storage(settings)  # its own connection pool: the first request opens a connection
    (tmp_path / "thumb.webp").write_bytes(b"w" * 20_000)

    fresh.put_file(_key(voyage, "thumb.webp"), tmp_path / "thumb.webp", "image/webp")

    assert (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1) in options


def test_an_empty_key_is_refused_before_sending(storage, tmp_path):
    with pytest.raises(PermanentError) as refused:
        storage.download("", tmp_path / "none", max_bytes=100)

    assert refused.value.code == ErrorCode.INVALID_KEY


@pytest.fixture
def https_store(settings, tmp_path, monkeypatch):
    """The store behind HTTPS (a TLS-terminating proxy with a certificate of a test CA), the CA's file
    and the settings that name it; no CA bundle in the environment."""
    pki = certificates(tmp_path / "pki", ["localhost"], ["127.0.0.1"])
    for name, pem in pki.items():
        (tmp_path / name).write_bytes(pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key")
    target = urlsplit(settings.s3_endpoint_url)
    forwarder = TcpProxy(target.hostname, target.port, tls=context)
    for name in ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path / "ca.crt", settings.model_copy(update={"s3_endpoint_url": f"https://localhost:{forwarder.port}"})
    forwarder.close()


def test_over_https_the_ca_bundle_of_aws_ca_bundle_is_trusted(https_store, storage, voyage, tmp_path, monkeypatch):
    ca, settings = https_store
    monkeypatch.setenv("AWS_CA_BUNDLE", str(ca))
    secure = Storage(settings)

    secure.put_stream(_key(voyage, "tls.bin"), io.BytesIO(b"over tls"), "application/octet-stream")
    secure.download(_key(voyage, "tls.bin"), tmp_path / "tls", max_bytes=100)

    assert (tmp_path / "tls").read_bytes() == b"over tls"


def test_over_https_a_certificate_of_an_unknown_ca_is_refused(https_store, storage, voyage, tmp_path):
    _, settings = https_store
    untrusting = Storage(settings)
    storage.put_stream(_key(voyage, "untrusted.bin"), io.BytesIO(b"secret"), "application/octet-stream")

    with pytest.raises(TransientError) as get:
        untrusting.download(_key(voyage, "untrusted.bin"), tmp_path / "untrusted", max_bytes=100)
    with pytest.raises(TransientError) as put:
        untrusting.put_stream(_key(voyage, "untrusted.bin"), io.BytesIO(b"replaced"), "application/octet-stream")

    assert get.value.code == put.value.code == ErrorCode.STORAGE_UNAVAILABLE
    assert "CERTIFICATE_VERIFY_FAILED" in str(get.value)
    assert not (tmp_path / "untrusted").exists()
    storage.download(_key(voyage, "untrusted.bin"), tmp_path / "kept", max_bytes=100)
    assert (tmp_path / "kept").read_bytes() == b"secret"


@pytest.fixture
def failing_store(settings):
    """An HTTP server that answers every request with the next of `answers` (status, body), then 200;
    the requests it took, and a `Storage` pointed at it."""
    answers: list[tuple[int, bytes]] = []
    taken: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            taken.append(self.command)
            status, body = answers.pop(0) if answers else (200, b"")
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = _answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    yield answers, taken, Storage(settings.model_copy(update={"s3_endpoint_url": endpoint}))
    server.shutdown()
    server.server_close()


_SLOW_DOWN = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"


def test_a_5xx_answer_is_retried_and_the_next_attempt_counts(failing_store):
    answers, taken, store = failing_store
    answers.append((502, b"<html>bad gateway</html>"))

    store.put_stream("originals/v/retried.bin", io.BytesIO(b"bytes"), "application/octet-stream")

    assert taken == ["PUT", "PUT"]


def test_a_store_that_keeps_answering_5xx_is_storage_unavailable_after_three_attempts(failing_store, tmp_path):
    answers, taken, store = failing_store
    answers.extend([(503, _SLOW_DOWN)] * ATTEMPTS)

    with pytest.raises(TransientError) as failed:
        store.download("originals/v/slow.bin", tmp_path / "slow", max_bytes=100)

    assert taken == ["GET"] * ATTEMPTS
    assert failed.value.code == ErrorCode.STORAGE_UNAVAILABLE and "SlowDown" in str(failed.value)


def test_a_4xx_answer_is_not_retried(failing_store, tmp_path):
    answers, taken, store = failing_store
    answers.append((403, b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"))

    with pytest.raises(TransientError) as failed:
        store.download("originals/v/denied.bin", tmp_path / "denied", max_bytes=100)

    assert taken == ["GET"] and "AccessDenied" in str(failed.value)
