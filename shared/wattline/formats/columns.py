"""A daily readings file as arrays (`wattline.formats.readings` owns the line; this is its columnar reader, apart
because it needs numpy and the line writer must not: every Lambda imports the writer)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from wattline.errors import PermanentError
from wattline.formats.readings import daily_text_lines

_NO_CHANNEL: Final = -1
_GEN2: Final = "gen2"


@dataclass(frozen=True)
class ReadingColumns:
    """A daily readings file as arrays (one JSON decode for the whole file), ready for the energy engine.

    Quantities the reading did not carry are NaN; `channel` is -1 for device-level readings (channel None).
    """

    device_id: NDArray[np.str_]
    channel: NDArray[np.int64]
    ts_s: NDArray[np.float64]  # UTC Unix seconds (millisecond precision)
    received_ms: NDArray[np.int64]
    gen2: NDArray[np.bool_]
    power_w: NDArray[np.float64]
    energy_total_wh: NDArray[np.float64]
    energy_returned_wh: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.ts_s)

    def rows(self, device: str, channel: int) -> NDArray[np.intp]:
        """Indices of one (device, channel), sorted by time."""
        idx = np.flatnonzero((self.channel == channel) & (self.device_id == device))
        return idx[np.argsort(self.ts_s[idx], kind="stable")]

    def channels(self, device: str) -> list[int]:
        chans = self.channel[(self.device_id == device) & (self.channel != _NO_CHANNEL)]
        return sorted(int(c) for c in np.unique(chans))

    def carries(self) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
        return np.isfinite(self.power_w), np.isfinite(self.energy_total_wh), np.isfinite(self.energy_returned_wh)


def _channel(value: Any) -> int:
    return _NO_CHANNEL if value is None else int(value)


def read_columns(data: bytes) -> ReadingColumns:
    """Parse a `readings.jsonl.gz` (or plain JSONL) file into columns. Raises PermanentError on a bad line."""
    return parse_lines(daily_text_lines(data)[1])


def parse_lines(lines: Sequence[str]) -> ReadingColumns:
    """Reading lines into columns; PermanentError naming the first line that is not a reading."""
    try:
        # One C-scanner pass over `[line,line,...]` is several times faster than a json.loads per line.
        records: list[dict[str, Any]] = json.loads("[" + ",".join(lines) + "]")
    except ValueError:
        records = []
        for number, line in enumerate(lines, start=1):
            try:
                records.append(json.loads(line))
            except ValueError as exc:
                raise PermanentError(f"line {number} is not JSON: {exc}") from exc
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict) or "ts" not in record or "device_id" not in record:
            raise PermanentError(f"line {number} is not a reading")
    n = len(records)
    ts_text = [str(r["ts"]).removesuffix("Z").split("+")[0] for r in records]
    try:
        ts_ms = np.array(ts_text, dtype="datetime64[ms]").astype(np.int64) if n else np.zeros(0, np.int64)
        return ReadingColumns(
            device_id=np.array([str(r["device_id"]) for r in records], dtype=np.str_),
            channel=np.array([_channel(r.get("channel")) for r in records], dtype=np.int64),
            ts_s=ts_ms.astype(np.float64) / 1000.0,
            received_ms=np.array([r.get("received_ms", 0) for r in records], dtype=np.int64),
            gen2=np.array([r.get("generation") == _GEN2 for r in records], dtype=np.bool_),
            # None (a quantity the reading did not carry) becomes NaN in a float array.
            power_w=np.array([r.get("power_w") for r in records], dtype=np.float64),
            energy_total_wh=np.array([r.get("energy_total_wh") for r in records], dtype=np.float64),
            energy_returned_wh=np.array([r.get("energy_returned_total_wh") for r in records], dtype=np.float64),
        )
    except (ValueError, TypeError) as exc:
        raise PermanentError(f"bad value in readings file: {exc}") from exc
