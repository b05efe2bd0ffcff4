"""BundleStore on S3: archive bundles written straight into an archive storage class, verified by S3's checksum.

- `put_bundle` uploads with `ChecksumAlgorithm=SHA256`: botocore sends the SHA-256 of the bytes, S3 checks it
  against what arrived (rejecting a corrupted upload) and stores it with the object.
- `stat_bundle` asks S3 for size and stored SHA-256 with HeadObject (`ChecksumMode=ENABLED`), which works on
  GLACIER / DEEP_ARCHIVE objects that cannot be read without a restore; the archiver compares it with the
  SHA-256 it computed before deleting anything.
- `request_restore` / `get_bundle`: GetObject on an archived object fails with InvalidObjectState until a
  RestoreObject request has completed (hours on AWS; at once on moto).
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

from wattline.adapters.s3_store import translate_error
from wattline.archive import BundleNotReadableError, RestoreState, StorageClass, StoredBundle
from wattline.errors import NotFoundError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_ARCHIVED = frozenset({StorageClass.GLACIER.value, StorageClass.DEEP_ARCHIVE.value})
_ONGOING = re.compile(r'ongoing-request="(true|false)"')


def _hex_from_b64(value: str | None) -> str | None:
    if not value:
        return None
    return base64.b64decode(value).hex()


class S3BundleStore:
    """Bundles in one S3 bucket (the data bucket; keys under archive/)."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put_bundle(self, key: str, data: bytes, *, sha256: str, storage_class: StorageClass) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType="application/gzip",
                StorageClass=storage_class.value,
                ChecksumAlgorithm="SHA256",
                Metadata={"sha256": sha256},
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc, f"put bundle s3://{self.bucket}/{key}") from exc

    def _head(self, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response: dict[str, Any] = dict(
                self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
            )
        except (ClientError, BotoCoreError) as exc:
            error = translate_error(exc, f"head bundle s3://{self.bucket}/{key}")
            if isinstance(error, NotFoundError):
                return None
            raise error from exc
        return response

    def stat_bundle(self, key: str) -> StoredBundle | None:
        response = self._head(key)
        if response is None:
            return None
        return StoredBundle(
            key=key,
            size=int(response.get("ContentLength", 0)),
            sha256=_hex_from_b64(response.get("ChecksumSHA256")),
            storage_class=str(response.get("StorageClass") or StorageClass.STANDARD.value),
        )

    def _state(self, response: dict[str, Any]) -> RestoreState:
        if str(response.get("StorageClass") or "STANDARD") not in _ARCHIVED:
            return RestoreState.AVAILABLE
        match = _ONGOING.search(str(response.get("Restore") or ""))
        if match is None:
            return RestoreState.ARCHIVED
        return RestoreState.IN_PROGRESS if match[1] == "true" else RestoreState.AVAILABLE

    def get_bundle(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            body: bytes = response["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidObjectState":
                raise BundleNotReadableError(f"s3://{self.bucket}/{key} is archived: restore it first") from exc
            raise translate_error(exc, f"get bundle s3://{self.bucket}/{key}") from exc
        except BotoCoreError as exc:
            raise translate_error(exc, f"get bundle s3://{self.bucket}/{key}") from exc
        return body

    def restore_state(self, key: str) -> RestoreState | None:
        response = self._head(key)
        return None if response is None else self._state(response)

    def request_restore(self, key: str, *, days: int, tier: str) -> RestoreState:
        from botocore.exceptions import BotoCoreError, ClientError

        response = self._head(key)
        if response is None:
            raise NotFoundError(f"s3://{self.bucket}/{key} does not exist")
        state = self._state(response)
        if state is not RestoreState.ARCHIVED:
            return state
        try:
            self.client.restore_object(
                Bucket=self.bucket,
                Key=key,
                RestoreRequest={"Days": days, "GlacierJobParameters": {"Tier": tier}},  # type: ignore[typeddict-item]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "RestoreAlreadyInProgress":
                raise translate_error(exc, f"restore s3://{self.bucket}/{key}") from exc
        except BotoCoreError as exc:
            raise translate_error(exc, f"restore s3://{self.bucket}/{key}") from exc
        response = self._head(key)
        return RestoreState.IN_PROGRESS if response is None else self._state(response)
