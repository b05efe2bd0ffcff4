"""Warehouse on embedded DuckDB: the same objects and views as BigQuery, from the same SQL files, transpiled.

- Project = the DuckDB catalog of the opened file (`warehouse.duckdb` → `warehouse`), dataset = a schema, so
  `` `project.dataset.table` `` in the BigQuery SQL resolves as "catalog"."schema"."table".
- `readings_ext` is a view over `read_json('<fs_root>/<bucket>/daily/*/*/readings.jsonl.gz',
  hive_partitioning=true)`, the local copy of the GCS bucket; while no file exists it is an empty view of the same
  columns (DuckDB binds a view when it is created), switched to the files by the first query naming it after one
  appears (or by `ensure_schema()`).
- MERGE is DELETE + INSERT of the de-duplicated rows in one transaction.
- The session time zone is UTC, so TIMESTAMPTZ values come back as UTC datetimes.
- The connection is opened on first use; a new file gets the schema and the preset tariffs at once, so the
  loader can `merge_rows` into a fresh file. One process at a time may open a DuckDB file for writing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from wattline import defaults
from wattline.errors import NotFoundError, PermanentError, TransientError
from wattline.warehouse.rows import check_columns, dedupe, filled_column, identifier, result_value
from wattline.warehouse.schema import SchemaContext, SqlObject, render, schema_objects, strip_statement
from wattline.warehouse.transpile import to_duckdb

if TYPE_CHECKING:
    import duckdb as duckdb_module
    from numpy.typing import NDArray

    from wattline.tariffs import Tariff

_T = TypeVar("_T")

READINGS_COLUMNS: dict[str, str] = {
    "device_id": "VARCHAR",
    "channel": "BIGINT",
    "ts": "TIMESTAMPTZ",
    "received_ms": "BIGINT",
    "generation": "VARCHAR",
    "power_w": "DOUBLE",
    "reactive_power_var": "DOUBLE",
    "apparent_power_va": "DOUBLE",
    "voltage_v": "DOUBLE",
    "current_a": "DOUBLE",
    "pf": "DOUBLE",
    "freq_hz": "DOUBLE",
    "energy_total_wh": "DOUBLE",
    "energy_returned_total_wh": "DOUBLE",
    "online": "BOOLEAN",
    "relay": "VARCHAR",
}
PARTITION_COLUMNS: dict[str, str] = {"dt": "DATE", "device": "VARCHAR"}


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class DuckDBWarehouse:
    """The embedded Warehouse (see the module docstring). `path` ':memory:' gives a throw-away warehouse."""

    def __init__(
        self,
        path: Path | str = ":memory:",
        *,
        dataset: str = "wattline",
        timezone: str = defaults.TIMEZONE,
        tariff: str = "ua-2zone",
        fs_root: Path | None = None,
        bucket: str | None = None,
        extra_tariffs: Iterable[Tariff] = (),
        read_only: bool = False,
        threads: int | None = None,
    ) -> None:
        """`threads`: DuckDB's worker threads (default: one per core)."""
        self._path = str(path)
        self._read_only = read_only
        self._threads = threads
        self._dataset = identifier(dataset)
        self._timezone = timezone
        self._tariff = tariff
        self._fs_root = fs_root
        self._bucket = bucket
        self._extra_tariffs = tuple(extra_tariffs)
        self._lock = threading.RLock()
        self._con: duckdb_module.DuckDBPyConnection | None = None
        self._context: SchemaContext | None = None
        self._readings_live = False  # readings_ext reads files (not the empty placeholder)
        self._table_columns: dict[str, list[str]] = {}  # by table; only `_apply` changes tables

    # -- connection -------------------------------------------------------------------------------------------
    def _connection(self) -> duckdb_module.DuckDBPyConnection:
        with self._lock:
            if self._con is None:
                import duckdb

                if self._path != ":memory:" and not self._read_only:
                    Path(self._path).parent.mkdir(parents=True, exist_ok=True)
                try:
                    con = duckdb.connect(self._path, read_only=self._read_only)
                except duckdb.IOException as exc:
                    raise TransientError(
                        f"cannot open DuckDB warehouse {self._path}: {exc} (one process at a time may open it for "
                        "writing: is the local loader or another wattline command running?)"
                    ) from exc
                con.execute("SET TimeZone = 'UTC'")
                if self._threads is not None:
                    con.execute(f"SET threads = {int(self._threads)}")
                row = con.execute("SELECT current_database()").fetchone()
                catalog = str(row[0]) if row else "memory"
                if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]*$", catalog):
                    con.close()
                    raise PermanentError(
                        f"DuckDB file {self._path!r} gives the catalog name {catalog!r}: name the file with letters, "
                        "digits, '_' or '-' only (e.g. warehouse.duckdb)"
                    )
                self._context = SchemaContext(
                    project=catalog,
                    dataset=self._dataset,
                    timezone=self._timezone,
                    tariff=self._tariff,
                    bucket=self._bucket,
                )
                self._con = con
                if not self._has_table("energy_hourly"):
                    if self._read_only:
                        raise PermanentError(
                            f"{self._path} holds no warehouse yet: run `wattline run` on a writable home"
                        )
                    self.ensure_schema()
                    from wattline.tariffs import PRESETS
                    from wattline.warehouse import load_tariffs

                    load_tariffs(self, [*PRESETS.values(), *self._extra_tariffs])
            return self._con

    @property
    def context(self) -> SchemaContext:
        self._connection()
        assert self._context is not None
        return self._context

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None
                self._table_columns.clear()

    def _has_table(self, table: str) -> bool:
        assert self._con is not None
        row = self._con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [self._dataset, table],
        ).fetchone()
        return bool(row and row[0])

    def _columns(self, table: str) -> list[str]:
        known = self._table_columns.get(table)
        if known is not None:
            return list(known)
        con = self._connection()
        rows = con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            [self._dataset, identifier(table)],
        ).fetchall()
        if not rows:
            raise NotFoundError(f"no table {self._dataset}.{table} in {self._path}; run ensure_schema()")
        self._table_columns[table] = [str(r[0]) for r in rows]
        return list(self._table_columns[table])

    def _qualified(self, table: str) -> str:
        return f'"{self.context.project}"."{self._dataset}"."{identifier(table)}"'

    # -- schema -----------------------------------------------------------------------------------------------
    def readings_source(self) -> str:
        """The relation behind readings_ext: the local daily files, or an empty relation with their columns."""
        columns = {**READINGS_COLUMNS}
        if self._fs_root is not None and self._bucket is not None:
            daily = Path(self._fs_root) / self._bucket / "daily"
            if any(daily.glob("dt=*/device=*/readings.jsonl.gz")):
                pattern = _quote_literal(str(daily / "*" / "*" / "readings.jsonl.gz"))
                spec = ", ".join(f"{_quote_literal(k)}: {_quote_literal(v)}" for k, v in columns.items())
                hive = ", ".join(f"{_quote_literal(k)}: {_quote_literal(v)}" for k, v in PARTITION_COLUMNS.items())
                return (
                    f"read_json({pattern}, format = 'newline_delimited', hive_partitioning = true, "
                    f"columns = {{{spec}}}, hive_types = {{{hive}}})"
                )
        empty = ", ".join(f'CAST(NULL AS {t}) AS "{k}"' for k, t in {**columns, **PARTITION_COLUMNS}.items())
        return f"(SELECT {empty} WHERE false)"

    def ensure_schema(self) -> None:
        """Create (or refresh) the schema, tables and views from the SQL files. Idempotent."""
        con = self._connection()
        context = self.context
        with self._lock:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{context.project}"."{self._dataset}"')
            self._apply(schema_objects("duckdb"))

    def _apply(self, objects: Iterable[SqlObject]) -> None:
        con = self._connection()
        self._table_columns.clear()
        source = self.readings_source()
        values = {**self.context.values(), "readings_source": source}
        for obj in objects:
            sql = strip_statement(render(obj.template, values))
            statement = sql if obj.dialect == "duckdb" else to_duckdb(sql)
            try:
                con.execute(statement)
            except Exception as exc:  # duckdb.Error has no stable subclasses for "bad SQL"
                raise PermanentError(f"{obj.path}: DuckDB rejected the statement: {exc}") from exc
        self._readings_live = source.startswith("read_json")

    def _refresh_readings_ext(self) -> None:
        """Point readings_ext at the daily files once the first one exists (the view was empty until then)."""
        if self._read_only or self._readings_live or not self.readings_source().startswith("read_json"):
            return  # read-only: the view reads what it was bound to by the last writer
        with self._lock:
            self._apply(obj for obj in schema_objects("duckdb") if obj.name.startswith("021_readings_ext"))

    # -- queries ----------------------------------------------------------------------------------------------
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run BigQuery-dialect SQL (`{{placeholders}}` filled, `@name` parameters) and return dict rows."""

        def rows(cursor: duckdb_module.DuckDBPyConnection) -> list[dict[str, Any]]:
            names = [d[0] for d in cursor.description or []]
            return [{n: result_value(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]

        return self._execute(sql, params, rows)

    def query_columns(self, sql: str, params: Mapping[str, Any] | None = None) -> dict[str, NDArray[Any]]:
        """Run BigQuery-dialect SQL and return its columns as numpy arrays (see `ColumnarWarehouse`)."""

        def columns(cursor: duckdb_module.DuckDBPyConnection) -> dict[str, NDArray[Any]]:
            return {name: filled_column(name, values) for name, values in cursor.fetchnumpy().items()}

        return self._execute(sql, params, columns)

    def _execute(
        self,
        sql: str,
        params: Mapping[str, Any] | None,
        fetch: Callable[[duckdb_module.DuckDBPyConnection], _T],
    ) -> _T:
        import duckdb

        con = self._connection()
        if "readings_ext" in sql:
            self._refresh_readings_ext()
        statement = to_duckdb(render(sql, self.context.values()))
        with self._lock:
            try:
                return fetch(con.execute(statement, dict(params or {})))
            except duckdb.CatalogException as exc:
                raise NotFoundError(f"query references a missing object: {exc}") from exc
            except duckdb.Error as exc:
                raise PermanentError(f"DuckDB rejected the query: {exc}") from exc

    # -- writes -----------------------------------------------------------------------------------------------
    def merge_rows(self, table: str, rows: Sequence[Mapping[str, Any]], key: Sequence[str]) -> int:
        """Insert or replace rows by key, atomically. Returns the number of distinct keys written."""
        unique = dedupe(rows, key)
        if not unique:
            return 0
        columns = self._columns(table)
        check_columns(table, unique, columns)
        keys = [identifier(k) for k in key]
        with self._lock:
            self._write(table, columns, unique, delete_keys=keys, where=None)
        return len(unique)

    def replace_rows(self, table: str, rows: Sequence[Mapping[str, Any]], where: Mapping[str, Any]) -> int:
        """Delete every row matching `where` (column = value, ANDed; `{}` = the whole table), then insert `rows`,
        atomically."""
        columns = self._columns(table)
        check_columns(table, rows, columns)
        with self._lock:
            self._write(table, columns, list(rows), delete_keys=None, where=where)
        return len(rows)

    def _write(
        self,
        table: str,
        columns: list[str],
        rows: Sequence[Mapping[str, Any]],
        *,
        delete_keys: list[str] | None,
        where: Mapping[str, Any] | None,
    ) -> None:
        import duckdb

        con = self._connection()
        target = self._qualified(table)
        now = datetime.now(UTC)
        values = [tuple(row.get(c, now if c == "loaded_at" else None) for c in columns) for row in rows]
        column_list = ", ".join(f'"{c}"' for c in columns)
        stage = f"_stage_{identifier(table)}"
        try:
            con.execute("BEGIN TRANSACTION")
            if delete_keys is not None:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {stage} AS SELECT * FROM {target} LIMIT 0")
                self._insert(con, stage, column_list, values, len(columns))
                match = " AND ".join(f't."{k}" = s."{k}"' for k in delete_keys)
                con.execute(f"DELETE FROM {target} AS t WHERE EXISTS (SELECT 1 FROM {stage} AS s WHERE {match})")
                con.execute(f"INSERT INTO {target} ({column_list}) SELECT {column_list} FROM {stage}")
                con.execute(f"DROP TABLE {stage}")
            else:
                conditions = " AND ".join(f'"{identifier(c)}" = ?' for c in (where or {}))
                con.execute(f"DELETE FROM {target} WHERE {conditions or 'true'}", list((where or {}).values()))
                self._insert(con, target, column_list, values, len(columns))
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            if isinstance(exc, duckdb.TransactionException | duckdb.IOException):
                raise TransientError(f"DuckDB write to {table} failed: {exc}") from exc
            raise PermanentError(f"DuckDB rejected rows for {table}: {exc}") from exc

    @staticmethod
    def _insert(
        con: duckdb_module.DuckDBPyConnection, target: str, column_list: str, values: list[tuple[Any, ...]], width: int
    ) -> None:
        """Insert column-wise: one list parameter per column, UNNESTed together (fast, one statement)."""
        if not values:
            return
        columns = [list(column) for column in zip(*values, strict=True)]
        unnest = ", ".join("UNNEST(?)" for _ in range(width))
        con.execute(f"INSERT INTO {target} ({column_list}) SELECT {unnest}", columns)
