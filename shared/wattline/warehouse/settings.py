"""Warehouse settings (env prefix WATTLINE_, or `<home>/wattline.toml`), shared by the CLI and the services.

The names match the loader service's settings, so one environment configures both:
WATTLINE_WAREHOUSE (duckdb | bigquery), WATTLINE_GCP_PROJECT, WATTLINE_BQ_DATASET, WATTLINE_BQ_LOCATION,
WATTLINE_BQ_ENDPOINT (bqemulator REST URL; anonymous credentials), WATTLINE_BUCKET (the bucket holding
`daily/`, read by the external table), WATTLINE_DUCKDB_PATH and WATTLINE_FS_ROOT (local buckets:
`<fs_root>/<bucket>/...`). Nothing defaults to a real cloud resource.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from wattline.settings import Settings


class WarehouseSettings(Settings):
    warehouse: Literal["duckdb", "bigquery"] = Field("duckdb", description="the analytical store to use")
    gcp_project: str | None = Field(None, description="GCP project of the BigQuery dataset")
    bq_dataset: str = Field("wattline", description="BigQuery dataset (DuckDB schema) holding every object")
    bq_location: str = Field("EU", description="BigQuery location of the dataset and its jobs")
    bq_endpoint: str | None = Field(None, description="bqemulator REST URL; anonymous credentials when set")
    bucket: str | None = Field(None, description="bucket whose daily/ files readings_ext reads")
    duckdb_path: Path | None = Field(None, description="DuckDB file (default <home>/warehouse.duckdb)")
    duckdb_read_only: bool = Field(False, description="open the DuckDB file read-only (a read-only home)")
    fs_root: Path | None = Field(None, description="local buckets root: bucket <name> is <fs_root>/<name>")

    @property
    def duckdb_file(self) -> Path:
        return self.duckdb_path or self.home / "warehouse.duckdb"
