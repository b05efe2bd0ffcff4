"""Warehouse on BigQuery (google-cloud-bigquery), and on bqemulator locally.

- The client is built lazily from the constructor's values: project, location, and an optional `endpoint`
  (bqemulator's REST URL), which also selects anonymous credentials.
- `ensure_schema()` runs every `wattline/sql` object for BigQuery as a DDL query job, placeholders filled.
  bqemulator 1.4 does not parse `WITH PARTITION COLUMNS`; with an emulator endpoint that clause is dropped
  (the emulator accepts the external table and returns no rows from it either way).
- `merge_rows()` loads the de-duplicated rows into a staging table (NDJSON load job with the target's explicit
  schema: autodetect would guess types) and runs one MERGE on the key, then drops the staging table (it also
  expires after a day, should the process die). Running it twice gives the same table: MERGE by key is
  idempotent; job ids come from the library (with a readable prefix), so a retried request finds its job
  instead of starting a second one.
- API calls use google.api_core retries (`DEFAULT_RETRY`, `DEFAULT_JOB_RETRY`, bounded by `retry_timeout_s`,
  120 s by default, so a caller gets a TransientError rather than a 10-minute wait); errors become wattline errors
  with `raise … from exc`: 404 → NotFoundError, 408/429/5xx/transport/retry exhaustion → TransientError, any
  other API error → PermanentError.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from wattline import defaults
from wattline.errors import NotFoundError, PermanentError, TransientError, WattlineError
from wattline.warehouse.rows import check_columns, dedupe, identifier, json_value, result_value, row_column
from wattline.warehouse.schema import SchemaContext, placeholders, render, schema_objects, strip_statement

if TYPE_CHECKING:
    from google.cloud import bigquery
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_PARTITION_COLUMNS = re.compile(r"WITH\s+PARTITION\s+COLUMNS\s*\([^()]*\)", re.IGNORECASE)
STAGING_TTL = timedelta(days=1)


def translate_error(exc: Exception, what: str) -> WattlineError:
    """Map a google-api-core / transport error onto wattline's error kinds (by type and status, not text)."""
    import requests
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions

    if isinstance(exc, api_exceptions.NotFound):
        return NotFoundError(f"{what}: not found ({exc.message}); run `wattline gcp init` to create the objects")
    transport = (
        ConnectionError,
        TimeoutError,
        requests.RequestException,
        auth_exceptions.TransportError,
        api_exceptions.RetryError,
    )
    status = exc.code if isinstance(exc, api_exceptions.GoogleAPICallError) else None
    rate_limited = isinstance(exc, api_exceptions.Forbidden) and any(
        isinstance(e, Mapping) and e.get("reason") in {"rateLimitExceeded", "quotaExceeded"} for e in exc.errors
    )
    if isinstance(exc, transport) or (isinstance(status, int) and status in _TRANSIENT_STATUS) or rate_limited:
        return TransientError(f"{what}: transient failure ({type(exc).__name__}); retry later")
    if isinstance(exc, api_exceptions.GoogleAPICallError):
        return PermanentError(f"{what}: {type(exc).__name__} (HTTP {status}): {exc.message}")
    return PermanentError(f"{what}: {type(exc).__name__}: {exc}")


def _is_api_error(exc: Exception) -> bool:
    import requests
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions

    return isinstance(
        exc,
        api_exceptions.GoogleAPIError
        | auth_exceptions.TransportError
        | requests.RequestException
        | ConnectionError
        | TimeoutError,
    )


def query_parameter(name: str, value: Any) -> Any:
    """A named BigQuery query parameter for a Python value (None is a NULL STRING)."""
    from google.cloud import bigquery

    def scalar_type(item: Any) -> str:
        if item is None or isinstance(item, str):
            return "STRING"
        if isinstance(item, bool):
            return "BOOL"
        if isinstance(item, int):
            return "INT64"
        if isinstance(item, float):
            return "FLOAT64"
        if isinstance(item, Decimal):
            return "NUMERIC"
        if isinstance(item, datetime):
            return "TIMESTAMP"
        if isinstance(item, date):
            return "DATE"
        raise PermanentError(f"query parameter {name!r}: unsupported type {type(item).__name__}")

    if isinstance(value, list | tuple):
        element = scalar_type(value[0]) if value else "STRING"
        return bigquery.ArrayQueryParameter(name, element, list(value))
    return bigquery.ScalarQueryParameter(name, scalar_type(value), value)


def merge_statement(
    target: str, staging: str, columns: Sequence[str], keys: Sequence[str], bound_field: str | None = None
) -> str:
    """MERGE staging into target by key. With `bound_field` (the partitioning column, part of the key) the ON
    clause also bounds the target to @bound_lo..@bound_hi, so BigQuery reads only the batch's partitions; every
    source row lies inside the bounds, so no match is lost."""
    match = " AND ".join(f"T.`{k}` = S.`{k}`" for k in keys)
    if bound_field is not None:
        match += f" AND T.`{bound_field}` BETWEEN @bound_lo AND @bound_hi"
    updates = ", ".join(f"`{c}` = S.`{c}`" for c in columns if c not in keys)
    column_list = ", ".join(f"`{c}`" for c in columns)
    values = ", ".join(f"S.`{c}`" for c in columns)
    return (
        f"MERGE `{target}` AS T USING `{staging}` AS S ON {match} "
        f"WHEN MATCHED THEN UPDATE SET {updates} "
        f"WHEN NOT MATCHED THEN INSERT ({column_list}) VALUES ({values})"
    )


def _as_instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        instant = value
    else:
        try:
            instant = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise PermanentError(f"partition column value {value!r} is not an ISO timestamp") from exc
    if instant.tzinfo is None:
        raise PermanentError(f"naive timestamp {value!r}: the warehouse stores UTC instants only")
    return instant.astimezone(UTC)


class BigQueryWarehouse:
    """The cloud Warehouse (see the module docstring)."""

    def __init__(
        self,
        *,
        project: str,
        dataset: str = "wattline",
        location: str = "EU",
        endpoint: str | None = None,
        timezone: str = defaults.TIMEZONE,
        tariff: str = "ua-2zone",
        bucket: str | None = None,
        client: bigquery.Client | None = None,
        retry_timeout_s: float = 120.0,
    ) -> None:
        self.context = SchemaContext(
            project=project, dataset=dataset, timezone=timezone, tariff=tariff, location=location, bucket=bucket
        )
        self._endpoint = endpoint
        self._client = client
        self._retry_timeout_s = retry_timeout_s

    def _retry(self) -> Any:
        """The library's API retry (its own transient-error predicate), bounded so a caller is not held for 10 min."""
        from google.cloud.bigquery.retry import DEFAULT_RETRY

        return DEFAULT_RETRY.with_timeout(self._retry_timeout_s)

    def _job_retry(self) -> Any:
        """The library's retry of whole query jobs that failed with a retriable reason (e.g. rateLimitExceeded)."""
        from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY

        return DEFAULT_JOB_RETRY.with_timeout(self._retry_timeout_s)

    @property
    def client(self) -> bigquery.Client:
        if self._client is None:
            from google.cloud import bigquery

            if self._endpoint:
                from google.api_core.client_options import ClientOptions
                from google.auth.credentials import AnonymousCredentials

                self._client = bigquery.Client(
                    project=self.context.project,
                    location=self.context.location,
                    credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                    client_options=ClientOptions(api_endpoint=self._endpoint),
                )
            else:
                self._client = bigquery.Client(project=self.context.project, location=self.context.location)
        return self._client

    def _ref(self, table: str) -> str:
        return f"{self.context.project}.{self.context.dataset}.{identifier(table)}"

    # -- schema -----------------------------------------------------------------------------------------------
    def rendered_schema(self) -> list[tuple[str, str]]:
        """(path, statement) of every object `ensure_schema` runs, in order (for --dry-run and docs)."""
        values = self.context.values()
        out = []
        for obj in schema_objects("bigquery"):
            if "bucket" in placeholders(obj.template) and "bucket" not in values:
                logger.warning("skipping %s: no bucket configured (set WATTLINE_BUCKET)", obj.path)
                continue
            sql = strip_statement(render(obj.template, values))
            if self._endpoint:
                sql = _PARTITION_COLUMNS.sub("", sql)
            out.append((obj.path, sql))
        return out

    def ensure_schema(self) -> None:
        """Create the dataset, tables and views (CREATE … IF NOT EXISTS / OR REPLACE). Idempotent."""
        for path, sql in self.rendered_schema():
            self._run(sql, what=path)

    # -- queries ----------------------------------------------------------------------------------------------
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run SQL (`{{placeholders}}` filled, `@name` parameters) and return plain-Python dict rows."""
        rows = self._run(render(sql, self.context.values()), params=params, what="query")
        return [{key: result_value(value) for key, value in row.items()} for row in rows]

    def query_columns(self, sql: str, params: Mapping[str, Any] | None = None) -> dict[str, NDArray[Any]]:
        """Run SQL and return its columns as numpy arrays (see `ColumnarWarehouse`), from the result rows."""
        rows, schema = self._result(render(sql, self.context.values()), params=params, what="query")
        return {
            field.name: row_column(field.name, field.field_type, [row[index] for row in rows])
            for index, field in enumerate(schema)
        }

    def _run(self, sql: str, *, params: Mapping[str, Any] | None = None, what: str) -> list[Any]:
        return self._result(sql, params=params, what=what)[0]

    def _result(self, sql: str, *, params: Mapping[str, Any] | None, what: str) -> tuple[list[Any], list[Any]]:
        """The rows of the finished job and its result schema."""
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(
            query_parameters=[query_parameter(k, v) for k, v in (params or {}).items()],
        )
        try:
            job = self.client.query(
                sql, job_config=config, job_id_prefix="wattline_", retry=self._retry(), job_retry=None
            )
            result = job.result(retry=self._retry(), job_retry=self._job_retry())
            return list(result), list(result.schema or [])
        except Exception as exc:
            if _is_api_error(exc):
                raise translate_error(exc, what) from exc
            raise

    # -- writes -----------------------------------------------------------------------------------------------
    def merge_rows(self, table: str, rows: Sequence[Mapping[str, Any]], key: Sequence[str]) -> int:
        """MERGE rows into `table` by `key` through a staging table. Returns the number of distinct keys."""
        unique = dedupe(rows, key)
        if not unique:
            return 0
        keys = [identifier(k) for k in key]
        target = self._get_table(table)
        columns = [field.name for field in target.schema]
        check_columns(table, unique, columns)
        partitioning = target.time_partitioning
        bound_field = partitioning.field if partitioning is not None and partitioning.field in keys else None
        params: dict[str, Any] = {}
        if bound_field is not None:
            instants = [_as_instant(row[bound_field]) for row in unique]
            params = {"bound_lo": min(instants), "bound_hi": max(instants)}
        staging = self._load_staging(table, target.schema, columns, unique)
        try:
            self._run(
                merge_statement(self._ref(table), staging, columns, keys, bound_field),
                params=params,
                what=f"MERGE into {table}",
            )
        finally:
            self._drop(staging)
        return len(unique)

    def replace_rows(self, table: str, rows: Sequence[Mapping[str, Any]], where: Mapping[str, Any]) -> int:
        """Delete the rows matching `where`, then insert `rows`, in one MERGE statement (atomic)."""
        target = self._get_table(table)
        columns = [field.name for field in target.schema]
        check_columns(table, rows, columns)
        conditions = " AND ".join(f"`{identifier(c)}` = @w_{identifier(c)}" for c in where) or "TRUE"
        params = {f"w_{c}": v for c, v in where.items()}
        if not rows:
            self._run(f"DELETE FROM `{self._ref(table)}` WHERE {conditions}", params=params, what=f"DELETE {table}")
            return 0
        staging = self._load_staging(table, target.schema, columns, list(rows))
        column_list = ", ".join(f"`{c}`" for c in columns)
        values = ", ".join(f"S.`{c}`" for c in columns)
        scope = " AND ".join(f"T.`{identifier(c)}` = @w_{identifier(c)}" for c in where) or "TRUE"
        try:  # one atomic statement: the classic "replace a slice" MERGE ... ON FALSE
            self._run(
                f"MERGE `{self._ref(table)}` AS T USING `{staging}` AS S ON FALSE "
                f"WHEN NOT MATCHED BY TARGET THEN INSERT ({column_list}) VALUES ({values}) "
                f"WHEN NOT MATCHED BY SOURCE AND {scope} THEN DELETE",
                params=params,
                what=f"replace rows of {table}",
            )
        finally:
            self._drop(staging)
        return len(rows)

    def _get_table(self, table: str) -> bigquery.Table:
        try:
            return self.client.get_table(self._ref(table), retry=self._retry())
        except Exception as exc:
            if _is_api_error(exc):
                raise translate_error(exc, f"table {self._ref(table)}") from exc
            raise

    def _load_staging(
        self,
        table: str,
        schema: Sequence[bigquery.SchemaField],
        columns: Sequence[str],
        rows: Sequence[Mapping[str, Any]],
    ) -> str:
        """Load rows as NDJSON into a fresh staging table with the target's schema; returns its full id."""
        from google.cloud import bigquery

        now = datetime.now(UTC)
        lines = []
        for row in rows:
            record = {c: json_value(row.get(c)) for c in columns if c in row}
            if "loaded_at" in columns and "loaded_at" not in row:
                record["loaded_at"] = json_value(now)
            lines.append(json.dumps(record, separators=(",", ":"), sort_keys=True, allow_nan=False))
        payload = ("\n".join(lines) + "\n").encode()
        digest = hashlib.sha256(payload).hexdigest()[:12]
        staging = self._ref(f"_staging_{table}_{digest}_{uuid.uuid4().hex[:8]}")
        try:
            staging_table = bigquery.Table(staging, schema=list(schema))
            staging_table.expires = now + STAGING_TTL
            self.client.create_table(staging_table, retry=self._retry())
            config = bigquery.LoadJobConfig(
                schema=list(schema),
                source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
                write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
            )
            job = self.client.load_table_from_file(
                io.BytesIO(payload), staging, job_config=config, job_id_prefix=f"wattline_load_{table}_"
            )
            job.result(retry=self._retry())
        except Exception as exc:
            self._drop(staging)
            if _is_api_error(exc):
                raise translate_error(exc, f"load of {len(rows)} rows for {table}") from exc
            raise
        return staging

    def _drop(self, staging: str) -> None:
        try:
            self.client.delete_table(staging, not_found_ok=True, retry=self._retry())
        except Exception as exc:  # the staging table expires by itself; never mask the real outcome
            logger.warning("could not drop staging table %s: %s", staging, exc)
