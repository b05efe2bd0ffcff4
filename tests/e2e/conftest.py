"""The whole flow once per session: a demo-sized run on the embedded backends (amqtt, local buckets, DuckDB)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e_support import TODAY, DemoRun

from wattline.local.demo import run_demo


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    home = tmp_path_factory.mktemp("demo-home")
    result, runtime = run_demo(home, devices=2, days=1, seed=7, today=TODAY)
    try:
        yield DemoRun(home, result, runtime)
    finally:
        runtime.close()
