-- The fact table: energy of one meter channel in one local hour (wattline.models.HourlyEnergy), written by the
-- GCS-finalize loader with MERGE on (device_id, channel, hour_start). hour_start is the UTC instant the local
-- hour starts. Partitioned by day and clustered by device so a date range and a device prune what is scanned.
CREATE TABLE IF NOT EXISTS `{{project}}.{{dataset}}.energy_hourly` (
  device_id STRING NOT NULL,
  channel INT64 NOT NULL,
  hour_start TIMESTAMP NOT NULL,
  import_wh FLOAT64 NOT NULL,
  export_wh FLOAT64 NOT NULL,
  estimated_wh FLOAT64 NOT NULL,
  covered_s FLOAT64 NOT NULL,
  gap_s FLOAT64 NOT NULL,
  samples INT64 NOT NULL,
  min_power_w FLOAT64,
  max_power_w FLOAT64,
  mean_power_w FLOAT64,
  counter_resets INT64 NOT NULL,
  method STRING NOT NULL,
  loaded_at TIMESTAMP,
  source_generation STRING
)
PARTITION BY DATE(hour_start)
CLUSTER BY device_id
OPTIONS (description = 'Energy per device, channel and local hour (UTC hour_start); key device_id, channel, hour_start');
