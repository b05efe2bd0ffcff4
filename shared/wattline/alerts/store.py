"""The alert ledger, the delivery log and the readings source over the Warehouse port (BigQuery or DuckDB).

All SQL is BigQuery dialect with `{{project}}.{{dataset}}` placeholders and `@name` parameters; the DuckDB
adapter transpiles it. Readings come from `readings_ext` — on BigQuery the external table over the daily
files in GCS, on DuckDB the view over the same files on disk — always filtered on `dt` (partition pruning).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from wattline.alerts.ledger import OPEN, LedgerRow
from wattline.errors import NotFoundError
from wattline.formats.columns import ReadingColumns
from wattline.models import HourlyEnergy
from wattline.ports import ColumnarWarehouse, Warehouse

ALERTS_TABLE = "alerts"
DELIVERIES_TABLE = "alert_deliveries"
_ALERT_COLUMNS = (
    "key, kind, device_id, channel, start_ts, end_ts, severity, message, details, status, first_seen, updated_at"
)
# readings_ext as the fields of ReadingColumns (NULLs only in the float columns, which become NaN).
_READING_COLUMNS = (
    "device_id, IFNULL(channel, -1) AS channel, UNIX_MICROS(ts) AS ts_us, IFNULL(received_ms, 0) AS received_ms, "
    "IFNULL(generation = 'gen2', FALSE) AS gen2, power_w, energy_total_wh, "
    "energy_returned_total_wh AS energy_returned_wh, voltage_v, "
    "CASE WHEN online IS NULL THEN -1 WHEN online THEN 1 ELSE 0 END AS online"
)


def _table(name: str) -> str:
    return f"`{{{{project}}}}.{{{{dataset}}}}.{name}`"


class WarehouseAlertStore:
    """The `alerts` table as an AlertStore."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def _query(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            return self.warehouse.query(sql, params)
        except NotFoundError:
            self.warehouse.ensure_schema()  # an older warehouse without the alerts tables
            return self.warehouse.query(sql, params)

    def load(self, keys: Collection[str], since: datetime) -> dict[str, LedgerRow]:
        wanted = set(keys)
        rows = self._query(
            f"SELECT {_ALERT_COLUMNS} FROM {_table(ALERTS_TABLE)} WHERE start_ts >= @since OR status = 'open'",
            {"since": since},
        )
        return {row["key"]: LedgerRow.from_record(row) for row in rows if row["key"] in wanted}

    def save(self, rows: Sequence[LedgerRow]) -> None:
        if not rows:
            return
        records = [row.to_record() for row in rows]
        try:
            self.warehouse.merge_rows(ALERTS_TABLE, records, key=["key"])
        except NotFoundError:
            self.warehouse.ensure_schema()
            self.warehouse.merge_rows(ALERTS_TABLE, records, key=["key"])

    def open_rows(self) -> list[LedgerRow]:
        rows = self._query(
            f"SELECT {_ALERT_COLUMNS} FROM {_table(ALERTS_TABLE)} WHERE status = @status ORDER BY start_ts, key",
            {"status": OPEN},
        )
        return [LedgerRow.from_record(row) for row in rows]

    def list(self, start: datetime, end: datetime) -> list[LedgerRow]:
        rows = self._query(
            f"SELECT {_ALERT_COLUMNS} FROM {_table(ALERTS_TABLE)} "
            "WHERE start_ts >= @start AND start_ts < @end ORDER BY start_ts, kind, device_id, key",
            {"start": start, "end": end},
        )
        return [LedgerRow.from_record(row) for row in rows]


class WarehouseDeliveryLog:
    """The `alert_deliveries` table as a DeliveryLog (MERGE on sink, token)."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def seen(self, sink: str, token: str) -> bool:
        rows = self.warehouse.query(
            f"SELECT COUNT(*) AS n FROM {_table(DELIVERIES_TABLE)} WHERE sink = @sink AND token = @token",
            {"sink": sink, "token": token},
        )
        return bool(rows and rows[0]["n"])

    def record(self, sink: str, token: str, status: str, at: datetime) -> None:
        row = {"sink": sink, "token": token, "status": status, "delivered_at": at}
        self.warehouse.merge_rows(DELIVERIES_TABLE, [row], key=["sink", "token"])

    def count_since(self, sink: str, since: datetime) -> int:
        rows = self.warehouse.query(
            f"SELECT COUNT(*) AS n FROM {_table(DELIVERIES_TABLE)} "
            "WHERE sink = @sink AND status = 'sent' AND delivered_at >= @since",
            {"sink": sink, "since": since},
        )
        return int(rows[0]["n"]) if rows else 0


class WarehouseReadings:
    """Readings and hourly energy for detection, read through the warehouse."""

    def __init__(self, warehouse: ColumnarWarehouse) -> None:
        self.warehouse = warehouse

    def columns(self, start: datetime, end: datetime) -> ReadingColumns:
        """Every reading of every device with start <= ts < end (device-level ones too: LWT, relay), as columns
        (one query, no per-row object)."""
        found = self.warehouse.query_columns(
            f"SELECT {_READING_COLUMNS} FROM {_table('readings_ext')} "
            "WHERE dt BETWEEN @first_day AND @last_day AND ts >= @start AND ts < @end",
            {
                "first_day": (start - timedelta(days=1)).date(),  # a file's day is UTC; keep a margin
                "last_day": end.date(),
                "start": start,
                "end": end,
            },
        )
        return ReadingColumns.from_arrays(found)

    def hourly(self, start: datetime, end: datetime) -> list[HourlyEnergy]:
        rows = self.warehouse.query(
            "SELECT device_id, channel, hour_start, import_wh, export_wh, estimated_wh, covered_s, gap_s, samples, "
            "min_power_w, max_power_w, mean_power_w, counter_resets, method "
            f"FROM {_table('energy_hourly')} WHERE hour_start >= @start AND hour_start < @end",
            {"start": start, "end": end},
        )
        return [HourlyEnergy.model_validate(row) for row in rows]

    def delivered_days(self) -> dict[str, date]:
        """Per device, the newest UTC day whose daily file the loader turned into `energy_hourly` rows (each row
        names its source object, `daily/dt=YYYY-MM-DD/device=…/readings.jsonl.gz#generation`)."""
        rows = self.warehouse.query(
            "SELECT device_id, MAX(SUBSTR(source_generation, STRPOS(source_generation, 'dt=') + 3, 10)) AS day "
            f"FROM {_table('energy_hourly')} WHERE STRPOS(source_generation, 'dt=') > 0 GROUP BY device_id",
            {},
        )
        return {str(row["device_id"]): date.fromisoformat(str(row["day"])) for row in rows if row["day"]}
