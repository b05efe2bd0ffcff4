"""Ports: what the domain needs from the outside world. Adapters in `wattline.adapters` implement them.

Domain functions take these as parameters; they never build SDK clients themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from numpy.typing import NDArray


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str  # S3 ETag / GCS md5 in hex, without quotes; equal content gives an equal etag
    generation: str | None = None  # GCS generation or S3 version id, when the store has one


@runtime_checkable
class ObjectStore(Protocol):
    """A bucket: S3, GCS or a local directory. Keys use '/' separators.

    Errors: a missing key raises `wattline.errors.NotFoundError`; throttling, 5xx and network failures raise
    `TransientError`; a lost create-only race raises `PreconditionFailedError`.
    """

    name: str

    def get(self, key: str) -> bytes: ...

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        if_absent: bool = False,
    ) -> ObjectInfo: ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object under the prefix, sorted by key, paginating as needed."""
        ...

    def delete(self, key: str) -> None: ...


@runtime_checkable
class Publisher(Protocol):
    """A message topic (Pub/Sub, or a local outbox). Returns the message id."""

    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str] | None = None) -> str: ...


@runtime_checkable
class Warehouse(Protocol):
    """The analytical store: BigQuery in the cloud, DuckDB embedded. SQL is written in BigQuery's dialect."""

    def ensure_schema(self) -> None:
        """Create dataset, tables and views if missing (idempotent)."""
        ...

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]: ...

    def merge_rows(self, table: str, rows: Sequence[Mapping[str, Any]], key: Sequence[str]) -> int:
        """Insert or replace rows by key (idempotent). Returns the number of rows written."""
        ...


@runtime_checkable
class ColumnarWarehouse(Warehouse, Protocol):
    """A Warehouse that also answers a query as one numpy array per column (BigQuery and DuckDB do), for reads
    of many rows that would be costly as dicts."""

    def query_columns(self, sql: str, params: Mapping[str, Any] | None = None) -> dict[str, NDArray[Any]]:
        """The result's columns by name: FLOAT64 as float64 (NULL → NaN), INT64 as int64, BOOL as bool, STRING as
        str. A NULL in a column that is not FLOAT64 is a PermanentError: write the query to leave none."""
        ...
