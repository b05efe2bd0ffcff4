"""Monthly AWS + GCP bill of a wattline deployment, per component, from one dated price table.

Pure domain code: no I/O, no cloud SDK. `wattline cost` prints it; docs/cost.md is generated from it.

Every price is a list price (AWS us-east-1, GCP us-central1 / US multi-region) with its source. Prices taken from
docs DOMAIN.md §4 say so; the others name the provider's pricing page and are marked *(verify)*. **Free tiers are
ignored** (they are per account and shared with whatever else runs there): every line is the full list price, so
the small cases overstate the bill a little (Lambda, BigQuery's first TiB, egress's first 100 GB, Pub/Sub's first
10 GiB, Cloud Functions' first 2 M invocations would be free).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

PRICES_AS_OF = "2026-12-04"

Generation = Literal[1, 2]
Mode = Literal["direct", "batched"]

KB = 1024
GB = 1024**3  # AWS and GCP bill "GB" as GiB
TB = 1024**4

_DOMAIN = "DOMAIN.md §4 (us-east-1 list)"


@dataclass(frozen=True)
class Price:
    """One list price: `usd` per `unit`, and where the figure comes from."""

    usd: float
    unit: str
    source: str


# ---- the price table (one place; change a figure here and every estimate and docs/cost.md follow) ----------------
IOT_MESSAGE = Price(
    1.00 / 1e6, "message (metered in 5 KB units)", f"{_DOMAIN}; https://aws.amazon.com/iot-core/pricing/"
)
IOT_RULE = Price(0.15 / 1e6, "rule triggered", f"{_DOMAIN}; https://aws.amazon.com/iot-core/pricing/")
IOT_ACTION = Price(0.15 / 1e6, "action executed", f"{_DOMAIN}; https://aws.amazon.com/iot-core/pricing/")
S3_PUT = Price(0.005 / 1000, "PUT/COPY/POST/LIST request", f"{_DOMAIN}; https://aws.amazon.com/s3/pricing/")
S3_LIST = Price(0.005 / 1000, "LIST request", f"{_DOMAIN}; https://aws.amazon.com/s3/pricing/")
S3_GET = Price(0.0004 / 1000, "GET request", f"{_DOMAIN}; https://aws.amazon.com/s3/pricing/")
S3_STANDARD = Price(0.023, "GB-month, S3 Standard", f"{_DOMAIN}; https://aws.amazon.com/s3/pricing/")
GLACIER_FLEXIBLE = Price(
    0.0036, "GB-month, Glacier Flexible Retrieval", f"{_DOMAIN}; https://aws.amazon.com/s3/pricing/"
)
GLACIER_PUT = Price(
    0.03 / 1000, "PUT into GLACIER (lower end of $0.03-0.05)", f"{_DOMAIN}; https://aws.amazon.com/s3/pricing/"
)
GLACIER_OVERHEAD_STANDARD_BYTES = 8 * KB  # DOMAIN.md §4: 40 KB metadata per Glacier object, 8 KB at Standard price
GLACIER_OVERHEAD_GLACIER_BYTES = 32 * KB  # ... and 32 KB at Glacier price
FIREHOSE_INGEST = Price(
    0.029, "GB ingested, each record rounded up to 5 KB", f"{_DOMAIN}; https://aws.amazon.com/firehose/pricing/"
)
FIREHOSE_PARTITION_GB = Price(
    0.02, "GB processed by dynamic partitioning", "https://aws.amazon.com/firehose/pricing/ (verify; docs/aws.md §3)"
)
FIREHOSE_PARTITION_OBJECT = Price(
    0.005 / 1000, "S3 object delivered with dynamic partitioning", "https://aws.amazon.com/firehose/pricing/ (verify)"
)
LAMBDA_REQUEST = Price(0.20 / 1e6, "invocation", f"{_DOMAIN}; https://aws.amazon.com/lambda/pricing/")
LAMBDA_GB_S = Price(0.0000166667, "GB-second (x86)", f"{_DOMAIN}; https://aws.amazon.com/lambda/pricing/")
STEP_TRANSITION = Price(
    0.025 / 1000, "state transition, Standard workflow", "https://aws.amazon.com/step-functions/pricing/ (verify)"
)
EVENTBRIDGE_AWS_EVENT = Price(
    0.0,
    "S3 event on the default bus (AWS service events are free)",
    "https://aws.amazon.com/eventbridge/pricing/ (verify)",
)
SCHEDULER_INVOCATION = Price(
    1.00 / 1e6, "EventBridge Scheduler invocation", "https://aws.amazon.com/eventbridge/pricing/ (verify)"
)
CLOUDWATCH_LOGS_INGEST = Price(
    0.50, "GB of logs ingested (Standard class)", "https://aws.amazon.com/cloudwatch/pricing/ (verify)"
)
CLOUDWATCH_ALARM = Price(
    0.10,
    "standard-resolution alarm-month (metric math: per metric)",
    "https://aws.amazon.com/cloudwatch/pricing/ (verify)",
)
KMS_KEY = Price(1.00, "customer-managed key-month", "https://aws.amazon.com/kms/pricing/ (verify)")
EGRESS_INTERNET = Price(
    0.09,
    "GB out of AWS to the internet (first 100 GB free: ignored)",
    f"{_DOMAIN}; https://aws.amazon.com/ec2/pricing/on-demand/",
)
STORAGE_TRANSFER = Price(
    0.0,
    "GB moved by agentless S3 -> GCS transfer",
    f"{_DOMAIN}; https://cloud.google.com/storage-transfer/pricing (verify)",
)
GCS_STANDARD = Price(0.020, "GB-month, GCS Standard regional", "https://cloud.google.com/storage/pricing (verify)")
GCS_CLASS_A = Price(
    0.005 / 1000, "Class A operation (write, list)", "https://cloud.google.com/storage/pricing (verify)"
)
GCS_CLASS_B = Price(0.0004 / 1000, "Class B operation (read)", "https://cloud.google.com/storage/pricing (verify)")
BQ_STORAGE = Price(0.02, "GiB-month, active logical storage", f"{_DOMAIN}; https://cloud.google.com/bigquery/pricing")
BQ_QUERY = Price(
    6.25, "TiB scanned on demand (first TiB free: ignored)", f"{_DOMAIN}; https://cloud.google.com/bigquery/pricing"
)
BQ_MIN_QUERY_BYTES = 10 * 1024**2  # on-demand minimum per table referenced (docs/gcp.md §5)
PUBSUB_THROUGHPUT = Price(
    40.0,
    "TiB of publish + delivery throughput (1 KB minimum per message)",
    "https://cloud.google.com/pubsub/pricing (verify)",
)
PUBSUB_MIN_BYTES = 1000
FUNCTIONS_INVOCATION = Price(0.40 / 1e6, "invocation", "https://cloud.google.com/functions/pricing (verify)")
FUNCTIONS_VCPU_S = Price(
    0.000024, "vCPU-second (2nd gen, tier 1)", "https://cloud.google.com/functions/pricing (verify)"
)
FUNCTIONS_GIB_S = Price(
    0.0000025, "GiB-second (2nd gen, tier 1)", "https://cloud.google.com/functions/pricing (verify)"
)

PRICES: dict[str, Price] = {
    name: value for name, value in globals().items() if isinstance(value, Price)
}  # the whole table, for listing


# ---- usage assumptions (what a meter sends and what the pipeline does with it) ------------------------------------
DAYS_PER_MONTH = 30
CHANNELS_PER_DEVICE = 2  # Shelly EM / Pro EM-50: two channels
GEN1_TOPICS_PER_CHANNEL = 8  # power, reactive_power, voltage, pf, total, total_returned, energy, returned_energy
GEN1_ENVELOPE_BYTES = 120  # docs/aws.md §3, measured: 46,080 envelopes of a Gen1 day = 5.4 MB
GEN2_ENVELOPE_BYTES = 400  # estimate: NotifyStatus with both em1 deltas + the IoT rule's envelope
FIREHOSE_BUFFER_S = 60  # one object per device-minute (docs/aws.md §3)
FIREHOSE_RECORD_BYTES = 5 * KB  # each record is billed rounded up to 5 KB (DOMAIN.md §4)
ARCHIVE_RATIO = 2.3 / 5.4  # docs/aws.md §3, measured: 5.4 MB of envelopes pack into a 2.3 MB tar.gz
DAILY_TEXT_RATIO = 0.5  # canonical reading lines vs raw envelopes (estimate)
DAILY_GZIP_RATIO = 0.1  # gzip of the reading lines (estimate; gives docs/gcp.md's ~300 KB per Gen1 day)
RAW_DAYS_IN_STANDARD = 32  # the open day + grace, then 30 days as noncurrent versions after the archiver deletes
RETAINED_MONTHS = 12  # daily files, archive bundles and BigQuery tables: a year of history is kept
RAW_READS_PER_OBJECT = 3  # validate, aggregate and the archiver each GET every raw object once
DAILY_OBJECTS_PER_DEVICE_DAY = 3  # readings.jsonl.gz, manifest.json, state/aggregated
TRANSFERRED_OBJECTS_PER_DEVICE_DAY = 2  # readings + manifest go to GCS
TRANSFER_RUNS_PER_MONTH = 24 * DAYS_PER_MONTH  # hourly Storage Transfer job
ALARMS = 16  # the service stacks' 14 (docs/aws.md, Monitoring) + the ingest stack's two; +1 for Firehose in batched
KMS_KEYS = 3  # one customer-managed key per stack: logs, alarm topics, the dead-letter queue (their requests: cents)
LAMBDA_GB_MEMORY = 0.5
VALIDATE_S = 0.1  # per raw object (docs/aws.md §3)
PLAN_S = 1.0
AGGREGATE_BASE_S = 1.0
AGGREGATE_PER_OBJECT_S = 0.002  # parallel GETs
AGGREGATE_PER_ENVELOPE_S = 12.0 / 46_080  # docs/aws.md §3: a Gen1 day of envelopes packs in 12 s
LOG_BYTES_PER_INVOCATION = 1 * KB  # START/END/REPORT + one structured line
STEP_FIXED_TRANSITIONS = 5  # per daily execution: plan, Map, result, ...
STEP_TRANSITIONS_PER_DEVICE = 3  # per Map iteration
SCHEDULES_PER_DAY = 2  # daily state machine + archiver
WATCHDOG_RUNS = 12 * 24 * DAYS_PER_MONTH  # every 5 minutes
WATCHDOG_S = 0.5
WATCHDOG_GETS_PER_DEVICE = 3
WATCHDOG_SITE_LISTS = 2
HOURLY_ROW_BYTES = 100  # one energy_hourly row (device, channel, hour, kWh by zone, ...)
DETECTION_QUERIES_PER_DAY = 1  # scans the day's daily files through the external table (partition pruned)
REPORT_QUERIES_PER_DAY = 1  # dashboard / `wattline energy` over a month of energy_hourly
PUBSUB_MESSAGES_PER_DEVICE_DAY = 3  # two finalize events (Eventarc) + energy.updated; alerts are rare
FUNCTION_INVOCATIONS_PER_DEVICE_DAY = 3  # loader on readings and on manifest, detection
FUNCTION_BASE_S = 1.0  # docs/gcp.md §5: ~1 s at 512 MiB
FUNCTION_BYTES_PER_S = 10 * 1024**2  # plus 1 s per 10 MiB of reading lines
FUNCTION_VCPU = 1.0
FUNCTION_GIB = 0.5


@dataclass(frozen=True)
class Scenario:
    devices: int
    interval_s: float
    gen: Generation
    mode: Mode
    watchdog: bool = False

    def __post_init__(self) -> None:
        if self.devices < 1:
            raise ValueError("devices must be at least 1")
        if not self.interval_s > 0:
            raise ValueError("interval must be positive")


@dataclass(frozen=True)
class LineItem:
    component: str
    usd_per_month: float
    detail: str


@dataclass(frozen=True)
class Estimate:
    scenario: Scenario
    items: tuple[LineItem, ...]
    assumptions: dict[str, float | int | str | bool]

    @property
    def total_usd_per_month(self) -> float:
        return math.fsum(item.usd_per_month for item in self.items)


def messages_per_interval(gen: Generation) -> int:
    """Gen1 publishes one topic per quantity and channel each period; Gen2+ one NotifyStatus."""
    return GEN1_TOPICS_PER_CHANNEL * CHANNELS_PER_DEVICE if gen == 1 else 1


def envelope_bytes(gen: Generation) -> int:
    return GEN1_ENVELOPE_BYTES if gen == 1 else GEN2_ENVELOPE_BYTES


def estimate(s: Scenario) -> Estimate:
    """The monthly bill of `s`, one line item per billed component."""
    device_days = s.devices * DAYS_PER_MONTH
    msgs_day = messages_per_interval(s.gen) * 86_400 / s.interval_s  # per device
    msgs = msgs_day * device_days
    raw_day_bytes = msgs_day * envelope_bytes(s.gen)  # per device
    objects_day = msgs_day if s.mode == "direct" else min(msgs_day, 86_400 / FIREHOSE_BUFFER_S)
    raw_objects = objects_day * device_days
    envelopes_per_object = msgs_day / objects_day
    text_day_bytes = raw_day_bytes * DAILY_TEXT_RATIO
    daily_day_bytes = text_day_bytes * DAILY_GZIP_RATIO
    bundle_bytes = raw_day_bytes * ARCHIVE_RATIO
    retained_days = RETAINED_MONTHS * DAYS_PER_MONTH
    items: list[LineItem] = []

    def add(component: str, usd: float, detail: str) -> None:
        items.append(LineItem(component, usd, detail))

    # ---- AWS ingestion
    add("IoT Core messages", msgs * IOT_MESSAGE.usd, f"{msgs:,.0f} messages (each < 5 KB) x $1.00/M")
    add(
        "IoT Core rules + actions",
        msgs * (IOT_RULE.usd + IOT_ACTION.usd),
        f"{msgs:,.0f} rule runs x ($0.15 + $0.15)/M, one {'S3' if s.mode == 'direct' else 'Firehose'} action each",
    )
    if s.mode == "batched":
        billed_gb = msgs * FIREHOSE_RECORD_BYTES / GB
        add(
            "Firehose ingestion",
            billed_gb * FIREHOSE_INGEST.usd,
            f"{msgs:,.0f} records rounded up to 5 KB = {billed_gb:,.2f} GB x $0.029/GB",
        )
        add(
            "Firehose dynamic partitioning",
            billed_gb * FIREHOSE_PARTITION_GB.usd + raw_objects * FIREHOSE_PARTITION_OBJECT.usd,
            f"{billed_gb:,.2f} GB x $0.02/GB + {raw_objects:,.0f} objects x $0.005/1,000",
        )
    # ---- S3 requests
    daily_puts = DAILY_OBJECTS_PER_DEVICE_DAY * device_days
    puts = raw_objects + daily_puts
    add(
        "S3 PUT requests",
        puts * S3_PUT.usd,
        f"{raw_objects:,.0f} raw objects ({'one per message' if s.mode == 'direct' else 'one per device-minute'})"
        f" + {daily_puts:,.0f} daily/state objects, x $0.005/1,000",
    )
    watchdog_gets = s.devices * WATCHDOG_GETS_PER_DEVICE * WATCHDOG_RUNS if s.watchdog else 0
    transfer_gets = TRANSFERRED_OBJECTS_PER_DEVICE_DAY * device_days
    gets = raw_objects * RAW_READS_PER_OBJECT + transfer_gets + watchdog_gets
    add(
        "S3 GET requests",
        gets * S3_GET.usd,
        f"{RAW_READS_PER_OBJECT} reads per raw object (validate, aggregate, archiver) + {transfer_gets:,.0f} by the "
        f"transfer{' + watchdog' if s.watchdog else ''} = {gets:,.0f} x $0.0004/1,000",
    )
    pages_per_device_day = math.ceil(objects_day / 1000)
    lists_pipeline = 2 * pages_per_device_day * device_days  # aggregate + archiver list the device-day prefix
    lists_transfer = TRANSFER_RUNS_PER_MONTH * math.ceil(TRANSFERRED_OBJECTS_PER_DEVICE_DAY * s.devices / 1000)
    lists_watchdog = (
        WATCHDOG_RUNS * (s.devices * (1 if s.mode == "direct" else 2) + WATCHDOG_SITE_LISTS) if s.watchdog else 0
    )
    lists = lists_pipeline + lists_transfer + lists_watchdog
    add(
        "S3 LIST requests",
        lists * S3_LIST.usd,
        f"{lists_pipeline:,.0f} by aggregate + archiver, {lists_transfer:,.0f} by the hourly transfer"
        f"{f', {lists_watchdog:,.0f} by the watchdog' if s.watchdog else ''}, x $0.005/1,000",
    )
    # ---- S3 storage by class
    raw_gb = raw_day_bytes * s.devices * RAW_DAYS_IN_STANDARD / GB
    daily_gb = daily_day_bytes * s.devices * retained_days / GB
    add(
        "S3 Standard storage",
        (raw_gb + daily_gb) * S3_STANDARD.usd,
        f"raw {raw_gb:,.3f} GB ({RAW_DAYS_IN_STANDARD} days incl. noncurrent versions) + daily files "
        f"{daily_gb:,.3f} GB ({RETAINED_MONTHS} months) x $0.023/GB-month",
    )
    bundles_stored = s.devices * retained_days
    glacier_gb = bundles_stored * (bundle_bytes + GLACIER_OVERHEAD_GLACIER_BYTES) / GB
    overhead_std_gb = bundles_stored * GLACIER_OVERHEAD_STANDARD_BYTES / GB
    add(
        "S3 Glacier storage",
        glacier_gb * GLACIER_FLEXIBLE.usd + overhead_std_gb * S3_STANDARD.usd,
        f"{bundles_stored:,} bundles (one per device-day, {RETAINED_MONTHS} months) of {bundle_bytes / 1e6:,.2f} MB "
        f"+ 32 KB each = {glacier_gb:,.3f} GB x $0.0036, + 8 KB each at Standard price",
    )
    add(
        "S3 Glacier PUT requests",
        device_days * GLACIER_PUT.usd,
        f"{device_days:,} archive bundles x $0.03/1,000",
    )
    # ---- compute and orchestration
    validate_gb_s = raw_objects * VALIDATE_S * LAMBDA_GB_MEMORY
    aggregate_s = AGGREGATE_BASE_S + AGGREGATE_PER_OBJECT_S * objects_day + AGGREGATE_PER_ENVELOPE_S * msgs_day
    batch_gb_s = (
        DAYS_PER_MONTH * PLAN_S + 2 * device_days * aggregate_s
    ) * LAMBDA_GB_MEMORY  # aggregate and archiver alike
    watchdog_gb_s = WATCHDOG_RUNS * WATCHDOG_S * LAMBDA_GB_MEMORY if s.watchdog else 0.0
    invocations = raw_objects + DAYS_PER_MONTH + 2 * device_days + (WATCHDOG_RUNS if s.watchdog else 0)
    gb_s = validate_gb_s + batch_gb_s + watchdog_gb_s
    add(
        "Lambda",
        invocations * LAMBDA_REQUEST.usd + gb_s * LAMBDA_GB_S.usd,
        f"{invocations:,.0f} invocations (validate per raw object, plan daily, aggregate + archiver per device-day"
        f"{', watchdog every 5 min' if s.watchdog else ''}) x $0.20/M + {gb_s:,.0f} GB-s x $0.0000166667",
    )
    transitions = DAYS_PER_MONTH * (STEP_FIXED_TRANSITIONS + STEP_TRANSITIONS_PER_DEVICE * s.devices)
    add("Step Functions", transitions * STEP_TRANSITION.usd, f"{transitions:,} state transitions x $0.025/1,000")
    schedules = DAYS_PER_MONTH * SCHEDULES_PER_DAY
    add(
        "EventBridge events",
        raw_objects * EVENTBRIDGE_AWS_EVENT.usd + schedules * SCHEDULER_INVOCATION.usd,
        f"{raw_objects:,.0f} S3 Object Created events (AWS service events: free) + {schedules} Scheduler "
        f"invocations x $1.00/M{' (the watchdog rule schedule is free)' if s.watchdog else ''}",
    )
    log_gb = invocations * LOG_BYTES_PER_INVOCATION / GB
    add(
        "CloudWatch Logs ingestion",
        log_gb * CLOUDWATCH_LOGS_INGEST.usd,
        f"{invocations:,.0f} invocations x 1 KB = {log_gb:,.3f} GB x $0.50/GB",
    )
    alarms = ALARMS + (1 if s.mode == "batched" else 0)
    add(
        "CloudWatch alarms", alarms * CLOUDWATCH_ALARM.usd, f"{alarms} alarms x $0.10/alarm-month (the dashboard: free)"
    )
    add("KMS keys", KMS_KEYS * KMS_KEY.usd, f"{KMS_KEYS} customer-managed keys x $1.00/month (requests: cents)")
    # ---- AWS -> GCP
    egress_gb = daily_day_bytes * device_days / GB
    add(
        "Egress AWS -> GCP",
        egress_gb * EGRESS_INTERNET.usd,
        f"daily files {egress_gb:,.3f} GB x $0.09/GB (free 100 GB ignored)",
    )
    add("Storage Transfer", egress_gb * STORAGE_TRANSFER.usd, f"{egress_gb:,.3f} GB, agentless S3 source: $0 (verify)")
    # ---- GCP
    gcs_gb = daily_gb
    add(
        "GCS storage",
        gcs_gb * GCS_STANDARD.usd,
        f"daily files {gcs_gb:,.3f} GB ({RETAINED_MONTHS} months) x $0.020/GB-month",
    )
    class_a = TRANSFERRED_OBJECTS_PER_DEVICE_DAY * device_days + lists_transfer
    class_b = TRANSFERRED_OBJECTS_PER_DEVICE_DAY * device_days
    add(
        "GCS operations",
        class_a * GCS_CLASS_A.usd + class_b * GCS_CLASS_B.usd,
        f"{class_a:,} Class A (transfer writes + lists) x $0.005/1,000 + {class_b:,} Class B (loader reads) "
        "x $0.0004/1,000",
    )
    hourly_day_bytes = s.devices * CHANNELS_PER_DEVICE * 24 * HOURLY_ROW_BYTES  # all devices, one day
    bq_gib = hourly_day_bytes * retained_days / GB
    add(
        "BigQuery storage",
        bq_gib * BQ_STORAGE.usd,
        f"energy_hourly {bq_gib:,.4f} GiB ({RETAINED_MONTHS} months, all billed as active) x $0.02/GiB-month",
    )
    detection_bytes = DAYS_PER_MONTH * DETECTION_QUERIES_PER_DAY * max(BQ_MIN_QUERY_BYTES, text_day_bytes * s.devices)
    merge_bytes = device_days * max(BQ_MIN_QUERY_BYTES, hourly_day_bytes)
    report_bytes = DAYS_PER_MONTH * REPORT_QUERIES_PER_DAY * max(BQ_MIN_QUERY_BYTES, hourly_day_bytes * 31)
    scanned_tib = (detection_bytes + merge_bytes + report_bytes) / TB
    add(
        "BigQuery queries",
        scanned_tib * BQ_QUERY.usd,
        f"detection over the day's daily files (external table, partition pruned) {detection_bytes / GB:,.2f} GiB"
        f" + energy_hourly MERGE per device-day {merge_bytes / GB:,.2f} GiB + daily report {report_bytes / GB:,.2f} "
        f"GiB (10 MB minimum each) = {scanned_tib:,.5f} TiB x $6.25/TiB",
    )
    pubsub_msgs = PUBSUB_MESSAGES_PER_DEVICE_DAY * device_days
    pubsub_tib = 2 * pubsub_msgs * PUBSUB_MIN_BYTES / TB
    add(
        "Pub/Sub",
        pubsub_tib * PUBSUB_THROUGHPUT.usd,
        f"{pubsub_msgs:,} messages published + delivered, 1 KB minimum each, x $40/TiB",
    )
    fn_invocations = FUNCTION_INVOCATIONS_PER_DEVICE_DAY * device_days
    fn_s = fn_invocations * FUNCTION_BASE_S + device_days * text_day_bytes / FUNCTION_BYTES_PER_S
    add(
        "Cloud Functions",
        fn_invocations * FUNCTIONS_INVOCATION.usd
        + fn_s * (FUNCTION_VCPU * FUNCTIONS_VCPU_S.usd + FUNCTION_GIB * FUNCTIONS_GIB_S.usd),
        f"{fn_invocations:,} invocations (loader x2, detection per device-day) x $0.40/M + {fn_s:,.0f} s at "
        "1 vCPU / 512 MiB",
    )
    assumptions: dict[str, float | int | str | bool] = {
        "devices": s.devices,
        "interval_seconds": s.interval_s,
        "generation": s.gen,
        "mode": s.mode,
        "watchdog": s.watchdog,
        "days_per_month": DAYS_PER_MONTH,
        "channels_per_device": CHANNELS_PER_DEVICE,
        "messages_per_interval_per_device": messages_per_interval(s.gen),
        "messages_per_month": msgs,
        "envelope_bytes": envelope_bytes(s.gen),
        "raw_objects_per_month": raw_objects,
        "envelopes_per_raw_object": envelopes_per_object,
        "daily_file_bytes_per_device_day": daily_day_bytes,
        "archive_bundle_bytes_per_device_day": bundle_bytes,
        "retained_months": RETAINED_MONTHS,
        "free_tiers": "ignored: every line is the full list price",
        "prices": "AWS us-east-1 and GCP us-central1 list prices; lines marked (verify) in wattline/costs.py",
    }
    return Estimate(s, tuple(items), assumptions)


def recommendation(devices: int, interval_s: float, gen: Generation, *, watchdog: bool = False) -> str:
    """Which ingestion mode is cheaper for the same meters, and by how much a month."""
    direct = estimate(Scenario(devices, interval_s, gen, "direct", watchdog)).total_usd_per_month
    batched = estimate(Scenario(devices, interval_s, gen, "batched", watchdog)).total_usd_per_month
    cheap, dear = ("batched", "direct") if batched < direct else ("direct", "batched")
    low, high = min(direct, batched), max(direct, batched)
    if high == low:
        return f"direct and batched cost the same (${low:,.2f}/month)"
    return (
        f"{cheap}: ${low:,.2f}/month vs ${high:,.2f}/month {dear}, "
        f"saves ${high - low:,.2f}/month ({(high - low) / high:.0%})"
    )


def report(s: Scenario, digits: int = 6) -> dict[str, object]:
    """The JSON shape of `wattline cost --format json`; the total is the sum of the rounded items."""
    est = estimate(s)
    amounts = [round(item.usd_per_month, digits) for item in est.items]
    return {
        "total_usd_per_month": round(math.fsum(amounts), digits),
        "items": [
            {"component": item.component, "usd_per_month": amount, "detail": item.detail}
            for item, amount in zip(est.items, amounts, strict=True)
        ],
        "assumptions": est.assumptions,
        "prices_as_of": PRICES_AS_OF,
        "recommendation": recommendation(s.devices, s.interval_s, s.gen, watchdog=s.watchdog),
    }
