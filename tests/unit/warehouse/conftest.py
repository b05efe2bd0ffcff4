from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from wattline.warehouse.duckdb import DuckDBWarehouse


@pytest.fixture(scope="session")
def _template_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One warehouse file with the schema, the views and the preset tariffs, built once and copied per test."""
    path = tmp_path_factory.mktemp("template") / "warehouse.duckdb"
    store = DuckDBWarehouse(path, tariff="ua-3zone")
    store.ensure_schema()
    store.close()
    return path


@pytest.fixture
def warehouse(_template_warehouse: Path, tmp_path: Path) -> Iterator[DuckDBWarehouse]:
    """A fresh warehouse (site tariff ua-3zone, Europe/Kyiv) with no energy rows yet."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(_template_warehouse, path)
    store = DuckDBWarehouse(path, tariff="ua-3zone")
    yield store
    store.close()
