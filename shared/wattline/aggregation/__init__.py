"""The aggregator's domain: validate one raw object, plan the days to aggregate, aggregate one device-day.

Pure domain code: every function takes an `ObjectStore` (S3, a directory, memory) and imports no cloud SDK.
The handlers in `services/aws-aggregator` and the local runtime call exactly these functions.

Counts are in MQTT messages (envelopes): `envelopes = kept + quarantined + duplicates`. Docs: docs/aws.md,
section "Aggregator".

Modules, one per job: `validate` (one raw object on arrival), `plan` (which device-days to aggregate), `dedup`
(framing and redeliveries), `day` (one device-day's daily file, state and manifest), `common` (what they share).
"""

from wattline.aggregation.common import (
    DEFAULT_DEDUP_WINDOW_MS,
    INVALID_DEVICE_SEGMENT,
    STATE_PREFIX,
    aggregation_state_key,
    child_prefixes,
    list_keys,
    reference_now_ms,
)
from wattline.aggregation.day import AggregateResult, DayCounts, aggregate_day, canonical_lines, read_objects
from wattline.aggregation.dedup import RawEnvelope, dedup, dedup_key, split_object
from wattline.aggregation.plan import DayItem, last_closed_day, parse_dirty_key, plan_days
from wattline.aggregation.validate import ValidationResult, validate_object

__all__ = [
    "DEFAULT_DEDUP_WINDOW_MS",
    "INVALID_DEVICE_SEGMENT",
    "STATE_PREFIX",
    "AggregateResult",
    "DayCounts",
    "DayItem",
    "RawEnvelope",
    "ValidationResult",
    "aggregate_day",
    "aggregation_state_key",
    "canonical_lines",
    "child_prefixes",
    "dedup",
    "dedup_key",
    "last_closed_day",
    "list_keys",
    "parse_dirty_key",
    "plan_days",
    "read_objects",
    "reference_now_ms",
    "split_object",
    "validate_object",
]
