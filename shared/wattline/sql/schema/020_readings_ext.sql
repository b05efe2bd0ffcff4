-- wattline: backends=bigquery
-- The daily readings files written by the aggregator and copied to GCS by Storage Transfer, read in place:
--   gs://<bucket>/daily/dt=YYYY-MM-DD/device=<id>/readings.jsonl.gz   (one wattline.models.Reading per line)
-- The URI ends in *.jsonl.gz so the manifest.json files beside them are not read as data.
-- Queries must filter on dt (require_hive_partition_filter): BigQuery bills every byte of every file it opens,
-- and the partition filter is what keeps it from opening them all.
CREATE OR REPLACE EXTERNAL TABLE `{{project}}.{{dataset}}.readings_ext` (
  device_id STRING,
  channel INT64,
  ts TIMESTAMP,
  received_ms INT64,
  generation STRING,
  power_w FLOAT64,
  reactive_power_var FLOAT64,
  apparent_power_va FLOAT64,
  voltage_v FLOAT64,
  current_a FLOAT64,
  pf FLOAT64,
  freq_hz FLOAT64,
  energy_total_wh FLOAT64,
  energy_returned_total_wh FLOAT64,
  online BOOL,
  relay STRING
)
WITH PARTITION COLUMNS (
  dt DATE,
  device STRING
)
OPTIONS (
  format = 'NEWLINE_DELIMITED_JSON',
  compression = 'GZIP',
  uris = ['gs://{{bucket}}/daily/*.jsonl.gz'],
  hive_partition_uri_prefix = 'gs://{{bucket}}/daily',
  require_hive_partition_filter = TRUE,
  ignore_unknown_values = TRUE,
  description = 'Canonical readings, one file per device and UTC day; always filter on dt'
);
