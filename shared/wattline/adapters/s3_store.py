"""ObjectStore on Amazon S3 (or any S3 API such as moto server), through boto3.

The client is built lazily by a small cached factory (`s3_client`) from settings values, with botocore's
adaptive retry mode; SDK errors are translated into wattline's error kinds by their error codes.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from wattline.adapters.objects import md5_hex, raise_unless_not_found
from wattline.errors import NotFoundError, PermanentError, PreconditionFailedError, TransientError
from wattline.ports import ObjectInfo

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import PaginatorConfigTypeDef

_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
_PRECONDITION = frozenset({"PreconditionFailed", "412"})
_TRANSIENT = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "ServiceUnavailable",
        "ConditionalRequestConflict",  # 409: a concurrent conditional write is in flight; retry
        "OperationAborted",
    }
)


@lru_cache(maxsize=8)
def s3_client(endpoint_url: str | None, region: str, max_attempts: int = 5) -> S3Client:
    """One boto3 S3 client per (endpoint, region, attempts), built on first use (never at import time)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "adaptive", "max_attempts": max_attempts},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=64,  # >= the aggregator's reader threads (WATTLINE_CONCURRENCY <= 64)
    )
    client: S3Client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)
    return client


def translate_error(exc: Exception, what: str) -> Exception:
    """A botocore exception as the wattline error kind a caller handles (raise it `from exc`)."""
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        HTTPClientError,
        NoCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        error: dict[str, Any] = dict(exc.response.get("Error", {}))
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in _NOT_FOUND or status == 404:
            return NotFoundError(f"{what}: not found ({code})")
        if code in _PRECONDITION or status == 412:
            return PreconditionFailedError(f"{what}: precondition failed ({code})")
        if code in _TRANSIENT or status >= 500 or status == 429:
            return TransientError(f"{what}: S3 is unavailable for now ({code}, HTTP {status})")
        return PermanentError(f"{what}: S3 refused the request ({code}, HTTP {status})")
    if isinstance(exc, NoCredentialsError):
        return PermanentError(f"{what}: no AWS credentials found; configure credentials or a role")
    if isinstance(exc, ConnectionError | HTTPClientError | ReadTimeoutError):
        return TransientError(f"{what}: cannot reach S3 ({type(exc).__name__})")
    return PermanentError(f"{what}: {type(exc).__name__}: {exc}")


def _etag(raw: str | None, data: bytes | None = None) -> str:
    if raw:
        return raw.strip('"')
    return md5_hex(data or b"")


class S3ObjectStore:
    """One S3 bucket. `if_absent=True` writes with `If-None-Match: *` (S3 conditional writes, supported by moto 5)."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str,
        max_attempts: int = 5,
        page_size: int | None = None,
        client: S3Client | None = None,
    ) -> None:
        self.name = bucket
        self._pagination: PaginatorConfigTypeDef = {"PageSize": page_size} if page_size else {}
        self._endpoint_url = endpoint_url
        self._region = region
        self._max_attempts = max_attempts
        self._client = client

    @property
    def client(self) -> S3Client:
        if self._client is None:
            self._client = s3_client(self._endpoint_url, self._region, self._max_attempts)
        return self._client

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.name, Key=key)
            body: bytes = response["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc, f"get s3://{self.name}/{key}") from exc
        return body

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        if_absent: bool = False,
    ) -> ObjectInfo:
        from botocore.exceptions import BotoCoreError, ClientError

        arguments: dict[str, Any] = {"Bucket": self.name, "Key": key, "Body": data, "ContentType": content_type}
        if if_absent:
            arguments["IfNoneMatch"] = "*"
        try:
            response = self.client.put_object(**arguments)
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc, f"put s3://{self.name}/{key}") from exc
        return ObjectInfo(
            key=key, size=len(data), etag=_etag(response.get("ETag"), data), generation=response.get("VersionId")
        )

    def head(self, key: str) -> ObjectInfo | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.head_object(Bucket=self.name, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise_unless_not_found(translate_error(exc, f"head s3://{self.name}/{key}"), exc)
            return None
        return ObjectInfo(
            key=key,
            size=int(response.get("ContentLength", 0)),
            etag=_etag(response.get("ETag")),
            generation=response.get("VersionId"),
        )

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object under `prefix`, in S3's key order (UTF-8 binary = Python str order), page by page."""
        from botocore.exceptions import BotoCoreError, ClientError

        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.name, Prefix=prefix, PaginationConfig=self._pagination):
                for item in page.get("Contents", []):
                    yield ObjectInfo(key=item["Key"], size=int(item.get("Size", 0)), etag=_etag(item.get("ETag")))
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc, f"list s3://{self.name}/{prefix}") from exc

    def list_keys(self, prefix: str) -> builtins.list[str]:
        return [info.key for info in self.list(prefix)]

    def list_keys_after(self, prefix: str, start_after: str, *, limit: int | None = None) -> builtins.list[str]:
        """Keys under `prefix` that sort after `start_after` (ListObjectsV2 `StartAfter`), in key order; at most
        `limit` of them (then `MaxKeys` is `limit` too, so a one-key probe is one small request)."""
        from botocore.exceptions import BotoCoreError, ClientError

        pagination = self._pagination.copy()
        if limit is not None:
            pagination["MaxItems"] = limit
            pagination["PageSize"] = min(limit, pagination.get("PageSize", 1000))
        paginator = self.client.get_paginator("list_objects_v2")
        found: builtins.list[str] = []
        try:
            for page in paginator.paginate(
                Bucket=self.name, Prefix=prefix, StartAfter=start_after, PaginationConfig=pagination
            ):
                found.extend(item["Key"] for item in page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc, f"list s3://{self.name}/{prefix} after {start_after}") from exc
        return found if limit is None else found[:limit]

    def list_prefixes(self, prefix: str) -> builtins.list[str]:
        """The next-level 'directories' under `prefix` (CommonPrefixes with delimiter '/'), sorted."""
        from botocore.exceptions import BotoCoreError, ClientError

        paginator = self.client.get_paginator("list_objects_v2")
        prefixes: builtins.list[str] = []
        try:
            for page in paginator.paginate(
                Bucket=self.name, Prefix=prefix, Delimiter="/", PaginationConfig=self._pagination
            ):
                prefixes.extend(item["Prefix"] for item in page.get("CommonPrefixes", []) if "Prefix" in item)
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc, f"list s3://{self.name}/{prefix}") from exc
        return sorted(prefixes)

    def delete_many(self, keys: Sequence[str]) -> None:
        """Delete up to 1,000 keys in one DeleteObjects request (missing keys count as deleted, as in `delete`).
        A key S3 could not delete raises TransientError (nothing tells which of the others went: re-run)."""
        from botocore.exceptions import BotoCoreError, ClientError

        if not keys:
            return
        if len(keys) > 1000:
            raise ValueError("DeleteObjects takes at most 1,000 keys")
        try:
            response = self.client.delete_objects(
                Bucket=self.name, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc, f"delete {len(keys)} objects from s3://{self.name}") from exc
        errors = response.get("Errors") or []
        if errors:
            first = errors[0]
            raise TransientError(
                f"delete s3://{self.name}: {len(errors)} of {len(keys)} keys not deleted, e.g. "
                f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}"
            )

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.name, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise_unless_not_found(translate_error(exc, f"delete s3://{self.name}/{key}"), exc)
