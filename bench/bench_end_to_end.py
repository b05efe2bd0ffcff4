"""End to end against DuckDB: `wattline analyze`, and `wattline import` + `wattline run`, on one capture.

The capture: one Gen2 Pro EM (two channels) notifying every second for 3 days, `NotifyStatus` with both `em1`
components (259,200 MQTT messages, ~100 MB), generated here (deterministic). Each command runs as its own process,
as a user runs it; for each we print wall time, CPU time (user + system) and peak resident memory of that process
(`os.wait4`), the median of the runs, and the ratio to the DuckDB baseline measured in the same run:

- start-up alone: `wattline analyze` of an empty file, against `import duckdb` and a connection (part of every
  figure below);
- analyze: DuckDB 1 thread reads the capture (`read_json`), extracts both channels' power from the payload text
  (`->>` on the parsed JSON), and integrates each channel with a `LAG()` trapezoid per local day, with the same
  5-minute gap rule. `wattline analyze --method trapezoid` does the same, plus the exact hour and zone split and the
  tariff; both totals are printed (they differ only by the few seconds that straddle midnight).
- import + run: DuckDB 1 thread reads the capture, writes one gzip JSON Lines file of readings per UTC day and
  computes hourly energy into a table (the plain equivalent of what the local runtime does: raw → daily files →
  energy_hourly). `wattline import` + `wattline run` also validate every raw object, deduplicate, write manifests,
  transfer, load, and run alert detection.

Each command runs as it does on a user's machine after its first use: .pyc files written, and the warehouse's
BigQuery → DuckDB translations read from the user's cache folder (the first `run` fills it; docs/warehouse.md).

Run: `make bench`, or `.venv/bin/python bench/bench_end_to_end.py [--messages N] [--runs R]`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEVICE = "shellyproem50-08f9e0e67204"
START_S = 1_795_132_800  # 2026-11-20 00:00 UTC
BIN = Path(sys.executable).parent
# As a user's install runs: its .pyc files written once (a PYTHONDONTWRITEBYTECODE in the caller's environment would
# have every process compile the modules changed since `make install` again), and a warm-up run first (see main).
ENV = {
    **{name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"},
    "WATTLINE_TIMEZONE": "Europe/Kyiv",
    "WATTLINE_TARIFF": "ua-2zone",
    "COLUMNS": "120",
}

DUCKDB_ANALYZE = """
import duckdb, json, sys
con = duckdb.connect()
con.execute("SET threads = 1")
con.execute("SET enable_progress_bar = false")
rows = con.execute('''
WITH raw AS (
  SELECT topic, payload::JSON AS p FROM read_json(?, format = 'newline_delimited',
    columns = {'topic': 'VARCHAR', 'payload': 'VARCHAR', 'received_at': 'DOUBLE'})),
s AS (
  SELECT split_part(topic, '/', 1) AS device, 0 AS channel, (p->>'$.params.ts')::DOUBLE AS ts,
         (p->>'$.params."em1:0".act_power')::DOUBLE AS w FROM raw
  UNION ALL
  SELECT split_part(topic, '/', 1), 1, (p->>'$.params.ts')::DOUBLE,
         (p->>'$.params."em1:1".act_power')::DOUBLE FROM raw),
l AS (
  SELECT device, channel, ts, w, LAG(ts) OVER win AS pts, LAG(w) OVER win AS pw
  FROM s WHERE w IS NOT NULL WINDOW win AS (PARTITION BY device, channel ORDER BY ts))
SELECT device, channel, CAST(timezone('Europe/Kyiv', to_timestamp(pts)) AS DATE)::VARCHAR AS day,
       SUM((ts - pts) * (w + pw) / 2) / 3.6e6 AS kwh
FROM l WHERE pts IS NOT NULL AND ts - pts <= 300 GROUP BY ALL ORDER BY ALL''', [sys.argv[1]]).fetchall()
print(json.dumps(rows))
"""

DUCKDB_IMPORT_RUN = """
import duckdb, sys
con = duckdb.connect()
con.execute("SET threads = 1")
con.execute("SET enable_progress_bar = false")
con.execute('''
CREATE TABLE readings AS
WITH raw AS (
  SELECT topic, payload::JSON AS p, received_at FROM read_json(?, format = 'newline_delimited',
    columns = {'topic': 'VARCHAR', 'payload': 'VARCHAR', 'received_at': 'DOUBLE'}))
SELECT split_part(topic, '/', 1) AS device_id, c.channel, to_timestamp((p->>'$.params.ts')::DOUBLE) AS ts,
       CAST(received_at * 1000 AS BIGINT) AS received_ms, 'gen2' AS generation,
       (p->>('$.params."em1:' || c.channel || '".act_power'))::DOUBLE AS power_w,
       (p->>('$.params."em1:' || c.channel || '".aprt_power'))::DOUBLE AS apparent_power_va,
       (p->>('$.params."em1:' || c.channel || '".current'))::DOUBLE AS current_a
FROM raw, (VALUES (0), (1)) AS c(channel)''', [sys.argv[1]])
con.execute(f'''
COPY (SELECT *, strftime(ts, '%Y-%m-%d') AS dt FROM readings ORDER BY ts, channel)
TO '{sys.argv[2]}' (FORMAT JSON, COMPRESSION GZIP, PARTITION_BY (dt, device_id))''')
con.execute('''
CREATE TABLE energy_hourly AS
WITH l AS (
  SELECT device_id, channel, epoch(ts) AS t, power_w AS w,
         LAG(epoch(ts)) OVER win AS pt, LAG(power_w) OVER win AS pw
  FROM readings WINDOW win AS (PARTITION BY device_id, channel ORDER BY ts))
SELECT device_id, channel, date_trunc('hour', to_timestamp(pt)) AS hour_start,
       SUM((t - pt) * (w + pw) / 2) / 3600 AS import_wh, COUNT(*) AS samples
FROM l WHERE pt IS NOT NULL AND t - pt <= 300 GROUP BY ALL''')
print(con.execute("SELECT COUNT(*), SUM(import_wh) / 1000 FROM energy_hourly").fetchone())
"""


def write_capture(path: Path, messages: int) -> None:
    rnd = random.Random(1)
    with path.open("w") as out:
        for i in range(messages):
            ts = START_S + i
            w0 = 300 + 200 * math.sin(i / 3600) + rnd.random() * 20
            w1 = 100 + rnd.random() * 10
            params = {
                "ts": ts + 0.01,
                "em1:0": {
                    "id": 0,
                    "current": round(w0 / 230, 3),
                    "act_power": round(w0, 1),
                    "aprt_power": round(w0 * 1.1, 1),
                },
                "em1:1": {
                    "id": 1,
                    "current": round(w1 / 230, 3),
                    "act_power": round(w1, 1),
                    "aprt_power": round(w1 * 1.1, 1),
                },
            }
            body = {"src": DEVICE, "dst": f"{DEVICE}/events", "method": "NotifyStatus", "params": params}
            line = {
                "topic": f"{DEVICE}/events/rpc",
                "payload": json.dumps(body, separators=(",", ":")),
                "received_at": ts + 0.12,
            }
            out.write(json.dumps(line, separators=(",", ":")) + "\n")


class Measured:
    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.rss_mb: list[float] = []
        self.stdout = ""

    def row(self, label: str, baseline: Measured | None) -> str:
        wall, cpu, rss = (statistics.median(v) for v in (self.wall, self.cpu, self.rss_mb))
        ratio = ""
        if baseline is not None:
            base_wall, base_cpu = statistics.median(baseline.wall), statistics.median(baseline.cpu)
            ratio = f" | {wall / base_wall:5.1f}x wall, {cpu / base_cpu:5.1f}x CPU"
        return f"{label:<34} wall {wall:6.2f} s  CPU {cpu:6.2f} s  peak RSS {rss:6.0f} MB{ratio}"


def run(commands: list[list[str]], into: Measured) -> None:
    """Run the commands one after another as one measurement: wall, CPU and the largest peak RSS among them."""
    wall = cpu = rss = 0.0
    out = []
    for command in commands:
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdout is not None
        stdout = proc.stdout.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall += time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(command)} failed with {status}")
        cpu += usage.ru_utime + usage.ru_stime
        rss = max(rss, usage.ru_maxrss / 1024)
        out.append(stdout.decode())
    into.wall.append(wall)
    into.cpu.append(cpu)
    into.rss_mb.append(rss)
    into.stdout = "".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=259_200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv if argv is not None else [])
    wattline = str(BIN / "wattline")
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        capture = Path(tmp) / "capture.jsonl"
        write_capture(capture, args.messages)
        size_mb = capture.stat().st_size / 1e6
        print(
            f"=== end to end vs DuckDB: {args.messages:,} Gen2 messages ({size_mb:.0f} MB), median of {args.runs} ==="
        )
        # Start-up alone (interpreter, imports, settings): part of every command's figure below.
        empty = Path(tmp) / "empty.jsonl"
        empty.write_bytes(b"")
        run([[wattline, "analyze", str(empty)]], Measured())  # warm-up: writes the .pyc files a change left stale
        duck, ours = Measured(), Measured()
        for _ in range(args.runs):
            run([[python, "-c", "import duckdb, json, sys; duckdb.connect().execute('SELECT 1')"]], duck)
            run([[wattline, "analyze", str(empty), "--format", "json"]], ours)
        print(duck.row("DuckDB start-up (import, connect)", None))
        print(ours.row("wattline analyze start-up (no input)", duck))

        duck, ours = Measured(), Measured()
        for _ in range(args.runs):
            run([[python, "-c", DUCKDB_ANALYZE, str(capture)]], duck)
            run([[wattline, "analyze", str(capture), "--method", "trapezoid", "--format", "json"]], ours)
        print(duck.row("DuckDB read_json + LAG trapezoid", None))
        print(ours.row("wattline analyze", duck))
        duck_kwh = sum(row[3] for row in json.loads(duck.stdout))
        ours_kwh = sum(day["energy_kwh"] for day in json.loads(ours.stdout))
        print(f"  total energy: DuckDB {duck_kwh:.4f} kWh, wattline {ours_kwh:.4f} kWh")

        duck, ours = Measured(), Measured()
        for _ in range(args.runs):
            out, home = Path(tmp) / "duck-out", Path(tmp) / "home"
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(home, ignore_errors=True)
            run([[python, "-c", DUCKDB_IMPORT_RUN, str(capture), str(out)]], duck)
            run([[wattline, "import", "--home", str(home), str(capture)], [wattline, "run", "--home", str(home)]], ours)
        print(duck.row("DuckDB daily files + hourly energy", None))
        print(ours.row("wattline import + run", duck))


if __name__ == "__main__":
    main(sys.argv[1:])
