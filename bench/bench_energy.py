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
Each figure is the best of several runs after a warm-up, in CPU seconds of this process (time.process_time), so
that time spent waiting for a shared machine's cores is not counted. numpy and DuckDB (threads = 1) use one core.
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


def best_cpu_times(candidates: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Best CPU time of each candidate after one warm-up call (time.process_time: on a shared machine, time spent
    waiting for a core is not counted; page faults of fresh temporaries are)."""
    best = {}
    for name, fn in candidates.items():
        fn()
        times = []
        for _ in range(runs):
            start = time.process_time()
            fn()
            times.append(time.process_time() - start)
        best[name] = min(times)
    return best


def with_counter(ts: np.ndarray, power: np.ndarray) -> np.ndarray:
    """A Gen1-style import counter every 60 s, consistent with the power (NaN on the other rows)."""
    counter = np.full(len(ts), np.nan)
    every = np.arange(0, len(ts), 60)
    counter[every] = 1_000_000.0 + np.cumsum(power)[every] / 3600
    return counter


def duckdb_query(
    ts: np.ndarray, power: np.ndarray
) -> tuple[Callable[[], list[tuple[float, float]]], Callable[[], None]]:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 1")
    columns = {"ts": ts, "p": power}
    con.register("columns", columns)
    con.execute("CREATE TABLE samples AS SELECT * FROM columns")
    return (lambda: con.execute(DUCKDB_SQL).fetchall()), con.close


def report(label: str, n: int, *, rounds: int, python_subset: int) -> None:
    ts, power = household(n)
    s_ts, s_power = household(n, signed=True)
    counter = with_counter(ts, power)
    edges = local_hour_edges(float(ts[0]), float(ts[-1]), TZ)
    subset = min(python_subset, n)
    t_list, p_list = ts[:subset].tolist(), power[:subset].tolist()
    sub_edges = local_hour_edges(float(ts[0]), float(ts[subset - 1]), TZ).tolist()
    query, close = duckdb_query(ts, power)
    print(f"\n{label}: {n:,} samples at 1 s, hourly splits in Europe/Kyiv (best of {rounds} after a warm-up, CPU time)")
    candidates: dict[str, Callable[[], object]] = {
        "engine trapezoid (integrate_power)": lambda: integrate_power(ts, power, edges, method="trapezoid"),
        "engine locf": lambda: integrate_power(ts, power, edges, method="locf"),
        "engine trapezoid, signed (zero crossings)": lambda: integrate_power(s_ts, s_power, edges),
        "engine end-to-end (compute_hourly_arrays)": lambda: compute_hourly_arrays(
            "bench", 0, ts, power, tz=TZ, method="trapezoid"
        ),
        "engine end-to-end, auto with a counter every 60 s": lambda: compute_hourly_arrays(
            "bench", 0, ts, power, counter, tz=TZ, method="auto", generation="gen1"
        ),
        f"pure-Python loop (first {subset:,} samples, scaled)": lambda: integrate_reference(
            t_list, p_list, sub_edges, method="trapezoid"
        ),
        "DuckDB SQL LAG() trapezoid, 1 thread": query,
    }
    sizes = dict.fromkeys(candidates, n)
    sizes[f"pure-Python loop (first {subset:,} samples, scaled)"] = subset
    best = best_cpu_times(candidates, rounds)
    rates = {name: sizes[name] / seconds for name, seconds in best.items()}
    engine = rates["engine trapezoid (integrate_power)"]
    for name, rate in rates.items():
        print(
            f"  {name:<54} {rate / 1e6:8.2f} M samples/s ({best[name] * 1e3:8.1f} ms)  engine is {engine / rate:6.1f}x"
        )
    engine_kwh = float(integrate_power(ts, power, edges).import_wh.sum()) / 1000
    duck_kwh = sum(wh for _, wh in query()) / 1000
    close()
    print(
        f"  import energy: engine {engine_kwh:,.3f} kWh, DuckDB {duck_kwh:,.3f} kWh"
        " (DuckDB buckets by the UTC hour of each interval's start)"
    )


def main() -> None:
    quick = "--quick" in sys.argv
    report("1 device x 30 days", 30 * 86_400, rounds=3 if quick else 7, python_subset=50_000)
    if not quick:
        report("10 M samples", 10_000_000, rounds=5, python_subset=50_000)


if __name__ == "__main__":
    main()
