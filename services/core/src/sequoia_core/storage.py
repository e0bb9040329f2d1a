"""S3 storage of originals and derivatives, with deterministic keys and vendor errors translated."""

from __future__ import annotations

import base64
import hashlib
import io
import math
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from typing import BinaryIO
from uuid import UUID

import boto3
import botocore.session
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, ParamValidationError
from urllib3.exceptions import HTTPError as URLLib3Error

from sequoia_core.errors import ErrorCode, ObjectNotFound, PermanentError, TransientError
from sequoia_core.s3_requests import S3Requests
from sequoia_core.settings import Settings

# Voyage slugs become S3 key segments: 1-64 lowercase letters, digits and inner hyphens.
VOYAGE_SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
VOYAGE_SLUG_MAX_LENGTH = 64
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
_DELETE_BATCH = 1000  # the most one DeleteObjects request may name
_CHANGED_CODES = {"PreconditionFailed", "412"}
# A range of an empty object is unsatisfiable: it has no byte 0.
_EMPTY_RANGE_CODES = {"InvalidRange", "416"}
_BAD_PARTS_CODES = {"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML"}
_CHUNK = 1024 * 1024
# A multipart upload holds one chunk in memory per thread: 4 x 8 MiB, not boto3's default 10 x 8 MiB.
_TRANSFER = TransferConfig(max_concurrency=4)


@dataclass(frozen=True)
class StoredObject:
    """One object of a listing."""

    key: str
    last_modified: datetime


def original_key(voyage_slug: str, media_id: UUID, extension: str) -> str:
    """Where an original lives; the uploaded file name never becomes part of a key."""
    return f"originals/{voyage_slug}/{media_id}/original.{extension}"


def derivative_key(voyage_slug: str, media_id: UUID, name: str, extension: str) -> str:
    """Where a derivative lives; the same item always writes the same keys, so repeats are harmless."""
    return f"derivatives/{voyage_slug}/{media_id}/{name}.{extension}"


def _translate(err: Exception, key: str) -> Exception:
    if isinstance(err, ParamValidationError):
        return PermanentError(f"not a valid S3 request for {key!r}: {err}", code=ErrorCode.INVALID_KEY)
    if isinstance(err, ClientError):
        code = str(err.response.get("Error", {}).get("Code", ""))
        if code in _MISSING_CODES:
            return ObjectNotFound(f"s3 object {key} does not exist")
        if code in _CHANGED_CODES:
            return PermanentError(f"s3 object {key} changed while it was being read", code=ErrorCode.ORIGINAL_CHANGED)
    return TransientError(f"s3 unavailable for {key}: {err}", code=ErrorCode.STORAGE_UNAVAILABLE)


def _client_config(**s3_options: bool) -> Config:
    """The one botocore configuration of our S3 clients (`s3_options`: what one client adds)."""
    return Config(
        signature_version="s3v4",
        s3={"addressing_style": "path", **s3_options},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
    )


def _remaining_bytes(stream: BinaryIO) -> float:
    """Bytes from the stream's position to its end; infinite when it cannot seek."""
    try:
        position = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(position)
    except (AttributeError, OSError, ValueError):
        return math.inf
    return end - position


def _object_size(headers) -> int:
    """The whole object's size from a ranged GET's answer: Content-Range's total ("bytes 0-9/10"),
    or the body's length when the store sent the whole object (200)."""
    total = (headers.get("Content-Range") or "").rpartition("/")[2]
    return int(total) if total.isdigit() else int(headers["Content-Length"])


def _sha256(stream: BinaryIO) -> bytes:
    """The digest of the stream's remaining bytes, the stream left where it was."""
    position, digest = stream.tell(), hashlib.sha256()
    while chunk := stream.read(_CHUNK):  # not hashlib.file_digest: it hashes a BytesIO whole
        digest.update(chunk)
    stream.seek(position)
    return digest.digest()


class Storage:
    """The one place that talks to S3."""

    def __init__(self, settings: Settings) -> None:
        self.bucket = settings.s3_bucket
        self._create_bucket = settings.s3_create_bucket
        self._expiry = settings.presign_expiry_seconds
        # One botocore session: the clients and the hot path share its resolved credentials (explicit
        # keys, else the environment, web identity or instance role) and its configuration.
        core = botocore.session.get_session()
        session = boto3.Session(
            botocore_session=core,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id.get_secret_value() if settings.s3_access_key_id else None,
            aws_secret_access_key=(
                settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
            ),
        )
        self._client = session.client("s3", endpoint_url=settings.s3_endpoint_url, config=_client_config())
        # The worker's GET of the original, its PUTs of derivatives and the API's PUT of an original,
        # without botocore's per-call machinery (s3_requests.py); everything else stays on boto3.
        self._requests = S3Requests(self._client, core.get_credentials(), self.bucket,
                                    core.get_config_variable("ca_bundle"))
        # Presigned URLs must name the endpoint that browsers reach, which may differ in a cluster.
        public = settings.s3_public_endpoint_url or settings.s3_endpoint_url
        self._presigner = session.client("s3", endpoint_url=public, config=_client_config())

    def ensure_bucket(self) -> None:
        """Check the bucket answers (`TransientError` if S3 does not); create it when missing and
        configured to (S3_CREATE_BUCKET). Safe to repeat and to race: another creator wins quietly."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as err:
            if self._create_bucket and str(err.response.get("Error", {}).get("Code")) in {"404", "NoSuchBucket"}:
                self._create()
                return
            raise _translate(err, self.bucket) from err
        except (BotoCoreError, EndpointConnectionError) as err:
            raise _translate(err, self.bucket) from err

    def _create(self) -> None:
        try:
            self._client.create_bucket(Bucket=self.bucket)
        except ClientError as err:
            if str(err.response.get("Error", {}).get("Code")) != "BucketAlreadyOwnedByYou":
                raise _translate(err, self.bucket) from err
        except BotoCoreError as err:
            raise _translate(err, self.bucket) from err

    def put_stream(self, key: str, stream: BinaryIO, content_type: str, sha256: bytes | None = None) -> None:
        """Upload a file object: one PUT from this thread when it is under the multipart threshold
        (s3transfer would start a thread pool for it), multipart for larger or unsized streams.

        A single PUT sends the SHA-256 of the stream's remaining bytes as the object's checksum, which
        the store verifies (the object keeps it: `ChecksumMode`), and leaves the body unsigned: one hash,
        not a second to sign it. `sha256`, that digest when the caller has it (then nothing hashes the
        body here). A mismatch is refused (`BadDigest`, a `TransientError` here)."""
        try:
            if (size := _remaining_bytes(stream)) < _TRANSFER.multipart_threshold:
                digest = sha256 if sha256 is not None else _sha256(stream)
                self._requests.put(key, stream, int(size), {"Content-Type": content_type,
                                                            "x-amz-checksum-sha256": base64.b64encode(digest).decode()})
            else:
                self._client.upload_fileobj(stream, self.bucket, key, ExtraArgs={"ContentType": content_type},
                                            Config=_TRANSFER)
        except (BotoCoreError, ClientError) as err:
            raise _translate(err, key) from err

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Upload a local file."""
        with path.open("rb") as stream:
            self.put_stream(key, stream, content_type)

    def download(self, key: str, path: Path, max_bytes: int) -> None:
        """Fetch an object into a local file, refusing one over `max_bytes` (`file_too_large`). One
        GET asks for at most `max_bytes` + 1 bytes; the object's size, which the answer's
        Content-Range states, is checked before the body is read, and the bytes read are counted."""
        try:
            response = self._requests.get(key, {"Range": f"bytes=0-{max_bytes}"})
        except ClientError as err:
            if str(err.response.get("Error", {}).get("Code")) in _EMPTY_RANGE_CODES:  # only an empty object
                path.write_bytes(b"")
                return
            raise _translate(err, key) from err
        except BotoCoreError as err:
            raise _translate(err, key) from err
        body = response.raw
        written = 0
        try:
            if _object_size(response.headers) > max_bytes:
                raise PermanentError(f"s3 object {key} is over the limit of {max_bytes} bytes",
                                     code=ErrorCode.FILE_TOO_LARGE)
            with path.open("wb") as out:
                while chunk := body.read(_CHUNK):
                    written += out.write(chunk)
        except URLLib3Error as err:
            raise TransientError(f"s3 unavailable for {key}: {err}", code=ErrorCode.STORAGE_UNAVAILABLE) from err
        finally:
            if written < int(response.headers.get("Content-Length", 0)):
                body.close()  # unread bytes: the connection cannot serve another request
            body.release_conn()
        if written > max_bytes:
            raise PermanentError(f"s3 object {key} is over the limit of {max_bytes} bytes",
                                 code=ErrorCode.FILE_TOO_LARGE)
        if written != int(response.headers.get("Content-Length", written)):
            raise TransientError(f"s3 sent {written} of the {response.headers['Content-Length']} bytes of {key}",
                                 code=ErrorCode.STORAGE_UNAVAILABLE)

    def copy(self, source_key: str, key: str, etag: str, content_type: str) -> None:
        """Copy an object within the bucket, only if its ETag is still `etag` (`original_changed` if not)."""
        try:
            self._client.copy({"Bucket": self.bucket, "Key": source_key}, self.bucket, key, Config=_TRANSFER,
                              ExtraArgs={"CopySourceIfMatch": etag, "ContentType": content_type,
                                         "MetadataDirective": "REPLACE"})
        except (BotoCoreError, ClientError) as err:
            raise _translate(err, source_key) from err

    def head(self, key: str) -> dict:
        """The object's metadata (`ContentLength`, `ContentType`); `ObjectNotFound` if absent."""
        try:
            return self._client.head_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as err:
            raise _translate(err, key) from err

    def read_prefix(self, key: str, length: int, if_match: str | None = None) -> bytes:
        """The first `length` bytes of an object, for sniffing (of the version `if_match` names, when given)."""
        condition = {"IfMatch": if_match} if if_match else {}
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{length - 1}",
                                               **condition)
            return response["Body"].read()
        except (BotoCoreError, ClientError) as err:
            raise _translate(err, key) from err

    def iter_objects(self, prefix: str) -> Iterator[StoredObject]:
        """Every object under `prefix`, with when it was last written, one listing page at a time."""
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                yield from (StoredObject(obj["Key"], obj["LastModified"]) for obj in page.get("Contents", []))
        except (BotoCoreError, ClientError) as err:
            raise _translate(err, prefix) from err

    def delete(self, keys: list[str]) -> None:
        """Remove objects; a key already absent is no error."""
        for start in range(0, len(keys), _DELETE_BATCH):
            self._delete_batch(keys[start:start + _DELETE_BATCH])

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under `prefix`, one DeleteObjects request per listing page (at most
        1000 keys each); returns how many were removed. `TransientError` if S3 fails or keeps a key."""
        paginator = self._client.get_paginator("list_objects_v2")
        removed = 0
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix,
                                           PaginationConfig={"PageSize": _DELETE_BATCH}):
                keys = [obj["Key"] for obj in page.get("Contents", [])]
                if keys:
                    self._delete_batch(keys)
                    removed += len(keys)
        except (BotoCoreError, ClientError) as err:
            raise _translate(err, prefix) from err
        return removed

    def _delete_batch(self, keys: list[str]) -> None:
        # Quiet mode answers only the keys S3 could not delete: any of them means the work is not done.
        try:
            answer = self._client.delete_objects(Bucket=self.bucket,
                                                 Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
        except (BotoCoreError, ClientError) as err:
            raise _translate(err, keys[0]) from err
        if errors := answer.get("Errors"):
            first = errors[0]
            raise TransientError(f"s3 kept {len(errors)} object(s), e.g. {first.get('Key')}: {first.get('Code')}",
                                 code=ErrorCode.STORAGE_UNAVAILABLE)

    @property
    def public_origin(self) -> str:
        """The scheme and host of presigned URLs (what browsers fetch derivatives from)."""
        parts = urlsplit(self._presigner.meta.endpoint_url)
        return f"{parts.scheme}://{parts.netloc}"

    def presigned_put(self, key: str, expires_in: int) -> str:
        """A time-limited URL a client PUTs one object to (named at the public endpoint)."""
        return self._presigner.generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in)

    def create_multipart(self, key: str) -> str:
        """Start a multipart upload; its S3 upload id."""
        try:
            return self._client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        except (BotoCoreError, ClientError) as err:
            raise _translate(err, key) from err

    def presigned_part(self, key: str, upload_id: str, part_number: int, expires_in: int) -> str:
        """A time-limited URL a client PUTs one part of a multipart upload to."""
        return self._presigner.generate_presigned_url(
            "upload_part", Params={"Bucket": self.bucket, "Key": key, "UploadId": upload_id,
                                   "PartNumber": part_number}, ExpiresIn=expires_in)

    def complete_multipart(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """Join the uploaded parts (number, ETag) into the object; `invalid_parts` if S3 refuses the
        list (a part missing, too small or with another ETag), `ObjectNotFound` if the upload is gone."""
        body = {"Parts": [{"PartNumber": number, "ETag": etag} for number, etag in parts]}
        try:
            self._client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                                   MultipartUpload=body)
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code", ""))
            if code in _BAD_PARTS_CODES:
                raise PermanentError(f"S3 refused the parts of {key}: {code}", code=ErrorCode.INVALID_PARTS) from err
            if code == "NoSuchUpload":
                raise ObjectNotFound(f"no multipart upload {upload_id} for {key}") from err
            raise _translate(err, key) from err
        except BotoCoreError as err:
            raise _translate(err, key) from err

    def abort_multipart(self, key: str) -> int:
        """Abort every multipart upload open for exactly `key` (their parts are freed); how many."""
        aborted = 0
        try:
            pages = self._client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=key)
            for upload in (u for page in pages for u in page.get("Uploads", []) if u["Key"] == key):
                try:
                    self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload["UploadId"])
                except ClientError as err:
                    if str(err.response.get("Error", {}).get("Code", "")) != "NoSuchUpload":
                        raise
                aborted += 1
        except (BotoCoreError, ClientError) as err:
            raise _translate(err, key) from err
        return aborted

    def presigned_url(self, key: str) -> str:
        """A time-limited GET URL for one object."""
        return self._presigner.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self._expiry
        )
