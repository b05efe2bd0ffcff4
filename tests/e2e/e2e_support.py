"""Shared by the e2e tests: what one demo run leaves behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from wattline.local.demo import DemoResult
from wattline.local.runtime import Runtime

TODAY = date(2026, 11, 20)  # pinned: the simulated day is 2026-11-19 (local), whatever the wall clock says


@dataclass
class DemoRun:
    home: Path
    result: DemoResult
    runtime: Runtime
