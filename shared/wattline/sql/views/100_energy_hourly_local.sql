-- energy_hourly with the local calendar of the site ({{timezone}}, filled in by `wattline gcp init`):
-- local date, local hour (0..23) and ISO weekday (1 = Monday .. 7 = Sunday) of each hour's start.
-- The base of every other view; tariff zones and local days are made of these local hours.
CREATE OR REPLACE VIEW `{{project}}.{{dataset}}.energy_hourly_local` AS
SELECT
  h.device_id,
  h.channel,
  h.hour_start,
  DATETIME(h.hour_start, '{{timezone}}') AS local_start,
  DATE(DATETIME(h.hour_start, '{{timezone}}')) AS local_date,
  EXTRACT(HOUR FROM DATETIME(h.hour_start, '{{timezone}}')) AS local_hour,
  CAST(FORMAT_DATETIME('%u', DATETIME(h.hour_start, '{{timezone}}')) AS INT64) AS weekday,
  h.import_wh,
  h.export_wh,
  h.estimated_wh,
  h.import_wh + h.estimated_wh AS energy_wh,
  h.covered_s,
  h.gap_s,
  h.samples,
  h.min_power_w,
  h.max_power_w,
  h.mean_power_w,
  h.counter_resets,
  h.method
FROM `{{project}}.{{dataset}}.energy_hourly` AS h;
