"""Limits the parsers enforce. Every value here is documented in docs/parsing.md; change both together."""

from __future__ import annotations

from datetime import UTC, datetime

# Size and shape of one payload.
MAX_PAYLOAD_BYTES = 64 * 1024
"""A payload larger than this is quarantined as oversized_payload (a Shelly status is a few KiB at most)."""

MAX_LINE_BYTES = 6 * MAX_PAYLOAD_BYTES + 4096
"""An envelope line larger than this is quarantined unread: room for a maximal payload JSON-escaped (\\uXXXX = 6x)."""

MAX_JSON_DEPTH = 32
"""Nesting deeper than this (objects and arrays) is quarantined as too_deep. Shelly payloads nest 3-4 levels."""

# Physical plausibility. A value outside these bounds quarantines the whole message (impossible_value).
MAX_ABS_POWER_W = 100_000.0
"""|active|, |reactive| and apparent power above 100 kW: no household meter reports that."""

MIN_VOLTAGE_V = 0.0
MAX_VOLTAGE_V = 500.0
MIN_CURRENT_A = 0.0
MAX_CURRENT_A = 1_000.0
MIN_PF = -1.0
MAX_PF = 1.0
MIN_FREQ_HZ = 0.0
"""0 Hz is what an unconnected phase reports (Pro 3EM `a_freq: 0`); any other value must be in (0, 100]."""
MAX_FREQ_HZ = 100.0
MAX_COUNTER_WH = 1e12
"""Cumulative energy counters above 1 TWh are corrupt. Real counters seen: 12.7 MWh."""
COUNTER_UNAVAILABLE = -1.0
"""Newer Gen1 firmware sends -1 for a counter it cannot read yet (after a reboot)."""

# Time.
MIN_TIMESTAMP_MS = int(datetime(2015, 1, 1, tzinfo=UTC).timestamp() * 1000)
"""Earlier timestamps are an unset device clock (or a bug): quarantined as timestamp_too_old."""
MAX_FUTURE_MS = 86_400_000
"""Timestamps more than one day after `now_ms` are quarantined as timestamp_in_future."""
