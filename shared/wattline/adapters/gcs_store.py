"""ObjectStore on Google Cloud Storage (google-cloud-storage), and on fake-gcs-server locally.

The client is built lazily on first use. Pointing at fake-gcs-server: either set `STORAGE_EMULATOR_HOST`
(the library itself honours it and then uses anonymous credentials) or pass `endpoint=` (taken from settings),
which also selects anonymous credentials. SDK errors become wattline errors with `raise … from exc`:
404 → NotFoundError, 412 → PreconditionFailedError, 408/429/5xx and connection failures → TransientError,
any other API error → PermanentError. Retries use `google.api_core.retry` (the library's own predicate).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any

from wattline.adapters.objects import raise_unless_not_found
from wattline.errors import NotFoundError, PermanentError, PreconditionFailedError, TransientError
from wattline.ports import ObjectInfo


def md5_b64_to_hex(md5_b64: str | None) -> str:
    """GCS reports md5 as base64; the ObjectStore port speaks hex (like an S3 ETag)."""
    if not md5_b64:
        return ""
    try:
        return base64.b64decode(md5_b64).hex()
    except (binascii.Error, ValueError):
        return ""


_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def _translate(exc: Exception, what: str) -> Exception:
    """Map a google-cloud-storage / api-core / transport error onto wattline's error kinds."""
    import requests
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions
    from google.cloud.storage.exceptions import InvalidResponse

    if isinstance(exc, api_exceptions.NotFound):
        return NotFoundError(f"{what}: not found")
    if isinstance(exc, api_exceptions.PreconditionFailed):
        return PreconditionFailedError(f"{what}: precondition failed (object exists or generation changed)")
    status: int | None = None
    if isinstance(exc, api_exceptions.GoogleAPICallError):
        status = exc.code
    elif isinstance(exc, InvalidResponse):
        status = exc.response.status_code
    transport = (
        ConnectionError,
        TimeoutError,
        requests.RequestException,
        auth_exceptions.TransportError,
        api_exceptions.RetryError,
    )
    if (status is not None and status in _TRANSIENT_STATUS) or isinstance(exc, transport):
        return TransientError(f"{what}: transient failure ({type(exc).__name__}); retry later")
    if status is not None:
        return PermanentError(f"{what}: {type(exc).__name__} (HTTP {status}); check bucket name and permissions")
    return exc


class GcsObjectStore:
    """One GCS bucket behind the ObjectStore port.

    `project`/`endpoint` come from settings; `client` may be injected (tests). `retry_deadline_s` bounds the
    SDK's exponential-backoff retries of each call before a TransientError reaches the caller.
    """

    def __init__(
        self,
        bucket: str,
        *,
        project: str | None = None,
        endpoint: str | None = None,
        client: Any | None = None,
        timeout_s: float = 60.0,
        retry_deadline_s: float = 60.0,
    ) -> None:
        self.name = bucket
        self._project = project
        self._endpoint = endpoint
        self._client = client
        self._bucket: Any | None = None
        self._timeout = timeout_s
        self._retry_deadline = retry_deadline_s

    # -- lazy SDK objects ------------------------------------------------------------------------------------
    def _get_bucket(self) -> Any:
        if self._bucket is None:
            if self._client is None:
                import google.cloud.storage as storage

                if self._endpoint:
                    from google.auth.credentials import AnonymousCredentials

                    self._client = storage.Client(
                        project=self._project or "local",
                        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                        client_options={"api_endpoint": self._endpoint},
                    )
                else:
                    self._client = storage.Client(project=self._project)
            self._bucket = self._client.bucket(self.name)
        return self._bucket

    def _retry(self) -> Any:
        from google.cloud.storage.retry import DEFAULT_RETRY

        return DEFAULT_RETRY.with_timeout(self._retry_deadline)

    @staticmethod
    def _info(blob: Any) -> ObjectInfo:
        generation = blob.generation
        return ObjectInfo(
            key=blob.name,
            size=int(blob.size or 0),
            etag=md5_b64_to_hex(blob.md5_hash),
            generation=str(generation) if generation is not None else None,
        )

    # -- ObjectStore ---------------------------------------------------------------------------------------
    def get(self, key: str) -> bytes:
        try:
            data: bytes = self._get_bucket().blob(key).download_as_bytes(timeout=self._timeout, retry=self._retry())
        except Exception as exc:
            raise _translate(exc, f"gs://{self.name}/{key}") from exc
        return data

    def get_generation(self, key: str, generation: int) -> bytes:
        """The bytes of one generation of an object (NotFoundError once that generation was replaced)."""
        try:
            blob = self._get_bucket().blob(key, generation=generation)
            data: bytes = blob.download_as_bytes(timeout=self._timeout, retry=self._retry())
        except Exception as exc:
            raise _translate(exc, f"gs://{self.name}/{key}#{generation}") from exc
        return data

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        if_absent: bool = False,
    ) -> ObjectInfo:
        # One-shot uploads are atomic: the object appears (finalize) only when complete. Our writes are
        # deterministic, so retrying an unconditional upload is safe; create-only writes use generation 0.
        blob = self._get_bucket().blob(key)
        try:
            blob.upload_from_string(
                data,
                content_type=content_type,
                if_generation_match=0 if if_absent else None,
                timeout=self._timeout,
                retry=self._retry(),
            )
        except Exception as exc:
            raise _translate(exc, f"gs://{self.name}/{key}") from exc
        return self._info(blob)

    def head(self, key: str) -> ObjectInfo | None:
        try:
            blob = self._get_bucket().get_blob(key, timeout=self._timeout, retry=self._retry())
        except Exception as exc:
            raise_unless_not_found(_translate(exc, f"gs://{self.name}/{key}"), exc)
            return None
        return None if blob is None else self._info(blob)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        try:
            blobs = self._get_bucket().list_blobs(prefix=prefix, timeout=self._timeout, retry=self._retry())
            infos = [self._info(blob) for blob in blobs]
        except Exception as exc:
            raise _translate(exc, f"gs://{self.name}/{prefix}*") from exc
        # GCS lists in lexicographic key order already; sort anyway so every store behaves the same.
        yield from sorted(infos, key=lambda info: info.key)

    def delete(self, key: str) -> None:
        try:
            self._get_bucket().blob(key).delete(timeout=self._timeout, retry=self._retry())
        except Exception as exc:
            raise_unless_not_found(_translate(exc, f"gs://{self.name}/{key}"), exc)

    def ensure_bucket(self, location: str = "EU") -> None:
        """Create the bucket if missing (local set-up and tests; in the cloud infra/gcp creates it)."""
        bucket = self._get_bucket()
        try:
            if not bucket.exists(timeout=self._timeout, retry=self._retry()):
                bucket.create(location=location)
        except Exception as exc:
            from google.api_core import exceptions as api_exceptions

            if isinstance(exc, api_exceptions.Conflict):
                return
            raise _translate(exc, f"gs://{self.name}") from exc
