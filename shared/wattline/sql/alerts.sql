-- The alert ledger (wattline.alerts.ledger.LedgerRow): one row per alert key, the dedup memory of `detect`.
-- key = sha256(kind, device_id, channel, start) (first 32 hex); status open|resolved; details is JSON text.
-- Written with MERGE on key by the detect function; read by `wattline alerts`. BigQuery reserves END,
-- hence start_ts / end_ts. Partitioned by the alert's day and clustered so a date range and a device prune.
CREATE TABLE IF NOT EXISTS `{{project}}.{{dataset}}.alerts` (
  key STRING NOT NULL,
  kind STRING NOT NULL,
  device_id STRING NOT NULL,
  channel INT64,
  start_ts TIMESTAMP NOT NULL,
  end_ts TIMESTAMP,
  severity STRING NOT NULL,
  message STRING NOT NULL,
  details STRING,
  status STRING NOT NULL,
  first_seen TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
)
PARTITION BY DATE(start_ts)
CLUSTER BY status, device_id, kind
OPTIONS (description = 'Alert ledger: one row per dedup key (kind, device, channel, start); status open or resolved');
