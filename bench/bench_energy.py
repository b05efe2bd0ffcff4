"""Benchmark of the energy engine: samples per second, against a pure-Python loop and DuckDB SQL.

Run with `make bench` (bench/run.py calls main()) or `python bench/bench_energy.py [--quick]`. Prints figures; asserts
nothing about time. The data are synthetic (a household-like load at 1 s) so the run reads no file.

Measured, on the same arrays:
- engine   `integrate_power(ts, power, hour_edges, method=...)`: the numpy core with exact splits at every local-hour
           edge (Europe/Kyiv), the gap rule and zero-crossing split (signed case); edges computed beforehand.
- engine end-to-end `compute_hourly_arrays(...)`: + sort/duplicate check, hour edges, HourlyEnergy rows.
- engine auto: the same with an import counter every 60 s (counter-exact hours shaped by power).
- python   `wattline.energy.reference.integrate_reference`: the straightforward loop (same rules), on a subset, scaled.
- duckdb   SQL with LAG() over the samples: trapezoid per interval, gap rule, grouped by the UTC hour of the
           interval start (no split at edges or zero crossings, so it does less work than the engine), 1 thread.
Each figure is the best of several runs (the machine is shared; the best run is the least disturbed one).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

import numpy as np

from wattline.energy import compute_hourly_arrays, integrate_power, local_hour_edges
from wattline.energy.reference import integrate_reference

TZ = ZoneInfo("Europe/Kyiv")
START = 1_772_323_200.0  # 2026-03-01T00:00Z: the 30 days include the Kyiv spring-forward day
DUCKDB_SQL = """
SELECT floor(ts / 3600) * 3600 AS hour, sum(CASE WHEN dt <= 300 THEN (p + p_prev) / 2 * dt ELSE 0 END) / 3600 AS wh
FROM (SELECT ts, p, lag(p) OVER w AS p_prev, ts - lag(ts) OVER w AS dt FROM samples WINDOW w AS (ORDER BY ts))
GROUP BY hour
"""


def household(n: int, *, seed: int = 7, signed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """n samples at 1 s: a daily cycle, appliance steps and noise, W; `signed` subtracts a solar-like export."""
    rng = np.random.default_rng(seed)
    ts = START + np.arange(n, dtype=np.float64)
    day = (ts % 86_400) / 86_400
    base = 350 + 250 * np.sin(2 * np.pi * (day - 0.3)) ** 2
    steps = np.repeat(rng.choice([0.0, 0.0, 0.0, 1200.0, 2000.0], size=n // 600 + 1), 600)[:n]
    power = base + steps + rng.normal(0, 30, n)
    if signed:
        power -= 1500 * np.clip(np.sin(np.pi * (day - 0.25) * 2), 0, None)
    else:
        np.maximum(power, 0.0, out=power)
    return ts, power


def best_of(runs: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def engine_rate(ts: np.ndarray, power: np.ndarray, method: str, runs: int) -> tuple[float, float]:
    edges = local_hour_edges(float(ts[0]), float(ts[-1]), TZ)
    seconds = best_of(runs, lambda: integrate_power(ts, power, edges, method=method))
    total = float(integrate_power(ts, power, edges, method=method).import_wh.sum())
    return len(ts) / seconds, total


def end_to_end_rate(ts: np.ndarray, power: np.ndarray, runs: int) -> float:
    def run() -> object:
        return compute_hourly_arrays("bench", 0, ts, power, tz=TZ, method="trapezoid", generation="gen1")

    return len(ts) / best_of(runs, run)


def auto_counter_rate(ts: np.ndarray, power: np.ndarray, runs: int) -> float:
    """Method auto with a Gen1-style import counter every 60 s: counter-exact hours shaped by the power."""
    counter = np.full(len(ts), np.nan)
    every = np.arange(0, len(ts), 60)
    counter[every] = 1_000_000.0 + np.cumsum(power)[every] / 3600

    def run() -> object:
        return compute_hourly_arrays("bench", 0, ts, power, counter, tz=TZ, method="auto", generation="gen1")

    return len(ts) / best_of(runs, run)


def python_rate(ts: np.ndarray, power: np.ndarray, subset: int) -> float:
    t, p = ts[:subset], power[:subset]
    edges = local_hour_edges(float(t[0]), float(t[-1]), TZ).tolist()
    t_list, p_list = t.tolist(), p.tolist()
    return subset / best_of(2, lambda: integrate_reference(t_list, p_list, edges, method="trapezoid"))


def duckdb_rate(ts: np.ndarray, power: np.ndarray, runs: int) -> tuple[float, float] | None:
    try:
        import duckdb
    except ImportError:
        return None
    con = duckdb.connect()
    con.execute("SET threads = 1")
    columns = {"ts": ts, "p": power}
    con.register("columns", columns)
    con.execute("CREATE TABLE samples AS SELECT * FROM columns")
    seconds = best_of(runs, lambda: con.execute(DUCKDB_SQL).fetchall())
    total = sum(wh for _, wh in con.execute(DUCKDB_SQL).fetchall())
    con.close()
    return len(ts) / seconds, total


def report(label: str, n: int, *, runs: int, python_subset: int, with_duckdb: bool = True) -> None:
    ts, power = household(n)
    print(f"\n{label}: {n:,} samples at 1 s, hourly splits in Europe/Kyiv")
    trap, trap_total = engine_rate(ts, power, "trapezoid", runs)
    locf, _ = engine_rate(ts, power, "locf", runs)
    s_ts, s_power = household(n, signed=True)
    signed, _ = engine_rate(s_ts, s_power, "trapezoid", runs)
    e2e = end_to_end_rate(ts, power, max(2, runs // 2))
    auto = auto_counter_rate(ts, power, max(2, runs // 2))
    py = python_rate(ts, power, min(python_subset, n))
    rows = [
        ("engine trapezoid (integrate_power)", trap),
        ("engine locf", locf),
        ("engine trapezoid, signed (zero crossings)", signed),
        ("engine end-to-end (compute_hourly_arrays)", e2e),
        ("engine end-to-end, auto with a counter every 60 s", auto),
        (f"pure-Python loop (first {min(python_subset, n):,} samples, scaled)", py),
    ]
    duck = duckdb_rate(ts, power, runs) if with_duckdb else None
    if duck is not None:
        rows.append(("DuckDB SQL LAG() trapezoid, 1 thread", duck[0]))
    for name, rate in rows:
        print(f"  {name:<58} {rate / 1e6:8.2f} M samples/s   engine trapezoid is {trap / rate:7.1f}x")
    print(f"  import energy: engine {trap_total / 1000:,.3f} kWh", end="")
    if duck is not None:
        print(f", DuckDB {duck[1] / 1000:,.3f} kWh (same data; DuckDB buckets by UTC interval start)")
    else:
        print()


def main() -> None:
    quick = "--quick" in sys.argv
    report("1 device x 30 days", 30 * 86_400, runs=3 if quick else 7, python_subset=100_000)
    if not quick:
        report("10 M samples", 10_000_000, runs=5, python_subset=100_000)


if __name__ == "__main__":
    main()
