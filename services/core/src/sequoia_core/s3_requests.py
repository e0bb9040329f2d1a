"""The S3 requests of the hot path (a ranged GET, a single PUT) signed and sent without a client call.

A boto3 call spends 1.2-2.4 ms of CPU in botocore's request machinery (endpoint rules, events,
parameter validation, serialization, parsing) before and after the bytes; the worker makes three a
photo (the original's GET, two derivatives' PUTs), the API one (the original's PUT). Here botocore's
own pieces do the parts that matter: its SigV4 signer (`S3SigV4Auth`) with the credentials the boto3
session resolved (explicit keys, environment, web identity, instance role: refreshed as boto3
would), and its urllib3 session (`URLLib3Session`: the same CA bundle, proxies, timeouts and
errors). The endpoint and region are the boto3 client's own, the address path-style as every client
of ours. Failures are raised as botocore raises them (`ClientError` with the store's error code,
`BotoCoreError` for the connection), so `storage._translate` reads them unchanged; retries follow
botocore's standard mode (3 attempts, connection errors, 5xx, throttling and transient codes,
jittered exponential backoff; its retry quota and x-amz-retry-after are left out)."""

from __future__ import annotations

import os
import random
import socket
import time
from typing import BinaryIO
from urllib.parse import quote
from xml.etree import ElementTree

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, HTTPClientError, NoCredentialsError, ParamValidationError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.httpsession import URLLib3Session
from botocore.utils import get_environ_proxies
from urllib3.exceptions import HTTPError as URLLib3Error

ATTEMPTS = 3  # botocore's standard mode
_CONNECT_TIMEOUT, _READ_TIMEOUT = 5, 60
_TRANSIENT_STATUS = {500, 502, 503, 504}
_THROTTLING_STATUS = {429}
_TRANSIENT_CODES = {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"}
_THROTTLING_CODES = {
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
    "PriorRequestNotComplete", "EC2ThrottledException",
}
_MAX_BACKOFF = 20.0
# What tells botocore's S3 signer to leave the body out of the signature (UNSIGNED-PAYLOAD).
_UNSIGNED_BODY = Config(s3={"payload_signing_enabled": False})
_ERROR_BODY_LIMIT = 64 * 1024
# botocore's clients disable Nagle's algorithm (its default socket options); a session made without
# options would leave it on, and a small PUT (headers, then the body in a second write) would wait for
# the store's delayed ACK: 40 ms a thumbnail.
_SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


class S3Requests:
    """Signed single-object requests to one bucket: `get` (streamed) and `put`."""

    def __init__(self, client, credentials: Credentials | None, bucket: str, ca_bundle: str | None) -> None:
        """`client`, the boto3 S3 client whose endpoint and region to use; `credentials`, its session's
        (None: every request fails as boto3's would, with `NoCredentialsError`); `ca_bundle`, the
        session's (AWS_CA_BUNDLE or the profile's), else botocore's fallbacks: REQUESTS_CA_BUNDLE, then
        certifi's bundle. Proxies from the environment, as botocore takes them."""
        endpoint = client.meta.endpoint_url.rstrip("/")
        self._base = f"{endpoint}/{quote(bucket, safe='')}/"
        self._region = client.meta.region_name
        self._credentials = credentials
        verify = ca_bundle or os.environ.get("REQUESTS_CA_BUNDLE", True)  # botocore's EndpointCreator
        self._http = URLLib3Session(verify=verify, proxies=get_environ_proxies(endpoint),
                                    timeout=(_CONNECT_TIMEOUT, _READ_TIMEOUT), socket_options=_SOCKET_OPTIONS)

    def get(self, key: str, headers: dict[str, str], operation: str = "GetObject") -> AWSResponse:
        """A GET of `key` whose answer (2xx) is streamed: read `.raw`, then `.raw.release_conn()`.
        `ClientError` for an error answer, `BotoCoreError` when the store cannot be reached."""
        return self._send("GET", key, headers, None, operation)

    def put(self, key: str, body: BinaryIO, length: int, headers: dict[str, str],
            operation: str = "PutObject") -> None:
        """PUT the stream's next `length` bytes as `key`, the body unsigned: `headers` should carry an
        x-amz-checksum-* that the store verifies. Errors as `get`."""
        answer = self._send("PUT", key, {**headers, "Content-Length": str(length)}, body, operation)
        answer.raw.drain_conn()
        answer.raw.release_conn()

    def _send(self, method: str, key: str, headers: dict[str, str], body: BinaryIO | None,
              operation: str) -> AWSResponse:
        if not key:  # what botocore's parameter validation refuses before sending
            raise ParamValidationError(report="Invalid length for parameter Key, value: 0, valid min length: 1")
        url = self._base + quote(key, safe="/~")
        start = body.tell() if body is not None else 0
        for attempt in range(1, ATTEMPTS + 1):
            if body is not None:
                body.seek(start)
            request = AWSRequest(method, url, headers=headers)
            request.context["client_config"] = _UNSIGNED_BODY
            self._sign(request)
            # Sent as a plain dict: botocore's own preparation copies the headers into an email.Message,
            # whose every access costs more than the signature.
            prepared = AWSPreparedRequest(method, url, dict(request.headers.items()), body, stream_output=True)
            try:
                response = self._http.send(prepared)
            except (BotoConnectionError, HTTPClientError):
                if attempt == ATTEMPTS:
                    raise
                time.sleep(_backoff(attempt, throttled=False))
                continue
            if response.status_code < 300:
                return response
            code, message = _error(response)
            retryable = (response.status_code in _TRANSIENT_STATUS | _THROTTLING_STATUS
                         or code in _TRANSIENT_CODES | _THROTTLING_CODES)
            if not retryable or attempt == ATTEMPTS:
                raise ClientError({"Error": {"Code": code, "Message": message},
                                   "ResponseMetadata": {"HTTPStatusCode": response.status_code}}, operation)
            time.sleep(_backoff(attempt, throttled=code in _THROTTLING_CODES
                                or response.status_code in _THROTTLING_STATUS))
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _sign(self, request: AWSRequest) -> None:
        if self._credentials is None:
            raise NoCredentialsError()
        # Frozen per request, as botocore's RequestSigner does: refreshable credentials renew here.
        S3SigV4Auth(self._credentials.get_frozen_credentials(), "s3", self._region).add_auth(request)


def _error(response: AWSResponse) -> tuple[str, str]:
    """The S3 error code and message of an error answer; its status as the code when it has no S3
    error document (as botocore reports it)."""
    try:
        document = response.raw.read(_ERROR_BODY_LIMIT)
        response.raw.drain_conn()
    except URLLib3Error:
        document = b""
    finally:
        response.raw.release_conn()
    try:
        root = ElementTree.fromstring(document) if document else None
    except ElementTree.ParseError:
        root = None
    code = root.findtext("Code") if root is not None else None
    message = (root.findtext("Message") if root is not None else None) or ""
    return code or str(response.status_code), message


def _backoff(attempt: int, throttled: bool) -> float:
    """botocore's standard-mode delay before the next attempt: rand(0, 1) x min(base x 2^(attempt-1), 20 s),
    base 1 s for throttling and 50 ms otherwise."""
    return random.random() * min((1.0 if throttled else 0.05) * 2 ** (attempt - 1), _MAX_BACKOFF)
